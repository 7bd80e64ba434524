/**
 * One measurement of the retrieval benchmark in its own process (so its memory is its own):
 * `tsx test/bench/retrievalChild.ts <sqlite|minisearch> <docs> <dir> [needle]`. Prints one JSON line.
 *
 * Queries are the titles of 200 seeded documents. Each is timed through `search()` as the product calls it
 * (top 10 with 1,200-character passages, as the answer panel asks for its sources) and compared with an
 * exhaustive Lucene BM25 over the same generated records (same analyzer), computed here without the
 * library: document frequencies of the query terms and the total length are counted while the records are
 * generated for import, and a second pass over the records scores every one for every query it shares a
 * term with. `recall10OverExhaustive` is the share of the exhaustive top 10 the library returned.
 * `needle`: the real PubMedQA corpus (../shared/data/pubmedqa) is imported too, and the PubMedQA dev
 * questions are scored (nDCG@10) against the whole library.
 */
import { createReadStream, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import MiniSearch from "minisearch";
import { parseBeirJsonl } from "../../src/literature/import/json";
import { queryTerms, STOP_WORDS, stem, terms, words } from "../../src/literature/index/analyzer";
import { bm25Score, termCounts } from "../../src/literature/index/bm25";
import { TopK } from "../../src/literature/index/postings";
import { sqliteDriver } from "../../src/literature/index/sqlDatabase";
import { SqliteLiteratureLibrary } from "../../src/literature/index/sqliteLibrary";
import type { LiteratureRecord } from "../../src/literature/library";
import { readQrels, readQueries, scoreRankings } from "../eval/retrieval.eval";
import { sharedDataDir } from "../support/sharedData";
import { mulberry32 } from "../support/seededRandom";
import { generatedRecord, WordSampler } from "./retrievalCorpus";

interface Candidate {
  add(batch: LiteratureRecord[]): void;
  finish(): void;
  search(query: string, k: number): Promise<string[]>;
  diskBytes(): number;
  close(): void;
  library?: SqliteLiteratureLibrary;
}

function sqliteCandidate(dir: string): Candidate {
  const library = new SqliteLiteratureLibrary(join(dir, "library.sqlite"));
  return {
    library,
    add: (batch) => void library.upsert(batch),
    finish: () => library.refreshStats(),
    // As the answer panel asks (src/literature/qa/answerPanel.ts), with k 10 for recall@10.
    search: async (query, k) => (await library.search(query, k, { passageChars: 1200 })).map((s) => s.key),
    diskBytes: () => statSync(join(dir, "library.sqlite")).size,
    close: () => library.close(),
  };
}

function miniSearchCandidate(dir: string): Candidate {
  const processTerm = (term: string): string | null => (STOP_WORDS.has(term) ? null : stem(term));
  const index = new MiniSearch<LiteratureRecord>({
    idField: "key",
    fields: ["title", "abstract"],
    storeFields: [],
    tokenize: (text) => words(text),
    processTerm,
    searchOptions: { combineWith: "OR" },
  });
  return {
    add: (batch) => index.addAll(batch),
    finish: () => undefined,
    search: async (query, k) =>
      index
        .search(query)
        .slice(0, k)
        .map((r) => String(r.id)),
    diskBytes: () => {
      const file = join(dir, "index.json");
      writeFileSync(file, JSON.stringify(index));
      return statSync(file).size;
    },
    close: () => undefined,
  };
}

/** The needle test: PubMedQA's 1,000 abstracts among the generated ones, its dev questions. */
async function needle(candidate: Candidate): Promise<{ needleNdcg10: number; needleQueries: number; needleQueryP95Ms: number } | undefined> {
  const shared = sharedDataDir();
  if (!shared || !candidate.library) return undefined;
  const dir = join(shared, "pubmedqa");
  const batch: LiteratureRecord[] = [];
  const chunks = (async function* () {
    for await (const c of createReadStream(join(dir, "corpus.jsonl"), { encoding: "utf8" })) yield c as string;
  })();
  for await (const record of parseBeirJsonl(chunks, undefined, { idsArePmids: false })) batch.push(record);
  candidate.library.upsert(batch);
  candidate.library.refreshStats();
  const { qrels } = readQrels(dir, "dev");
  const queries = readQueries(dir, "dev");
  const rankings = new Map<string, string[]>();
  const latencies: number[] = [];
  for (const qid of qrels.keys()) {
    const text = queries.get(qid);
    if (!text) continue;
    const t = performance.now();
    const hits = await candidate.library.search(text, 10, { passageChars: 1200 });
    latencies.push(performance.now() - t);
    rankings.set(
      qid,
      hits.map((h) => h.key.replace(/^beir:/, "")),
    );
  }
  const metrics = scoreRankings(rankings, qrels);
  return { needleNdcg10: +metrics.ndcg10.toFixed(4), needleQueries: metrics.queries, needleQueryP95Ms: +percentile(latencies, 95).toFixed(2) };
}

const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
};

async function main(): Promise<void> {
  const [name, countText, dir, mode] = process.argv.slice(2);
  const count = Number(countText);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const sampler = new WordSampler();
  let peakRss = process.memoryUsage().rss;
  const sampleRss = (): void => void (peakRss = Math.max(peakRss, process.memoryUsage().rss));
  const candidate = name === "sqlite" ? sqliteCandidate(dir) : miniSearchCandidate(dir);

  // The queries, and what the exhaustive reference needs to know about their terms.
  const random = mulberry32(99);
  const queries = Array.from({ length: 200 }, () => {
    const target = Math.floor(random() * count);
    const text = `${generatedRecord(sampler, target).title}?`;
    return { target, text, terms: queryTerms(text).map((t) => t.term) };
  });
  const queryTermSet = new Set(queries.flatMap((q) => q.terms));
  const df = new Map<string, number>();
  let totalLength = 0;

  let generateMs = 0;
  // CPU time too: on a shared machine wall-clock throughput mostly measures the other processes.
  let generateCpuMs = 0;
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < count; i += 1000) {
    const g = performance.now();
    const gc = process.cpuUsage();
    const batch: LiteratureRecord[] = [];
    for (let j = i; j < Math.min(count, i + 1000); j++) {
      const record = generatedRecord(sampler, j);
      batch.push(record);
      const docTerms = terms(`${record.title} ${record.abstract}`);
      totalLength += docTerms.length;
      for (const t of new Set(docTerms)) if (queryTermSet.has(t)) df.set(t, (df.get(t) ?? 0) + 1);
    }
    generateMs += performance.now() - g;
    const gd = process.cpuUsage(gc);
    generateCpuMs += (gd.user + gd.system) / 1000;
    candidate.add(batch);
    if (i % 20_000 === 0) sampleRss();
    if (i > 0 && i % 50_000 === 0)
      console.error(`${name}: ${i} docs, ${Math.round(i / ((performance.now() - started - generateMs) / 1000))} docs/s, RSS ${Math.round(process.memoryUsage().rss / 2 ** 20)} MB`);
  }
  candidate.finish();
  const importMs = performance.now() - started - generateMs;
  const cpu = process.cpuUsage(cpuStart);
  const importCpuMs = (cpu.user + cpu.system) / 1000 - generateCpuMs;
  sampleRss();

  const latencies: number[] = [];
  // CPU time of each search too: under a shared machine's load, wall-clock mostly measures waiting.
  const cpuTimes: number[] = [];
  const results: string[][] = [];
  let found = 0;
  let scored = 0;
  for (const q of queries) {
    const t = performance.now();
    const c = process.cpuUsage();
    const keys = await candidate.search(q.text, 10);
    latencies.push(performance.now() - t);
    const dc = process.cpuUsage(c);
    cpuTimes.push((dc.user + dc.system) / 1000);
    results.push(keys);
    scored += candidate.library?.lastScored ?? 0;
    if (keys.includes(`pmid:${10_000_000 + q.target}`)) found++;
  }
  sampleRss();

  // Exhaustive BM25 over the same records (second pass), every query.
  const t0 = performance.now();
  const stats = { docCount: count, avgLength: totalLength / count, df: (t: string) => df.get(t) ?? 0 };
  const byTerm = new Map<string, number[]>();
  queries.forEach((q, i) => {
    for (const t of q.terms) byTerm.set(t, [...(byTerm.get(t) ?? []), i]);
  });
  const tops = queries.map(() => new TopK(10));
  const touched = new Uint8Array(queries.length);
  for (let j = 0; j < count; j++) {
    const record = generatedRecord(sampler, j);
    const counts = termCounts(terms(`${record.title} ${record.abstract}`));
    const hit: number[] = [];
    for (const t of counts.tf.keys())
      for (const i of byTerm.get(t) ?? [])
        if (!touched[i]) {
          touched[i] = 1;
          hit.push(i);
        }
    for (const i of hit) {
      touched[i] = 0;
      tops[i].offer({ id: j, score: bm25Score(queries[i].terms, counts, stats) });
    }
  }
  let overlap = 0;
  let expected = 0;
  tops.forEach((top, i) => {
    const want = top.sorted().map((h) => `pmid:${10_000_000 + h.id}`);
    expected += want.length;
    overlap += want.filter((key) => results[i].includes(key)).length;
  });
  console.error(`${name}: exhaustive reference over ${count} docs in ${Math.round((performance.now() - t0) / 1000)} s`);

  const needleResult = mode === "needle" ? await needle(candidate) : undefined;
  const disk = candidate.diskBytes();
  sampleRss();
  const shape = candidate.library?.index.describe();
  candidate.close();
  console.log(
    JSON.stringify({
      candidate: name,
      driver: name === "sqlite" ? sqliteDriver() : "",
      docs: count,
      importDocsPerS: Math.round(count / (importMs / 1000)),
      importDocsPerCpuS: Math.round(count / (importCpuMs / 1000)),
      queryP50Ms: +percentile(latencies, 50).toFixed(2),
      queryP95Ms: +percentile(latencies, 95).toFixed(2),
      queryCpuP50Ms: +percentile(cpuTimes, 50).toFixed(2),
      queryCpuP95Ms: +percentile(cpuTimes, 95).toFixed(2),
      recall10OverExhaustive: expected ? +(overlap / expected).toFixed(4) : 1,
      recallAt10: found / queries.length,
      scoredPerQuery: Math.round(scored / queries.length),
      segments: shape?.segments ?? 0,
      peakRssMB: Math.round(peakRss / 2 ** 20),
      diskMB: +(disk / 2 ** 20).toFixed(1),
      vocabulary: sampler.vocabularySize,
      ...needleResult,
    }),
  );
  rmSync(dir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
