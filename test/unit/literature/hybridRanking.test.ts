/**
 * Hybrid ranking's pure parts: when it may run and what the clinician is told when it cannot
 * (embedding/hybridStatus.ts), the vectors named by the model that made them (index/vectorStore.ts through
 * the library), the catalog's embedding models and their prefixes, and the memory estimate that counts the
 * embedding model's own worker. The embedder here is a deterministic letter-count function: an input to the
 * library, not a stand-in for it (the real model runs in test/integration/literature.test.ts).
 */
import * as assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decideRanking, NO_EMBEDDING_MODEL_NOTE, percentEmbedded, vectorModelKey, type EmbeddingProgress } from "../../../src/literature/embedding/hybridStatus";
import { SqliteLiteratureLibrary } from "../../../src/literature/index/sqliteLibrary";
import { CatalogError, embeddingModelForFile, embeddingPrefixes, isEmbeddingModel, parseCatalog } from "../../../src/models/catalog";
import { embeddingWorkerBytes, estimateWorkerMemory, WORKER_BASE_BYTES } from "../../../src/models/hardwareFit";

const progress = (over: Partial<EmbeddingProgress>): EmbeddingProgress => ({ modelConfigured: true, total: 1000, embedded: 1000, running: false, ...over });

describe("hybrid ranking: when it runs and what the clinician is told", () => {
  it("ranks by BM25 without a note when BM25 is asked for", () => {
    assert.deepEqual(decideRanking("bm25", progress({ modelConfigured: false })), { ranking: "bm25" });
  });

  it("names the setting to set when no embedding model is configured", () => {
    const d = decideRanking("hybrid", progress({ modelConfigured: false, embedded: 0 }));
    assert.equal(d.ranking, "bm25");
    assert.equal(d.note, NO_EMBEDDING_MODEL_NOTE);
    assert.match(d.note!, /bedside\.literature\.embeddingModel/);
  });

  it("says how far embedding has got while it runs, and which command finishes it when stopped", () => {
    const running = decideRanking("hybrid", progress({ embedded: 405, running: true }));
    assert.equal(running.ranking, "bm25");
    assert.match(running.note!, /40% done \(405 of 1,000 records\)/);
    const stopped = decideRanking("hybrid", progress({ embedded: 405, running: false }));
    assert.match(stopped.note!, /40% embedded/);
    assert.match(stopped.note!, /Bedside: Embed Literature for Hybrid Ranking/);
  });

  it("says why when the embedding model failed", () => {
    const d = decideRanking("hybrid", progress({ embedded: 0, error: "the file /m.gguf was not found" }));
    assert.equal(d.ranking, "bm25");
    assert.match(d.note!, /could not embed the library \(the file \/m\.gguf was not found\)/);
  });

  it("runs hybrid only once every record has a vector", () => {
    assert.deepEqual(decideRanking("hybrid", progress({})), { ranking: "hybrid", note: "Ranked by BM25 and the embedding model together (hybrid)." });
    assert.equal(decideRanking("hybrid", progress({ embedded: 999 })).ranking, "bm25");
    assert.deepEqual(decideRanking("hybrid", progress({ total: 0, embedded: 0 })), { ranking: "bm25" }, "an empty library: nothing to say");
  });

  it("rounds the share down, so 100% means every record", () => {
    assert.equal(percentEmbedded({ total: 1000, embedded: 999 }), 99);
    assert.equal(percentEmbedded({ total: 3, embedded: 1 }), 33);
    assert.equal(percentEmbedded({ total: 0, embedded: 0 }), 100);
  });

  it("names vectors by the model file and the prefixes, so a change of either makes other vectors", () => {
    const file = { path: "/m/bge.gguf", size: 36_800_000, mtimeMs: 1000 };
    const key = vectorModelKey(file);
    assert.equal(vectorModelKey({ ...file }), key);
    for (const other of [
      vectorModelKey({ ...file, path: "/m/nomic.gguf" }),
      vectorModelKey({ ...file, size: 1 }),
      vectorModelKey({ ...file, mtimeMs: 2000 }),
      vectorModelKey(file, { query: "search_query: " }),
      vectorModelKey(file, { document: "search_document: " }),
    ])
      assert.notEqual(other, key);
  });
});

describe("hybrid ranking: vectors in the library file", () => {
  let dir: string;
  let library: SqliteLiteratureLibrary;
  let calls: string[];
  /** 26 letter counts: similar texts get similar vectors. */
  const letters = async (texts: string[]): Promise<number[][]> => {
    calls.push(...texts);
    return texts.map((t) => Array.from({ length: 26 }, (_, i) => [...t.toLowerCase()].filter((c) => c.charCodeAt(0) === 97 + i).length + 0.01));
  };
  const record = (n: number, title: string) => ({ key: `pmid:${n}`, pmid: String(n), title, abstract: `${title} in adults.`, authors: [], publicationTypes: [] });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "bedside-hybrid-"));
    library = new SqliteLiteratureLibrary(join(dir, "library.sqlite"));
    library.upsert([record(1, "Colchicine for pericarditis"), record(2, "Aspirin for pericarditis"), record(3, "Statins after myocardial infarction")]);
    library.refreshStats();
    calls = [];
  });
  afterEach(() => {
    library.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("embeds only records without a vector, and a new record on the next run", async () => {
    library.useVectorModel("model-a");
    assert.equal(library.missingVectors(), 3);
    assert.equal(await library.embedMissing(letters), 3);
    assert.equal(library.missingVectors(), 0);
    assert.equal(await library.embedMissing(letters), 0, "nothing embedded twice");
    assert.equal(calls.length, 3);
    library.upsert([record(4, "Colchicine after myocardial infarction")]);
    assert.equal(library.missingVectors(), 1);
    assert.equal(await library.embedMissing(letters), 1);
    assert.equal(calls.length, 4);
  });

  it("re-embeds a record whose text changed", async () => {
    library.useVectorModel("model-a");
    await library.embedMissing(letters);
    library.upsert([{ ...record(2, "Aspirin for pericarditis"), abstract: "A changed abstract." }]);
    assert.equal(library.missingVectors(), 1);
  });

  it("deletes the vectors another model made, and keeps its own across a reopen", async () => {
    library.useVectorModel("model-a");
    await library.embedMissing(letters);
    assert.equal(library.useVectorModel("model-a"), 0);
    assert.equal(library.vectorCount(), 3);
    library.close();
    library = new SqliteLiteratureLibrary(join(dir, "library.sqlite"));
    assert.equal(library.vectorModel(), "model-a");
    assert.equal(library.vectorCount(), 3, "stored in the library file");
    assert.equal(library.useVectorModel("model-b"), 3);
    assert.equal(library.vectorCount(), 0);
    assert.equal(library.missingVectors(), 3);
    assert.equal(library.vectorModel(), "model-b");
  });

  it("stores no vector for a record removed while it was being embedded", async () => {
    library.useVectorModel("model-a");
    const slow = async (texts: string[]): Promise<number[][]> => {
      if (texts[0]!.startsWith("Statins")) library.remove({ keys: ["pmid:3"] });
      return letters(texts);
    };
    await library.embedMissing(slow, { batch: 16 });
    library.refreshStats();
    assert.equal(library.count(), 2);
    assert.equal(library.vectorCount(), 2);
  });

  it("stops between batches when cancelled", async () => {
    library.useVectorModel("model-a");
    const abort = new AbortController();
    const n = await library.embedMissing(letters, { batch: 1, signal: abort.signal, onProgress: () => abort.abort() });
    assert.equal(n, 1);
    assert.equal(library.missingVectors(), 2);
  });
});

describe("hybrid ranking: embedding models in the catalog", () => {
  const raw = (): Record<string, unknown> => JSON.parse(readFileSync(join(__dirname, "..", "..", "..", "models", "catalog.json"), "utf8")) as Record<string, unknown>;
  const catalog = parseCatalog(raw());

  it("offers bge-small-en-v1.5 and nomic-embed-text-v1.5 as embedding models with dimension, licence and files", () => {
    const bge = catalog.models.find((m) => m.id === "bge-small-en-v1.5")!;
    const nomic = catalog.models.find((m) => m.id === "nomic-embed-text-v1.5")!;
    for (const [m, dim, licence] of [
      [bge, 384, "MIT"],
      [nomic, 768, "Apache 2.0"],
    ] as const) {
      assert.ok(isEmbeddingModel(m));
      assert.equal(m.embedding?.dimension, dim);
      assert.equal(m.shape.embeddingLength, dim);
      assert.equal(m.licence.name, licence);
      assert.ok(m.capabilities.embeddings);
      assert.ok(m.files.length > 0 && m.files.every((f) => f.sizeBytes > 1e7 && f.sizeBytes < 3e8));
    }
    assert.ok(!isEmbeddingModel(catalog.models.find((m) => m.id === "meditron-7b")!));
  });

  it("finds the prefixes of a configured embedding file by its name", () => {
    assert.equal(embeddingModelForFile(catalog, "nomic-embed-text-v1.5.Q8_0.gguf")?.id, "nomic-embed-text-v1.5");
    assert.deepEqual(embeddingPrefixes(catalog, "nomic-embed-text-v1.5.Q8_0.gguf"), { query: "search_query: ", document: "search_document: " });
    assert.deepEqual(embeddingPrefixes(catalog, "bge-small-en-v1.5-q8_0.gguf"), { query: "Represent this sentence for searching relevant passages: " });
    assert.deepEqual(embeddingPrefixes(catalog, "my-own-embedder.gguf"), {});
    assert.equal(embeddingModelForFile(catalog, "meditron-7b.Q4_K_M.gguf"), undefined, "a generation model is not an embedding model");
  });

  it("rejects an embedding model without its dimension, and embedding facts on a generation model", () => {
    const bad = raw();
    const models = bad.models as Record<string, unknown>[];
    const i = models.findIndex((m) => m.id === "bge-small-en-v1.5");
    models[i] = { ...models[i], embedding: {} };
    models[0] = { ...models[0], embedding: { dimension: 4 } };
    assert.throws(
      () => parseCatalog(bad),
      (e: unknown) => e instanceof CatalogError && /embedding\.dimension/.test(e.message) && /only for models whose role is "embedding"/.test(e.message),
    );
  });
});

describe("hybrid ranking: memory", () => {
  it("counts the embedding model's own worker in the estimate when one is set", () => {
    const shape = { layers: 32, embeddingLength: 4096, heads: 32, kvHeads: 32 };
    const input = { weightsBytes: 4e9, shape, contextSize: 2048, lanes: 2, repacked: 0, lowMemory: false, backend: "cpu" as const };
    const bge = { weightsBytes: 36.8e6, shape: { layers: 12, embeddingLength: 384, heads: 12, kvHeads: 12 }, repacked: 0 };
    const without = estimateWorkerMemory(input);
    const withEmbedding = estimateWorkerMemory({ ...input, embedding: bge });
    assert.equal(withEmbedding.totalBytes - without.totalBytes, embeddingWorkerBytes(bge, "cpu", false));
    assert.ok(embeddingWorkerBytes(bge, "cpu", false) > WORKER_BASE_BYTES + 3 * bge.weightsBytes, "a process of its own, and the weights about three times over");
  });
});
