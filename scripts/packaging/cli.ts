/**
 * `npm run package -- --target <vsce target>` (or `--all`): builds the extension, then one .vsix per
 * platform into dist/vsix/ (scripts/packaging/buildVsix.ts), and prints each one's size. A target whose
 * node-llama-cpp binary package the npm registry here cannot supply is reported, not faked.
 * Options: --out DIR (default dist/vsix), --no-build (use the current dist/).
 */
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { buildVsix, type BuildResult } from "./buildVsix";
import { isVsceTarget, VSCE_TARGETS, type VsceTarget } from "../../src/packaging/platforms";

const root = resolve(__dirname, "..", "..");

function parseArgs(argv: readonly string[]): { targets: VsceTarget[]; outDir: string; build: boolean } {
  const targets: VsceTarget[] = [];
  let outDir = join(root, "dist", "vsix");
  let build = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--all") targets.push(...VSCE_TARGETS);
    else if (arg === "--target" || arg === "-t") {
      const value = argv[++i] ?? "";
      for (const t of value.split(",")) {
        if (!isVsceTarget(t)) throw new Error(`Unknown target "${t}". Targets: ${VSCE_TARGETS.join(", ")}, or --all.`);
        targets.push(t);
      }
    } else if (arg === "--out") outDir = resolve(argv[++i] ?? outDir);
    else if (arg === "--no-build") build = false;
    else throw new Error(`Unknown option ${arg}. Usage: npm run package -- --target <${VSCE_TARGETS.join("|")}> | --all [--out DIR] [--no-build]`);
  }
  if (targets.length === 0) throw new Error(`Name a target: npm run package -- --target <${VSCE_TARGETS.join("|")}>, or --all.`);
  return { targets: [...new Set(targets)], outDir, build };
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function main(): Promise<void> {
  const { targets, outDir, build } = parseArgs(process.argv.slice(2));
  if (build) {
    const built = spawnSync(process.execPath, [join(root, "esbuild.mjs")], { cwd: root, stdio: "inherit" });
    if (built.status !== 0) throw new Error("node esbuild.mjs failed");
  }
  const results: BuildResult[] = [];
  for (const target of targets) {
    console.log(`\n[package] ${target}`);
    const result = await buildVsix({ root, target, outDir, workDir: join(root, ".cache", "package"), log: (line) => console.log(`[package] ${line}`) });
    results.push(result);
    if (result.ok) console.log(`[package] ${target}: ${result.vsix} ${mb(result.bytes)} (${result.files} files)`);
    else console.log(`[package] ${target}: NOT BUILT: ${result.reason}`);
  }
  console.log("\ntarget         .vsix      binaries inside (unpacked)");
  for (const r of results) {
    const detail = r.ok ? `${mb(r.bytes).padStart(9)}  ${r.binaries.map((b) => `${b.name} ${mb(b.bytes)}`).join(", ")}` : `not built: ${r.reason.split("\n")[0]}`;
    console.log(`${r.target.padEnd(13)}  ${detail}`);
  }
  if (results.some((r) => !r.ok)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
