/**
 * The acceleration pack path end to end against a real HTTP server on 127.0.0.1 that plays the npm
 * registry: the version document, then the tarball, checked against `dist.integrity` before anything is
 * unpacked, unpacked beside node-llama-cpp where its loader looks. Also the decision of what ships inside
 * each .vsix and what is offered on demand.
 */
import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkIntegrity, fetchAccelerationPack, installedPackVersion, PackError, versionDocumentUrl } from "../../../src/packaging/accelerationPack";
import { describeBackend, packToOffer, platformBinaries, VSCE_TARGETS, type GpuFacts } from "../../../src/packaging/platforms";
import { TarError } from "../../../src/packaging/tar";
import { servePackRegistry, sri, tarGz, type PackRegistry } from "../../support/tarball";

const NAME = "@node-llama-cpp/linux-x64-cuda";
const VERSION = "3.22.1";

/** A registry that serves one version document and one tarball; `integrity` overrides the honest hash. */
const fakeRegistry = (tarball: Buffer, options: { integrity?: string; name?: string } = {}): Promise<PackRegistry> =>
  servePackRegistry(tarball, {
    name: NAME,
    version: VERSION,
    ...(options.name ? { documentName: options.name } : {}),
    ...(options.integrity ? { integrity: options.integrity } : {}),
  });

const goodPackage = (): Buffer =>
  tarGz([
    { name: "package/package.json", body: JSON.stringify({ name: NAME, version: VERSION, type: "module", main: "dist/index.js" }) },
    { name: "package/dist/index.js", body: "export function getBinsDir() { return {}; }\n" },
    { name: "package/bins/linux-x64-cuda/llama-addon.node", body: Buffer.alloc(70_000, 7), mode: 0o755 },
  ]);

describe("acceleration packs", () => {
  let dir: string;
  let registry: PackRegistry | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "bedside-pack-"));
  });
  afterEach(async () => {
    await registry?.close();
    registry = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it("fetches the version document and tarball from the registry, checks integrity, installs where node-llama-cpp looks", async () => {
    const tarball = goodPackage();
    registry = await fakeRegistry(tarball);
    const nodeModules = join(dir, "node_modules");
    let progressed = 0;
    const result = await fetchAccelerationPack({
      packageName: NAME,
      version: VERSION,
      nodeModulesDir: nodeModules,
      registry: registry.url,
      downloadDir: join(dir, "downloads"),
      onProgress: (p) => (progressed = p.receivedBytes),
    });
    assert.deepEqual(registry.requests, [`/@node-llama-cpp%2flinux-x64-cuda/${VERSION}`, `/tarballs/linux-x64-cuda-${VERSION}.tgz`]);
    assert.equal(result.installedAt, join(nodeModules, "@node-llama-cpp", "linux-x64-cuda"));
    assert.equal(result.files, 3);
    assert.equal(result.tarballBytes, tarball.length);
    assert.equal(progressed, tarball.length);
    const addon = join(result.installedAt, "bins", "linux-x64-cuda", "llama-addon.node");
    assert.deepEqual(readFileSync(addon), Buffer.alloc(70_000, 7));
    assert.equal(statSync(addon).mode & 0o111, 0o111, "executable bits kept");
    assert.equal(await installedPackVersion(nodeModules, NAME), VERSION);
    assert.ok(!existsSync(join(dir, "downloads", `_node-llama-cpp_linux-x64-cuda-${VERSION}.tgz`)), "the tarball is removed after install");
  });

  it("refuses a tarball that does not match the registry's integrity hash, and installs nothing", async () => {
    registry = await fakeRegistry(goodPackage(), { integrity: sri(Buffer.from("something else")) });
    const nodeModules = join(dir, "node_modules");
    await assert.rejects(
      fetchAccelerationPack({ packageName: NAME, version: VERSION, nodeModulesDir: nodeModules, registry: registry.url, downloadDir: join(dir, "downloads") }),
      (error: unknown) => error instanceof PackError && error.kind === "integrity" && /does not match/.test(error.message),
    );
    assert.equal(await installedPackVersion(nodeModules, NAME), undefined);
    assert.ok(!existsSync(join(nodeModules, "@node-llama-cpp", "linux-x64-cuda")));
  });

  it("refuses a registry document without a strong integrity hash", async () => {
    registry = await fakeRegistry(goodPackage(), { integrity: "sha1-deadbeef" });
    await assert.rejects(
      fetchAccelerationPack({ packageName: NAME, version: VERSION, nodeModulesDir: join(dir, "nm"), registry: registry.url, downloadDir: join(dir, "dl") }),
      (error: unknown) => error instanceof PackError && error.kind === "integrity",
    );
    assert.equal(registry.requests.length, 1, "no tarball was downloaded");
  });

  it("refuses a document for another package", async () => {
    registry = await fakeRegistry(goodPackage(), { name: "@evil/pkg" });
    await assert.rejects(
      fetchAccelerationPack({ packageName: NAME, version: VERSION, nodeModulesDir: join(dir, "nm"), registry: registry.url, downloadDir: join(dir, "dl") }),
      (error: unknown) => error instanceof PackError && error.kind === "mismatch",
    );
  });

  it("says so when the registry does not have the version (HTTP 404)", async () => {
    registry = await fakeRegistry(goodPackage());
    await assert.rejects(
      fetchAccelerationPack({ packageName: NAME, version: "9.9.9", nodeModulesDir: join(dir, "nm"), registry: registry.url, downloadDir: join(dir, "dl") }),
      /HTTP 404/,
    );
  });

  it("refuses an archive entry that leaves the package folder, even with an honest hash, and installs nothing", async () => {
    const evil = tarGz([
      { name: "package/package.json", body: JSON.stringify({ name: NAME, version: VERSION }) },
      { name: "package/../../escaped.txt", body: "x" },
    ]);
    registry = await fakeRegistry(evil);
    const nodeModules = join(dir, "node_modules");
    await assert.rejects(
      fetchAccelerationPack({ packageName: NAME, version: VERSION, nodeModulesDir: nodeModules, registry: registry.url, downloadDir: join(dir, "dl") }),
      TarError,
    );
    assert.ok(!existsSync(join(nodeModules, "escaped.txt")) && !existsSync(join(dir, "escaped.txt")));
    assert.equal(await installedPackVersion(nodeModules, NAME), undefined);
  });

  it("refuses symbolic links in an archive", async () => {
    registry = await fakeRegistry(tarGz([{ name: "package/link", body: "", type: "2" }]));
    await assert.rejects(
      fetchAccelerationPack({ packageName: NAME, version: VERSION, nodeModulesDir: join(dir, "nm"), registry: registry.url, downloadDir: join(dir, "dl") }),
      /link or special file/,
    );
  });

  it("checks SRI strings by their strongest algorithm", async () => {
    const file = join(dir, "f");
    const data = Buffer.from("hello");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(file, data);
    assert.equal(await checkIntegrity(file, sri(data)), true);
    assert.equal(await checkIntegrity(file, `sha256-${createHash("sha256").update(data).digest("base64")}`), true);
    assert.equal(await checkIntegrity(file, sri(Buffer.from("other"))), false);
    assert.equal(await checkIntegrity(file, "md5-abc"), false);
  });

  it("builds the registry's URL for a scoped package's version", () => {
    assert.equal(versionDocumentUrl("https://registry.npmjs.org/", NAME, VERSION), `https://registry.npmjs.org/@node-llama-cpp%2flinux-x64-cuda/${VERSION}`);
  });
});

describe("what each .vsix carries", () => {
  const facts = (over: Partial<GpuFacts> = {}): GpuFacts => ({ nvidiaDriver: true, gpuSetting: "auto", installed: [], declined: [], ...over });

  it("ships the CPU build on every target, one platform's binaries only, and Vulkan or Metal where they exist", () => {
    for (const target of VSCE_TARGETS) {
      const binaries = platformBinaries(target);
      assert.ok(binaries.inside.length >= 1, target);
      const os = target.startsWith("linux") ? "linux" : target.startsWith("darwin") ? "mac" : "win";
      for (const name of binaries.inside) assert.ok(name.startsWith(`@node-llama-cpp/${os}-`), `${target} carries ${name}`);
      assert.ok(!binaries.inside.some((name) => name.includes("cuda")), `${target} carries no CUDA build inside`);
    }
    assert.deepEqual(platformBinaries("linux-x64").inside, ["@node-llama-cpp/linux-x64", "@node-llama-cpp/linux-x64-vulkan"]);
    assert.deepEqual(platformBinaries("darwin-arm64").gpuInside, ["metal"]);
  });

  it("offers the CUDA pack only on an NVIDIA machine with auto or cuda, once, and never when it is installed or declined", () => {
    assert.equal(packToOffer("linux-x64", facts())?.packageName, "@node-llama-cpp/linux-x64-cuda");
    assert.equal(packToOffer("win32-x64", facts({ gpuSetting: "cuda" }))?.packageName, "@node-llama-cpp/win-x64-cuda");
    assert.equal(packToOffer("linux-x64", facts({ nvidiaDriver: false })), undefined);
    assert.equal(packToOffer("linux-x64", facts({ gpuSetting: "cpu" })), undefined);
    assert.equal(packToOffer("linux-x64", facts({ gpuSetting: "vulkan" })), undefined);
    assert.equal(packToOffer("linux-x64", facts({ installed: ["@node-llama-cpp/linux-x64-cuda"] })), undefined);
    assert.equal(packToOffer("linux-x64", facts({ declined: ["@node-llama-cpp/linux-x64-cuda"] })), undefined);
    assert.equal(packToOffer("darwin-arm64", facts()), undefined);
    assert.equal(packToOffer(undefined, facts()), undefined);
  });

  it("describes the backend in words", () => {
    assert.equal(describeBackend("cuda", ["NVIDIA H200"]), "NVIDIA GPU through CUDA (NVIDIA H200)");
    assert.equal(describeBackend(false), "CPU");
  });
});
