/**
 * `npm run test:soak -- --minutes N` (default 30; not part of `npm test`): a compressed clinic day in a real
 * VS Code (code-server + headless Chromium) with the extension under development and a generated model
 * (test/support/gguf, the integration suite's tiny one: random weights, so the figures are about the
 * plumbing's memory, not a real model's). The suite (test/soak/clinicDay.vscode.ts) runs inside the
 * extension host and writes a time series; this script turns it into figures (test/soak/soakSeries.ts),
 * prints a table and one JSON line, and exits non-zero on any failed step or any growth of 5% or more.
 *
 * Options: --minutes N, --sample-seconds S (default 5), --heap-snapshots (the extension host's heap when the
 * warm-up ends and when the day ends, beside the series; compare them with test/soak/heapDiff.ts). Data: BEDSIDE_SHARED_DATA or ../shared/data
 * (MTSamples notes, PubMedQA). The series goes to .cache/soak/series-<time>.json.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import * as esbuild from "esbuild";
import { ensureTestModel } from "../support/gguf/testModels";
import { sharedDataDir } from "../support/sharedData";
import { runExtensionTests } from "../support/vscodeHost/extensionTests";
import { projectRoot, sampleNotesDir } from "../support/vscodeHost/paths";
import { soakFigures, soakVerdict, type SoakSeries } from "./soakSeries";

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { minutes: { type: "string", default: "30" }, "sample-seconds": { type: "string", default: "5" }, "heap-snapshots": { type: "boolean", default: false } },
  });
  const minutes = Number(values.minutes);
  const sampleSeconds = Number(values["sample-seconds"]);
  if (!(minutes > 0) || !(sampleSeconds > 0)) throw new Error("--minutes and --sample-seconds take positive numbers");
  const data = sharedDataDir();
  if (!data || !fs.existsSync(path.join(data, "mtsamples", "notes_dev.jsonl")) || !fs.existsSync(path.join(data, "pubmedqa", "corpus.jsonl"))) {
    throw new Error("The soak types MTSamples notes and imports PubMedQA from the shared data: set BEDSIDE_SHARED_DATA to the folder holding mtsamples/ and pubmedqa/");
  }
  if (!fs.existsSync(path.join(projectRoot, "dist", "extension.js"))) throw new Error("Build first (node esbuild.mjs)");

  const work = path.join(projectRoot, ".cache", "soak");
  const runner = path.join(work, "runner", "index.js");
  await esbuild.build({
    entryPoints: [path.join(projectRoot, "test", "soak", "index.ts")],
    outfile: runner,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    sourcemap: "linked",
    external: ["vscode", "node-llama-cpp", "node-sqlite3-wasm"],
    logLevel: "warning",
    logOverride: { "require-resolve-not-external": "silent" },
  });
  const seriesFile = path.join(work, `series-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  const model = await ensureTestModel("tiny");
  console.log(`[soak] a ${minutes}-minute clinic day in VS Code (code-server), model ${path.basename(model)}; series: ${path.relative(projectRoot, seriesFile)}`);
  const result = await runExtensionTests({
    extensionDevelopmentPath: projectRoot,
    extensionTestsPath: runner,
    workspace: sampleNotesDir,
    // Typed newlines must not accept VS Code's own word suggestions: only Bedside's inline suggestions are shown.
    settings: {
      "editor.quickSuggestions": { other: "off", comments: "off", strings: "off" },
      "editor.wordBasedSuggestions": "off",
      "editor.suggestOnTriggerCharacters": false,
      "editor.acceptSuggestionOnEnter": "off",
    },
    env: {
      BEDSIDE_TEST_MODEL: model,
      BEDSIDE_SHARED_DATA: data,
      BEDSIDE_SOAK_MINUTES: String(minutes),
      BEDSIDE_SOAK_SAMPLE_MS: String(sampleSeconds * 1000),
      BEDSIDE_SOAK_SERIES: seriesFile,
      BEDSIDE_SOAK_HEAP_SNAPSHOTS: values["heap-snapshots"] ? "1" : "0",
    },
    timeoutMs: (minutes + 15) * 60_000,
  });
  if (result.logsDir) console.log(`[soak] VS Code and code-server logs: ${result.logsDir}`);
  if (!fs.existsSync(seriesFile)) {
    console.log(JSON.stringify({ suite: "soak", host_rss_growth: null, worker_rss_growth: null, errors: 1, minutes, note: "the suite wrote no series" }));
    return 1;
  }
  const series = JSON.parse(fs.readFileSync(seriesFile, "utf8")) as SoakSeries;
  // A suite that failed outright (the day could not run) counts as one more error.
  if (result.failed > 0 && series.errors.length === 0) series.errors.push({ t: series.durationMs, step: "suite", message: `the soak suite failed (exit ${result.exitCode})` });
  const figures = soakFigures(series);
  const problems = soakVerdict(figures);

  console.log("\n[soak] samples (every minute)");
  console.log(
    `${"min".padStart(5)}  ${"host MB".padStart(8)}  ${"heap MB".padStart(8)}  ${"fds".padStart(4)}  ${"handles".padStart(7)}  ${"worker".padStart(7)}  ${"wkr MB".padStart(7)}  ${"wkr fds".padStart(7)}`,
  );
  let nextMinute = 0;
  for (const s of series.samples) {
    if (s.t < nextMinute) continue;
    nextMinute = s.t - (s.t % 60_000) + 60_000;
    const m = (b: number): string => (b / 1048576).toFixed(1);
    console.log(
      `${(s.t / 60_000).toFixed(1).padStart(5)}  ${m(s.host.rss).padStart(8)}  ${m(s.host.heapUsed).padStart(8)}  ${String(s.host.fds).padStart(4)}  ${String(s.host.handles).padStart(7)}  ${String(s.worker?.pid ?? "-").padStart(7)}  ${(s.worker ? m(s.worker.rss) : "-").padStart(7)}  ${String(s.worker?.fds ?? "-").padStart(7)}`,
    );
  }
  console.log(`\n[soak] counts: ${JSON.stringify(series.counts)}`);
  for (const k of series.kills)
    console.log(
      `[soak] kill at ${Math.round(k.t / 1000)} s of worker ${k.pid}: ${k.recoveredAt === undefined ? "NOT recovered" : `worker ${k.newPid} answered after ${((k.recoveredAt - k.t) / 1000).toFixed(1)} s`}`,
    );
  for (const e of series.errors.slice(0, 20)) console.log(`[soak] error at ${Math.round(e.t / 1000)} s, ${e.step}: ${e.message}`);
  console.log(`[soak] ${problems.length === 0 ? "PASS" : `FAIL: ${problems.join("; ")}`}`);
  console.log(
    JSON.stringify({
      suite: "soak",
      host_rss_growth: figures.host_rss_growth,
      worker_rss_growth: figures.worker_rss_growth,
      errors: figures.errors,
      minutes,
      worker_rss_growth_across_lives: figures.worker_rss_growth_across_lives,
      host_fds_growth: figures.host_fds_growth,
      worker_fds_growth: figures.worker_fds_growth,
      host_handles_growth: figures.host_handles_growth,
      host_heap_growth: figures.host_heap_growth,
      host_rss_mb: figures.host_rss_mb,
      worker_rss_mb: figures.worker_rss_mb,
      host_fds: figures.host_fds,
      worker_fds: figures.worker_fds,
      host_handles: figures.host_handles,
      kills: figures.kills,
      recovered: figures.recovered,
      samples: figures.samples,
      worker_samples_used: figures.worker_samples_used,
      counts: series.counts,
      warm_up_s: series.warmUpMs / 1000,
      settle_s: series.settleMs / 1000,
      ...series.settings,
      series: path.relative(projectRoot, seriesFile),
    }),
  );
  return problems.length === 0 ? 0 : 1;
}

main()
  .then((code) => (process.exitCode = code))
  .catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  });
