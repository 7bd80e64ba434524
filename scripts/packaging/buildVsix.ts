/**
 * Builds one platform-specific .vsix: a staging folder holding the bundled extension (dist/extension.js),
 * the worker (dist/worker.mjs), webview bundles and media, the model catalog, README and CHANGELOG, and a
 * node_modules with only what the bundles load at run time (node-llama-cpp and its dependencies,
 * node-sqlite3-wasm) plus that platform's node-llama-cpp binary packages (src/packaging/platforms.ts);
 * then `vsce package --target`. Build tooling for `npm run package`; never loaded by the extension.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { extractTarGz } from "../../src/packaging/tar";
import { isBinaryPackage, platformBinaries, type VsceTarget } from "../../src/packaging/platforms";

export interface BuildOptions {
  root: string;
  target: VsceTarget;
  outDir: string;
  /** Scratch: staging folders and fetched binary packages. */
  workDir: string;
  log?: (line: string) => void;
}

export type BuildResult =
  | { ok: true; target: VsceTarget; vsix: string; bytes: number; files: number; binaries: Array<{ name: string; bytes: number }> }
  | { ok: false; target: VsceTarget; reason: string };

interface Manifest {
  name?: string;
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  scripts?: Record<string, string>;
  os?: unknown;
  cpu?: unknown;
  [key: string]: unknown;
}

const readManifest = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest;

/** Node's lookup: `name` from `fromDir` upwards through node_modules folders, never above `root`. */
export function resolvePackageDir(root: string, fromDir: string, name: string): string | undefined {
  let dir = fromDir;
  for (;;) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    if (dir === root) return undefined;
    // Folders named node_modules or @scope have no node_modules of their own: checking them is harmless.
    dir = dirname(dir);
    if (!dir.startsWith(root)) return undefined;
  }
}

/** Package names in `dependencies` that the built bundles still load themselves (esbuild externals). */
export function runtimePackages(root: string, bundles: readonly string[]): string[] {
  const dependencies = Object.keys(readManifest(root).dependencies ?? {});
  const text = bundles.map((file) => readFileSync(join(root, file), "utf8")).join("\n");
  return dependencies.filter((name) => {
    const quoted = name.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    return new RegExp(`(?:require\\(|import\\(|from\\s*)["']${quoted}(?:/[^"']*)?["']`).test(text);
  });
}

/**
 * The folders (relative to root) of `roots` and everything they depend on, as installed. Optional
 * dependencies come along when installed, except node-llama-cpp's binary packages: only `binaries`.
 */
export function dependencyClosure(root: string, roots: readonly string[], binaries: readonly string[], target?: VsceTarget): { dirs: string[]; missing: string[] } {
  const seen = new Set<string>();
  const missing: string[] = [];
  const visit = (fromDir: string, name: string, optional: boolean): void => {
    if (isBinaryPackage(name) && !binaries.includes(name)) return;
    const dir = resolvePackageDir(root, fromDir, name);
    if (!dir) {
      if (!optional || binaries.includes(name)) missing.push(name);
      return;
    }
    const rel = relative(root, dir);
    if (seen.has(rel)) return;
    const manifest = readManifest(dir);
    // Another platform's native package (e.g. @reflink/reflink-linux-x64-gnu in a darwin .vsix): leave it out.
    if (optional && target && !fitsTarget(manifest, target)) return;
    seen.add(rel);
    for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dir, dep, false);
    for (const dep of Object.keys(manifest.optionalDependencies ?? {})) visit(dir, dep, true);
  };
  for (const name of roots) visit(root, name, false);
  for (const name of binaries) visit(root, name, false);
  return { dirs: [...seen].sort(), missing: [...new Set(missing)] };
}

/** npm's `os` and `cpu` fields against a vsce target ("!x" excludes). */
export function fitsTarget(manifest: { os?: unknown; cpu?: unknown }, target: VsceTarget): boolean {
  const [os = "", cpu = ""] = target.split("-");
  const fits = (list: unknown, value: string): boolean => {
    if (!Array.isArray(list) || list.length === 0) return true;
    const names = list.filter((v): v is string => typeof v === "string");
    if (names.includes(`!${value}`)) return false;
    const positive = names.filter((v) => !v.startsWith("!"));
    return positive.length === 0 || positive.includes(value);
  };
  return fits(manifest.os, os) && fits(manifest.cpu, cpu);
}

function folderBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) total += folderBytes(full);
    else if (entry.isFile()) total += statSync(full).size;
  }
  return total;
}

/**
 * A binary package this machine's npm did not install (another OS's): fetched with `npm pack` from the
 * registry into the work folder, once. Undefined with the reason when the registry does not have it.
 */
async function fetchBinaryPackage(workDir: string, name: string, version: string, log: (line: string) => void): Promise<{ dir?: string; reason?: string }> {
  const cacheRoot = join(workDir, "binaries");
  const dir = join(cacheRoot, "node_modules", name);
  if (existsSync(join(dir, "package.json")) && readManifest(dir).version === version) return { dir };
  mkdirSync(cacheRoot, { recursive: true });
  log(`fetching ${name}@${version} with npm pack (not installed on this machine)`);
  const packed = spawnSync("npm", ["pack", `${name}@${version}`, "--pack-destination", cacheRoot, "--json", "--loglevel=error"], { encoding: "utf8", cwd: cacheRoot });
  if (packed.status !== 0) {
    const why = (packed.stderr || packed.stdout).split("\n").find((l) => /E404|404|ENOTFOUND|ETIMEDOUT|error/i.test(l)) ?? `npm pack exited ${packed.status}`;
    return { reason: `${name}@${version} cannot be fetched from the npm registry here (${why.trim()})` };
  }
  const [info] = JSON.parse(packed.stdout) as Array<{ filename: string }>;
  if (!info) return { reason: `npm pack ${name}@${version} wrote nothing` };
  rmSync(dir, { recursive: true, force: true });
  await extractTarGz(join(cacheRoot, info.filename), dir, { stripPrefix: "package/" });
  rmSync(join(cacheRoot, info.filename), { force: true });
  return { dir };
}

/** Files in the staging folder vsce leaves out (it reads .vscodeignore there). */
const VSCODEIGNORE = [
  "**/*.map",
  "**/*.d.ts",
  "**/*.d.mts",
  "**/*.d.cts",
  // llama.cpp's source as a git bundle, for building from source: Bedside never builds (build: "never").
  "node_modules/node-llama-cpp/llama/gitRelease.bundle",
  "node_modules/node-llama-cpp/llama/toolchains/**",
  "node_modules/node-llama-cpp/templates/**",
  ".vscodeignore",
].join("\n");

export async function buildVsix(options: BuildOptions): Promise<BuildResult> {
  const { root, target } = options;
  const log = options.log ?? ((line: string) => console.log(line));
  const manifest = readManifest(root);
  const platform = platformBinaries(target);
  // Every bundle esbuild.mjs writes at the top of dist/ (extension, worker, lazily loaded ones such as pdf.js).
  const bundles = existsSync(join(root, "dist"))
    ? readdirSync(join(root, "dist"))
        .filter((f) => /\.(c|m)?js$/.test(f) && statSync(join(root, "dist", f)).isFile())
        .map((f) => `dist/${f}`)
    : [];
  for (const file of ["dist/extension.js", "dist/worker.mjs"])
    if (!bundles.includes(file)) return { ok: false, target, reason: `${file} is missing: build first (node esbuild.mjs)` };
  const runtime = runtimePackages(root, bundles);
  const nodeLlamaCppVersion = readManifest(join(root, "node_modules", "node-llama-cpp")).version;

  // Binary packages: installed here, else fetched with npm pack, else this target cannot be built.
  const binaryDirs = new Map<string, string>();
  for (const name of platform.inside) {
    const installed = join(root, "node_modules", name);
    if (existsSync(join(installed, "package.json")) && readManifest(installed).version === nodeLlamaCppVersion) {
      binaryDirs.set(name, installed);
      continue;
    }
    const fetched = await fetchBinaryPackage(options.workDir, name, nodeLlamaCppVersion, log);
    if (!fetched.dir) return { ok: false, target, reason: fetched.reason ?? `${name} is not available` };
    binaryDirs.set(name, fetched.dir);
  }

  const closure = dependencyClosure(root, runtime, [], target);
  if (closure.missing.length > 0) return { ok: false, target, reason: `not installed: ${closure.missing.join(", ")} (run npm ci)` };

  const stage = join(options.workDir, `stage-${target}`);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  for (const file of bundles) cpSync(join(root, file), join(stage, file));
  for (const dir of ["media", "models"]) cpSync(join(root, dir), join(stage, dir), { recursive: true });
  for (const file of ["README.md", "CHANGELOG.md"]) if (existsSync(join(root, file))) cpSync(join(root, file), join(stage, file));
  for (const dir of closure.dirs) cpSync(join(root, dir), join(stage, dir), { recursive: true, dereference: true });
  const binaries: Array<{ name: string; bytes: number }> = [];
  for (const [name, dir] of binaryDirs) {
    cpSync(dir, join(stage, "node_modules", name), { recursive: true, dereference: true });
    binaries.push({ name, bytes: folderBytes(dir) });
  }
  const staged: Manifest = { ...manifest, dependencies: Object.fromEntries(runtime.map((name) => [name, manifest.dependencies?.[name] ?? "*"])) };
  delete staged.devDependencies;
  delete staged.scripts;
  writeFileSync(join(stage, "package.json"), `${JSON.stringify(staged, null, 2)}\n`);
  writeFileSync(join(stage, ".vscodeignore"), `${VSCODEIGNORE}\n`);

  mkdirSync(options.outDir, { recursive: true });
  const vsix = join(options.outDir, `${manifest.name ?? "bedside"}-${manifest.version}-${target}.vsix`);
  rmSync(vsix, { force: true });
  const vsce = join(root, "node_modules", "@vscode", "vsce", "vsce");
  log(`vsce package --target ${target} (${closure.dirs.length} packages, ${binaries.map((b) => b.name).join(" + ")})`);
  const run = spawnSync(
    process.execPath,
    [vsce, "package", "--target", target, "--out", vsix, "--skip-license", "--allow-missing-repository", "--no-rewrite-relative-links", "--no-yarn"],
    {
      cwd: stage,
      encoding: "utf8",
    },
  );
  if (run.status !== 0 || !existsSync(vsix)) return { ok: false, target, reason: `vsce failed (exit ${run.status}):\n${run.stdout}\n${run.stderr}` };
  const files = /Packaged: .*\((\d+) files?/.exec(run.stdout);
  return { ok: true, target, vsix, bytes: statSync(vsix).size, files: files ? Number(files[1]) : 0, binaries };
}
