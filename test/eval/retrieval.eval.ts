/**
 * `npm run eval -- retrieval [--data DIR] [--split dev] [--hybrid-model FILE|test|none] [--limit N]`: retrieval
 * quality of the literature library on a BEIR-format folder (corpus.jsonl, queries*.jsonl,
 * qrels/<split>.tsv or qrels_<split>.tsv). Default: PubMedQA (dev), NFCorpus (dev) and SciFact (train)
 * from ../shared/data in turn. Prints Recall@1, Recall@10, MRR and nDCG@10 for BM25 and, when an
 * embedding model is given (`test`: the generated bert test model, whose random weights make the dense
 * half meaningless; default none), for hybrid ranking (RRF).
 */
import { createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseBeirJsonl } from "../../src/literature/import/json";
import { SqliteLiteratureLibrary } from "../../src/literature/index/sqliteLibrary";
import type { LiteratureSearchOptions } from "../../src/literature/library";
import { sharedDataDir } from "../support/sharedData";

export interface Metrics {
  recall1: number;
  recall10: number;
  mrr: number;
  ndcg10: number;
  queries: number;
}

/** Standard IR metrics over ranked doc ids and graded qrels (relevance > 0 counts as relevant). */
export function scoreRankings(rankings: Map<string, string[]>, qrels: Map<string, Map<string, number>>): Metrics {
  let r1 = 0,
    r10 = 0,
    mrr = 0,
    ndcg = 0,
    n = 0;
  for (const [qid, rels] of qrels) {
    const ranked = rankings.get(qid) ?? [];
    const relevant = [...rels].filter(([, g]) => g > 0);
    if (relevant.length === 0) continue;
    n++;
    const hits = (k: number): number => ranked.slice(0, k).filter((d) => (rels.get(d) ?? 0) > 0).length;
    r1 += hits(1) / relevant.length;
    r10 += hits(10) / relevant.length;
    const first = ranked.findIndex((d) => (rels.get(d) ?? 0) > 0);
    mrr += first >= 0 ? 1 / (first + 1) : 0;
    const dcg = ranked.slice(0, 10).reduce((s, d, i) => s + (2 ** (rels.get(d) ?? 0) - 1) / Math.log2(i + 2), 0);
    const ideal = relevant
      .map(([, g]) => g)
      .sort((a, b) => b - a)
      .slice(0, 10)
      .reduce((s, g, i) => s + (2 ** g - 1) / Math.log2(i + 2), 0);
    ndcg += ideal > 0 ? dcg / ideal : 0;
  }
  const d = Math.max(n, 1);
  return { recall1: r1 / d, recall10: r10 / d, mrr: mrr / d, ndcg10: ndcg / d, queries: n };
}

export function readQrels(dir: string, split: string | undefined): { split: string; qrels: Map<string, Map<string, number>> } {
  const candidates = (s: string): string[] => [join(dir, "qrels", `${s}.tsv`), join(dir, `qrels_${s}.tsv`)];
  const splits = split ? [split] : ["test", "dev", "train"];
  for (const s of splits) {
    const file = candidates(s).find(existsSync);
    if (!file) continue;
    const qrels = new Map<string, Map<string, number>>();
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const [qid, docId, grade] = line.trim().split("\t");
      if (!qid || !docId || qid === "query-id" || Number.isNaN(Number(grade))) continue;
      if (!qrels.has(qid)) qrels.set(qid, new Map());
      qrels.get(qid)!.set(docId, Number(grade));
    }
    return { split: s, qrels };
  }
  throw new Error(`no qrels for split ${splits.join("/")} in ${dir}`);
}

export function readQueries(dir: string, split: string): Map<string, string> {
  const file =
    [join(dir, `queries_${split}.jsonl`), join(dir, "queries.jsonl")].find(existsSync) ??
    readdirSync(dir)
      .map((f) => join(dir, f))
      .find((f) => /queries.*\.jsonl$/.test(f));
  if (!file) throw new Error(`no queries*.jsonl in ${dir}`);
  const queries = new Map<string, string>();
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line.trim()) continue;
    const row = JSON.parse(line) as { _id: string; text: string };
    queries.set(row._id, row.text);
  }
  return queries;
}

const fmt = (m: Metrics): string =>
  `Recall@1 ${m.recall1.toFixed(3)}  Recall@10 ${m.recall10.toFixed(3)}  MRR ${m.mrr.toFixed(3)}  nDCG@10 ${m.ndcg10.toFixed(3)}  (${m.queries} queries)`;

export async function run(args: string[]): Promise<void> {
  const option = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const shared = sharedDataDir();
  if (!option("data") && shared) {
    // No folder given: PubMedQA (dev), NFCorpus (dev) and SciFact (train) from ../shared/data, in turn.
    const sets: Array<[string, string]> = [
      ["pubmedqa", "dev"],
      ["beir/nfcorpus", "dev"],
      ["beir/scifact", "train"],
    ];
    for (const [folder, split] of sets) {
      if (!existsSync(join(shared, folder, "corpus.jsonl"))) {
        console.log(`retrieval eval: ${folder} skipped (not in ${shared})`);
        continue;
      }
      await runOne(join(shared, folder), [...args, ...(option("split") ? [] : ["--split", split])]);
    }
    return;
  }
  await runOne(option("data"), args);
}

async function runOne(dir: string | undefined, args: string[]): Promise<void> {
  const option = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  if (!dir || !existsSync(join(dir, "corpus.jsonl"))) {
    console.log(`retrieval eval skipped: no BEIR folder (looked for ${dir ?? "../shared/data/pubmedqa"}; give --data DIR)`);
    return;
  }
  const { split, qrels } = readQrels(dir, option("split"));
  const queries = readQueries(dir, split);
  const limit = Number(option("limit") ?? Infinity);
  const work = mkdtempSync(join(tmpdir(), "bedside-eval-"));
  const library = new SqliteLiteratureLibrary(join(work, "library.sqlite"));
  try {
    const started = Date.now();
    let batch = [];
    let imported = 0;
    const chunks = (async function* () {
      for await (const c of createReadStream(join(dir, "corpus.jsonl"), { encoding: "utf8" })) yield c as string;
    })();
    for await (const record of parseBeirJsonl(chunks, undefined, { idsArePmids: false })) {
      batch.push(record);
      if (batch.length >= 1000) {
        imported += library.upsert(batch).added;
        batch = [];
      }
    }
    imported += library.upsert(batch).added;
    library.refreshStats();
    console.log(`${dir}: ${imported} documents imported in ${((Date.now() - started) / 1000).toFixed(1)} s; split ${split}, ${qrels.size} queries with qrels`);

    const evaluate = async (options: LiteratureSearchOptions): Promise<Metrics> => {
      const rankings = new Map<string, string[]>();
      let n = 0;
      for (const qid of qrels.keys()) {
        if (n++ >= limit) break;
        const text = queries.get(qid);
        if (!text) continue;
        const hits = await library.search(text, 100, { ...options, passageChars: 200 });
        rankings.set(
          qid,
          hits.map((h) => h.key.replace(/^beir:/, "")),
        );
      }
      const scored = new Map([...qrels].filter(([q]) => rankings.has(q)));
      return scoreRankings(rankings, scored);
    };
    console.log(`BM25    ${fmt(await evaluate({ ranking: "bm25" }))}`);

    // Hybrid only when asked for: a GGUF embedding model, or `test` for the generated bert model (random
    // weights: plumbing only; PubMedQA 1,000 abstracts embed in about 2 minutes on 2 shared cores).
    const hybridModel = option("hybrid-model") ?? "none";
    if (hybridModel !== "none") {
      const { ensureTestModel } = await import("../support/gguf/testModels");
      const { cpuChoice, startTestEngine } = await import("../support/engineFixture");
      const modelPath = hybridModel === "test" ? await ensureTestModel("bert") : hybridModel;
      const { engine } = startTestEngine();
      try {
        engine.configure(cpuChoice(modelPath, { threads: 2 }));
        await engine.ensureReady();
        library.embedder = async (texts) => (await engine.embed(texts)).vectors;
        const t = Date.now();
        await library.embedMissing(library.embedder, { batch: 32 });
        console.log(`embedded ${library.vectorCount()} documents with ${modelPath} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
        console.log(
          `hybrid  ${fmt(await evaluate({ ranking: "hybrid" }))}${hybridModel === "test" ? "  (dense half: the generated bert test model, random weights; give --hybrid-model FILE for a real embedding GGUF)" : ""}`,
        );
      } finally {
        await engine.dispose();
      }
    }
  } finally {
    library.close();
    rmSync(work, { recursive: true, force: true });
  }
}
