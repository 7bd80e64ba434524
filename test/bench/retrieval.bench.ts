/**
 * `npm run bench -- retrieval [--quick] [--docs N] [--needle]`: the literature index candidates on generated
 * abstracts at 1k, 100k and 1M documents (quick: 1k and 10k; --docs: that size only): import throughput,
 * `search()` p50/p95 as the product calls it (passages included), peak RSS, disk, recall@10 against an
 * exhaustive BM25 over the same records (`recall10_over_exhaustive`) and of each query's own document.
 * --needle: PubMedQA's 1,000 abstracts are added to the generated ones and its dev questions scored
 * (nDCG@10; SQLite candidates). Each measurement runs in its own process.
 * Candidates: SQLite FTS5 in WebAssembly (node-sqlite3-wasm; Bedside's fallback), the same library on
 * Node's built-in SQLite (node:sqlite, what Bedside uses where the runtime has it; measured in code-server's
 * Node 24) and MiniSearch (in memory, saved as JSON). MiniSearch is not run where its memory would not fit (1M).
 * BEDSIDE_BENCH_RETRIEVAL_SIZES=1000,50000 picks other sizes, BEDSIDE_BENCH_RETRIEVAL_CANDIDATES=sqlite_builtin
 * other candidates.
 */
import { spawnSync } from "node:child_process";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { codeServerNode } from "../support/vscodeHost/hostNode";
import { printTable, reportMetrics, type Metrics } from "./report";

interface Row {
  candidate: string;
  docs: number;
  importDocsPerS: number;
  queryP50Ms: number;
  queryP95Ms: number;
  queryCpuP95Ms?: number;
  recall10OverExhaustive: number;
  recallAt10: number;
  scoredPerQuery: number;
  segments: number;
  needleNdcg10?: number;
  peakRssMB: number;
  diskMB: number;
}

export async function run(quick: boolean): Promise<void> {
  const args = process.argv.slice(2);
  const docsArg = args.indexOf("--docs");
  const needle = args.includes("--needle");
  const sizes =
    docsArg >= 0 ? [Number(args[docsArg + 1])] : (process.env.BEDSIDE_BENCH_RETRIEVAL_SIZES?.split(",").map(Number) ?? (quick ? [1000, 10_000] : [1000, 100_000, 1_000_000]));
  const rows: Row[] = [];
  const skipped: string[] = [];
  for (const docs of sizes) {
    for (const candidate of process.env.BEDSIDE_BENCH_RETRIEVAL_CANDIDATES?.split(",") ?? ["sqlite", "sqlite_builtin", "minisearch"]) {
      const previous = rows.find((r) => r.candidate === candidate);
      // Memory above a bare process (~200 MB) grows with the documents.
      const projectedMB = previous ? 200 + ((previous.peakRssMB - 200) * docs) / previous.docs : 0;
      if (candidate === "minisearch" && projectedMB > 6000) {
        skipped.push(`minisearch at ${docs} docs: projected ${Math.round(projectedMB / 1024)} GB of memory in the editor's process`);
        continue;
      }
      const dir = join(tmpdir(), `bedside-bench-retrieval-${candidate}-${process.pid}`);
      // sqlite: the WebAssembly SQLite; sqlite_builtin: Node's own (node:sqlite), in the Node 24 that runs
      // code-server, as in the extension host of current VS Code releases.
      let node = process.execPath;
      try {
        if (candidate === "sqlite_builtin") node = codeServerNode();
      } catch (error) {
        skipped.push(`${candidate}: ${(error as Error).message.split("\n")[0]}`);
        continue;
      }
      const env = { ...process.env, BEDSIDE_SQLITE: candidate === "sqlite" ? "wasm" : "" };
      const result = spawnSync(
        node,
        [
          "--import",
          "tsx",
          join(__dirname, "retrievalChild.ts"),
          candidate === "minisearch" ? "minisearch" : "sqlite",
          String(docs),
          dir,
          needle && candidate !== "minisearch" ? "needle" : "",
        ],
        { encoding: "utf8", maxBuffer: 1 << 24, stdio: ["ignore", "pipe", "inherit"], env },
      );
      const line = result.stdout.trim().split("\n").pop() ?? "";
      if (result.status !== 0 || !line.startsWith("{")) {
        skipped.push(`${candidate} at ${docs} docs failed (exit ${String(result.status ?? result.signal)})`);
        continue;
      }
      const row = { ...(JSON.parse(line) as Row), candidate };
      rows.push(row);
      console.log(`${candidate} ${docs}: ${line}`);
    }
  }
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
  console.log(`\nload average ${load} (the machine's cores are shared; figures are wall-clock)`);
  printTable(
    [
      "candidate",
      "docs",
      "import docs/s",
      "search p50 ms",
      "search p95 ms",
      "search CPU p95 ms",
      "recall10 / exhaustive",
      "own doc in top 10",
      "scored/query",
      "segments",
      "peak RSS MB",
      "disk MB",
      "needle nDCG@10",
    ],
    rows.map((r) => [
      r.candidate,
      r.docs,
      r.importDocsPerS,
      r.queryP50Ms,
      r.queryP95Ms,
      r.queryCpuP95Ms ?? "",
      r.recall10OverExhaustive,
      r.recallAt10,
      r.scoredPerQuery,
      r.segments,
      r.peakRssMB,
      r.diskMB,
      r.needleNdcg10 ?? "",
    ]),
  );
  for (const s of skipped) console.log(`skipped: ${s}`);
  const metrics: Metrics = {};
  for (const r of rows) {
    const k = `${r.candidate}_${r.docs}`;
    metrics[`${k}_import_docs_per_s`] = r.importDocsPerS;
    metrics[`${k}_query_p95_ms`] = r.queryP95Ms;
    if (r.queryCpuP95Ms !== undefined) metrics[`${k}_query_cpu_p95_ms`] = r.queryCpuP95Ms;
    metrics[`${k}_recall10_over_exhaustive`] = r.recall10OverExhaustive;
    metrics[`${k}_peak_rss_mb`] = r.peakRssMB;
    metrics[`${k}_disk_mb`] = r.diskMB;
    if (r.needleNdcg10 !== undefined) metrics[`${k}_needle_ndcg10`] = r.needleNdcg10;
  }
  // The library's figures (node:sqlite where it ran, else WebAssembly) at the largest size measured.
  const library = rows.filter((r) => r.candidate !== "minisearch");
  const largest = Math.max(...library.map((r) => r.docs));
  const headline = library.find((r) => r.candidate === "sqlite_builtin" && r.docs === largest) ?? library.find((r) => r.docs === largest);
  if (headline) {
    metrics.recall10_over_exhaustive = Math.min(...library.map((r) => r.recall10OverExhaustive));
    metrics.query_p95_ms = headline.queryP95Ms;
    if (headline.queryCpuP95Ms !== undefined) metrics.query_cpu_p95_ms = headline.queryCpuP95Ms;
    metrics.docs = headline.docs;
    metrics.driver = headline.candidate === "sqlite_builtin" ? "node:sqlite" : "wasm";
    metrics.settings = "search(title query, k 10, passageChars 1200), 200 queries, Lucene BM25 k1 0.9 b 0.4, MaxScore + block-max";
    metrics.load_average = load;
  }
  reportMetrics(
    "retrieval",
    {
      sizes: sizes.join(","),
      candidates: (process.env.BEDSIDE_BENCH_RETRIEVAL_CANDIDATES?.split(",") ?? ["sqlite", "sqlite_builtin", "minisearch"]).join(","),
      skipped: skipped.length,
      quick,
    },
    metrics,
    { rows, skipped },
  );
}
