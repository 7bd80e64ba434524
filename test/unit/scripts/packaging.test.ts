/**
 * Packaging logic on plain Node: which installed packages a platform's .vsix takes (the run-time closure of
 * what the bundles load, that platform's binaries only), npm's os/cpu fields against a target, and the
 * "see the hardware" page's text.
 */
import * as assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dependencyClosure, fitsTarget, resolvePackageDir, runtimePackages } from "../../../scripts/packaging/buildVsix";
import { hardwareReport, type HardwareFacts } from "../../../src/firstRun/hardwareReport";
import { cudaVerdict } from "../../../src/packaging/cudaReadiness";

function pkg(root: string, dir: string, manifest: Record<string, unknown>): void {
  mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, dir, "package.json"), JSON.stringify(manifest));
}

describe("packaging", () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "bedside-packaging-"));
    pkg(root, ".", { name: "bedside", version: "0.1.0", dependencies: { "node-llama-cpp": "^3", ajv: "^8", "node-sqlite3-wasm": "^0.8" } });
    pkg(root, "node_modules/node-llama-cpp", {
      name: "node-llama-cpp",
      version: "3.22.1",
      dependencies: { chalk: "^5", semver: "^7" },
      optionalDependencies: {
        "@node-llama-cpp/linux-x64": "3.22.1",
        "@node-llama-cpp/linux-x64-cuda": "3.22.1",
        "@node-llama-cpp/mac-arm64-metal": "3.22.1",
        "@reflink/reflink": "^0.1",
      },
    });
    pkg(root, "node_modules/chalk", { name: "chalk", version: "5.0.0" });
    pkg(root, "node_modules/semver", { name: "semver", version: "7.0.0" });
    // A nested copy of semver wanted by node-sqlite3-wasm: Node's lookup finds the nearer one.
    pkg(root, "node_modules/node-sqlite3-wasm", { name: "node-sqlite3-wasm", version: "0.8.0", dependencies: { semver: "^6" } });
    pkg(root, "node_modules/node-sqlite3-wasm/node_modules/semver", { name: "semver", version: "6.0.0" });
    pkg(root, "node_modules/ajv", { name: "ajv", version: "8.0.0" });
    pkg(root, "node_modules/@node-llama-cpp/linux-x64", { name: "@node-llama-cpp/linux-x64", version: "3.22.1", os: ["linux"], cpu: ["x64"] });
    pkg(root, "node_modules/@node-llama-cpp/linux-x64-cuda", { name: "@node-llama-cpp/linux-x64-cuda", version: "3.22.1", os: ["linux"], cpu: ["x64"] });
    pkg(root, "node_modules/@reflink/reflink", { name: "@reflink/reflink", version: "0.1.0", optionalDependencies: { "@reflink/reflink-linux-x64-gnu": "0.1.0" } });
    pkg(root, "node_modules/@reflink/reflink-linux-x64-gnu", { name: "@reflink/reflink-linux-x64-gnu", version: "0.1.0", os: ["linux"], cpu: ["x64"] });
    mkdirSync(join(root, "dist"));
    writeFileSync(join(root, "dist", "extension.js"), 'const a = require("node-sqlite3-wasm"); const v = require("vscode"); // ajv is bundled\n');
    writeFileSync(join(root, "dist", "worker.mjs"), 'const l = await import("node-llama-cpp");\n');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("ships only the dependencies the bundles still load (esbuild's externals)", () => {
    assert.deepEqual(runtimePackages(root, ["dist/extension.js", "dist/worker.mjs"]).sort(), ["node-llama-cpp", "node-sqlite3-wasm"]);
  });

  it("resolves as Node does, nearest node_modules first", () => {
    assert.equal(resolvePackageDir(root, join(root, "node_modules", "node-sqlite3-wasm"), "semver"), join(root, "node_modules", "node-sqlite3-wasm", "node_modules", "semver"));
    assert.equal(resolvePackageDir(root, join(root, "node_modules", "node-llama-cpp"), "semver"), join(root, "node_modules", "semver"));
    assert.equal(resolvePackageDir(root, root, "left-pad"), undefined);
  });

  it("takes the run-time closure with only the chosen binary packages, and no other platform's native packages", () => {
    const linux = dependencyClosure(root, ["node-llama-cpp", "node-sqlite3-wasm"], ["@node-llama-cpp/linux-x64"], "linux-x64");
    assert.deepEqual(linux.missing, []);
    assert.deepEqual(linux.dirs, [
      "node_modules/@node-llama-cpp/linux-x64",
      "node_modules/@reflink/reflink",
      "node_modules/@reflink/reflink-linux-x64-gnu",
      "node_modules/chalk",
      "node_modules/node-llama-cpp",
      "node_modules/node-sqlite3-wasm",
      "node_modules/node-sqlite3-wasm/node_modules/semver",
      "node_modules/semver",
    ]);
    const mac = dependencyClosure(root, ["node-llama-cpp"], [], "darwin-arm64");
    assert.ok(!mac.dirs.some((d) => d.includes("linux")), `a darwin package carries nothing for Linux: ${mac.dirs.join(", ")}`);
    assert.ok(!mac.dirs.includes("node_modules/@node-llama-cpp/linux-x64-cuda"));
  });

  it("reports a binary package that is asked for but not installed", () => {
    assert.deepEqual(dependencyClosure(root, [], ["@node-llama-cpp/mac-arm64-metal"], "darwin-arm64").missing, ["@node-llama-cpp/mac-arm64-metal"]);
  });

  it("reads npm's os and cpu fields against a vsce target", () => {
    assert.equal(fitsTarget({ os: ["linux"], cpu: ["x64"] }, "linux-x64"), true);
    assert.equal(fitsTarget({ os: ["linux"], cpu: ["x64"] }, "linux-arm64"), false);
    assert.equal(fitsTarget({ os: ["darwin"] }, "darwin-arm64"), true);
    assert.equal(fitsTarget({ os: ["!win32"] }, "win32-x64"), false);
    assert.equal(fitsTarget({ os: ["!win32"] }, "linux-x64"), true);
    assert.equal(fitsTarget({}, "win32-arm64"), true);
  });
});

describe("the hardware page", () => {
  const facts: HardwareFacts = {
    platform: "linux",
    arch: "x64",
    cpuModel: "Example CPU",
    logicalCores: 8,
    threads: 3,
    totalMemoryBytes: 16 * 1024 ** 3,
    freeMemoryBytes: 9 * 1024 ** 3,
    gpuSetting: "auto",
    gpuBackendsInside: ["vulkan"],
    nvidiaDriver: true,
    cudaPack: { installed: false, approxBytes: 181 * 1024 ** 2 },
  };

  it("says where the loaded model runs, with layers and threads", () => {
    const text = hardwareReport({ ...facts, loaded: { backend: "vulkan", gpuLayers: 33, totalLayers: 33, threads: 3, modelName: "Meditron-7B", contextSize: 2048 } });
    assert.match(text, /Meditron-7B runs on the GPU through Vulkan: 33 of 33 layers on the GPU, 3 CPU threads, a 2048-token context/);
    assert.match(text, /Built into this install: CPU \+ Vulkan/);
    assert.match(text, /CUDA acceleration pack: not installed/);
    assert.match(text, /the CUDA pack is usually faster/);
  });

  it("carries why CUDA is or is not used, and offers the pack only where it would load", () => {
    const noRuntime = { packForPlatform: true, gpuSetting: "auto", nvidiaDriver: true, runtimes: [], packInstalled: false, fallbackInstalled: false };
    const without = hardwareReport({ ...facts, cuda: cudaVerdict(noRuntime) });
    assert.match(without, /^- CUDA is not used: the NVIDIA driver is here, but the CUDA pack would not load/m);
    assert.doesNotMatch(without, /the CUDA pack is usually faster/);
    assert.match(hardwareReport({ ...facts, cuda: cudaVerdict({ ...noRuntime, runtimes: [13] }) }), /the CUDA pack is usually faster/);
  });

  it("says when no model is loaded, and leaves the CUDA pack out where the platform has none", () => {
    const text = hardwareReport({ ...facts, nvidiaDriver: false, cudaPack: undefined, gpuBackendsInside: ["metal"] });
    assert.match(text, /no model is loaded yet/);
    assert.match(text, /CPU \+ Metal/);
    assert.doesNotMatch(text, /CUDA/);
  });
});
