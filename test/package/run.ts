// `npm run test:package` (in `npm test` as the "package" suite): builds the linux-x64 .vsix the way
// `npm run package` does, checks its size, installs it into code-server with --install-extension on a
// fresh profile, and runs the smoke suite (test/package/installed.vscode.ts) against the installed copy,
// with the development folder out of the way (the runner is loaded beside a stub extension, not Bedside).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as esbuild from "esbuild";
import { buildVsix } from "../../scripts/packaging/buildVsix";
import { ensureTestModel } from "../support/gguf/testModels";
import { makeScratchDir } from "../support/vscodeHost/codeServer";
import { runExtensionTests } from "../support/vscodeHost/extensionTests";
import { cleanHostEnv } from "../support/vscodeHost/hostEnv";
import { ensureCodeServer } from "../support/vscodeHost/install";
import { projectRoot, sampleNotesDir } from "../support/vscodeHost/paths";
import type { SkippedTest } from "../support/skip";

/** The issue's ceiling for the linux-x64 package. */
const MAX_LINUX_X64_BYTES = 120 * 1024 * 1024;

const counts: { passed: number; failed: number; skips: SkippedTest[] } = { passed: 0, failed: 0, skips: [] };
function check(what: string, ok: boolean, detail = ""): boolean {
  if (ok) counts.passed++;
  else counts.failed++;
  console.log(`[package] ${ok ? "✓" : "✗"} ${what}${detail ? `: ${detail}` : ""}`);
  return ok;
}

async function main(): Promise<void> {
  const work = path.join(projectRoot, ".cache", "package");
  const built = await buildVsix({ root: projectRoot, target: "linux-x64", outDir: path.join(work, "test-vsix"), workDir: work, log: (l) => console.log(`[package] ${l}`) });
  if (!check("builds the linux-x64 .vsix", built.ok, built.ok ? built.vsix : built.reason) || !built.ok) return;
  check("the linux-x64 .vsix is under 120 MB", built.bytes < MAX_LINUX_X64_BYTES, `${(built.bytes / 1024 / 1024).toFixed(1)} MB, ${built.files} files`);

  const { node, codeServer } = await ensureCodeServer();
  const scratch = makeScratchDir("bsd-pkg-");
  try {
    const profile = path.join(scratch, "profile");
    const extensionsDir = path.join(profile, "extensions");
    const userDataDir = path.join(profile, "user-data");
    fs.mkdirSync(extensionsDir, { recursive: true });
    fs.mkdirSync(userDataDir, { recursive: true });
    const install = spawnSync(node, [codeServer, "--install-extension", built.vsix, "--extensions-dir", extensionsDir, "--user-data-dir", userDataDir], {
      encoding: "utf8",
      env: cleanHostEnv({ XDG_CONFIG_HOME: path.join(scratch, "xdg-config"), XDG_DATA_HOME: path.join(scratch, "xdg-data"), EXTENSIONS_GALLERY: "{}" }),
      timeout: 180_000,
    });
    const installed = fs.readdirSync(extensionsDir).filter((d) => d.startsWith("bedside.bedside-"));
    if (
      !check(
        "code-server --install-extension installs it on a clean profile",
        install.status === 0 && installed.length === 1,
        `${installed.join(", ") || "nothing installed"}; ${(install.stdout + install.stderr).trim().split("\n").slice(-3).join(" | ")}`,
      )
    )
      return;

    // A stub development extension: VS Code runs extension tests beside one; Bedside itself comes from the extensions folder.
    const stub = path.join(scratch, "stub-extension");
    fs.mkdirSync(stub, { recursive: true });
    fs.writeFileSync(path.join(stub, "package.json"), JSON.stringify({ name: "vsix-smoke-runner", publisher: "bedside-test", version: "0.0.0", engines: { vscode: "*" } }));
    const runner = path.join(scratch, "runner", "index.js");
    await esbuild.build({
      entryPoints: [path.join(projectRoot, "test", "package", "installedIndex.ts")],
      outfile: runner,
      bundle: true,
      platform: "node",
      target: "node20",
      format: "cjs",
      external: ["vscode", "node-llama-cpp", "node-sqlite3-wasm"],
      logLevel: "warning",
      logOverride: { "require-resolve-not-external": "silent" },
    });

    const model = await ensureTestModel("tiny");
    const result = await runExtensionTests({
      extensionDevelopmentPath: stub,
      extensionTestsPath: runner,
      workspace: sampleNotesDir,
      profileDir: profile,
      env: { BEDSIDE_TEST_MODEL: model, BEDSIDE_INSTALLED_EXTENSIONS_DIR: extensionsDir, BEDSIDE_DEV_PATH: projectRoot },
      timeoutMs: 6 * 60_000,
    });
    counts.passed += result.passed;
    counts.failed += result.failed;
    counts.skips.push(...result.skips);
    if (result.logsDir) console.log(`[package] VS Code and code-server logs: ${result.logsDir}`);
  } finally {
    if (!process.env.BEDSIDE_KEEP_SCRATCH) fs.rmSync(scratch, { recursive: true, force: true });
  }
}

main()
  .catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    counts.failed++;
  })
  .finally(() => {
    for (const s of counts.skips) console.log(`[package] skipped: ${s.title}: ${s.reason}`);
    console.log(`[package] ${counts.passed} passed, ${counts.failed} failed, ${counts.skips.length} skipped`);
    if (process.env.BEDSIDE_RESULTS_FILE) fs.writeFileSync(process.env.BEDSIDE_RESULTS_FILE, `${JSON.stringify({ ...counts, skipped: counts.skips.length })}\n`);
    process.exitCode = counts.failed > 0 ? 1 : 0;
  });
