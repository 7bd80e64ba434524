/**
 * One measurement of the retrieval benchmark in its own process (so its memory is its own):
 * `tsx test/bench/retrievalChild.ts <sqlite|minisearch> <docs> <dir>`. Prints one JSON line.
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import MiniSearch from "minisearch";
import { STOP_WORDS, stem, words } from "../../src/literature/index/analyzer";
import { sqliteDriver } from "../../src/literature/index/sqlDatabase";
import { SqliteLiteratureLibrary } from "../../src/literature/index/sqliteLibrary";
import type { LiteratureRecord } from "../../src/literature/library";
import { mulberry32 } from "../support/seededRandom";
import { generatedRecord, WordSampler } from "./retrievalCorpus";

interface Candidate {
  add(batch: LiteratureRecord[]): void;
  finish(): void;
  search(query: string, k: number): string[];
  diskBytes(): number;
  close(): void;
}

function sqliteCandidate(dir: string): Candidate {
  const library = new SqliteLiteratureLibrary(join(dir, "library.sqlite"));
  return {
    add: (batch) => void library.upsert(batch),
    finish: () => library.refreshStats(),
    search: (query, k) => library.rankBm25(query, k).map((r) => r.row.key),
    diskBytes: () => statSync(join(dir, "library.sqlite")).size,
    close: () => library.close(),
  };
}

function miniSearchCandidate(dir: string): Candidate {
  const processTerm = (term: string): string | null => (STOP_WORDS.has(term) ? null : stem(term));
  const index = new MiniSearch<LiteratureRecord>({ idField: "key", fields: ["title", "abstract"], storeFields: [], tokenize: (text) => words(text), processTerm, searchOptions: { combineWith: "OR" } });
  return {
    add: (batch) => index.addAll(batch),
    finish: () => undefined,
    search: (query, k) => index.search(query).slice(0, k).map((r) => String(r.id)),
    diskBytes: () => {
      const file = join(dir, "index.json");
      writeFileSync(file, JSON.stringify(index));
      return statSync(file).size;
    },
    close: () => undefined,
  };
}

async function main(): Promise<void> {
  const [name, countText, dir] = process.argv.slice(2);
  const count = Number(countText);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const sampler = new WordSampler();
  let peakRss = process.memoryUsage().rss;
  const sampleRss = (): void => void (peakRss = Math.max(peakRss, process.memoryUsage().rss));
  const candidate = name === "sqlite" ? sqliteCandidate(dir) : miniSearchCandidate(dir);
  let generateMs = 0;
  // CPU time too: on a shared machine wall-clock throughput mostly measures the other processes.
  let generateCpuMs = 0;
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < count; i += 1000) {
    const g = performance.now();
    const gc = process.cpuUsage();
    const batch: LiteratureRecord[] = [];
    for (let j = i; j < Math.min(count, i + 1000); j++) batch.push(generatedRecord(sampler, j));
    generateMs += performance.now() - g;
    const gd = process.cpuUsage(gc);
    generateCpuMs += (gd.user + gd.system) / 1000;
    candidate.add(batch);
    if (i % 20_000 === 0) sampleRss();
    if (i > 0 && i % 50_000 === 0) console.error(`${name}: ${i} docs, ${Math.round(i / ((performance.now() - started - generateMs) / 1000))} docs/s, RSS ${Math.round(process.memoryUsage().rss / 2 ** 20)} MB`);
  }
  candidate.finish();
  const importMs = performance.now() - started - generateMs;
  const cpu = process.cpuUsage(cpuStart);
  const importCpuMs = (cpu.user + cpu.system) / 1000 - generateCpuMs;
  sampleRss();
  const random = mulberry32(99);
  const latencies: number[] = [];
  let found = 0;
  const queries = 200;
  for (let q = 0; q < queries; q++) {
    const target = Math.floor(random() * count);
    const query = `${generatedRecord(sampler, target).title}?`;
    const t = performance.now();
    const keys = candidate.search(query, 10);
    latencies.push(performance.now() - t);
    if (keys.includes(`pmid:${10_000_000 + target}`)) found++;
  }
  sampleRss();
  const sorted = [...latencies].sort((a, b) => a - b);
  const pct = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  const disk = candidate.diskBytes();
  sampleRss();
  candidate.close();
  console.log(JSON.stringify({ candidate: name, driver: name === "sqlite" ? sqliteDriver() : "", docs: count, importDocsPerS: Math.round(count / (importMs / 1000)), importDocsPerCpuS: Math.round(count / (importCpuMs / 1000)), queryP50Ms: +pct(50).toFixed(2), queryP95Ms: +pct(95).toFixed(2), recallAt10: found / queries, peakRssMB: Math.round(peakRss / 2 ** 20), diskMB: +(disk / 2 ** 20).toFixed(1), vocabulary: sampler.vocabularySize }));
  rmSync(dir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
