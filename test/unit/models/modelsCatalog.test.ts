/** The model catalog file and the hardware-fit estimate. */
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CatalogError, catalogFileName, findCatalogFile, parseCatalog, resolveModelUri, type ModelCatalog } from "../../../src/models/catalog";
import { estimateMemory, estimateWorkerMemory, fitModel, fitWorker, kvCacheBytes, repackedShare, shapeFromGguf, weightsRepackedOnCpu } from "../../../src/models/hardwareFit";
import { readGgufHeader } from "../../../src/engine/ggufHeader";
import { ensureTestModel } from "../../support/gguf/testModels";

const raw = (): Record<string, unknown> => JSON.parse(readFileSync(join(__dirname, "..", "..", "..", "models", "catalog.json"), "utf8")) as Record<string, unknown>;
const GB = 1e9;

describe("model catalog", () => {
  let catalog: ModelCatalog;
  before(() => (catalog = parseCatalog(raw())));

  it("is valid and has Meditron-7B as the default with Q4_K_M, Q5_K_M and Q8_0 files", () => {
    assert.equal(catalog.defaultModel, "meditron-7b");
    const meditron = catalog.models.find((m) => m.id === "meditron-7b")!;
    assert.deepEqual(meditron.files.map((f) => f.quantization), ["Q4_K_M", "Q5_K_M", "Q8_0"]);
    assert.equal(meditron.contextLength, 2048);
    assert.equal(meditron.instructionTuned, false);
    assert.equal(meditron.promptFormat.kind, "completion", "a base model gets few-shot continuation prompts, not a chat template");
    assert.ok(meditron.promptFormat.stop && meditron.promptFormat.stop.length > 0);
    assert.match(meditron.licence.name, /Llama 2/);
  });

  it("lists the models the issue names, each with licence, context, format and capabilities", () => {
    const ids = catalog.models.map((m) => m.id);
    for (const id of ["meditron-7b", "meditron-70b", "biomedlm-2.7b", "medgemma-4b-it", "biomistral-7b", "llama3-med42-8b", "openbiollm-8b"]) assert.ok(ids.includes(id), id);
    const biomedlm = catalog.models.find((m) => m.id === "biomedlm-2.7b")!;
    assert.equal(biomedlm.architecture, "gpt2");
    assert.equal(biomedlm.files.length, 0, "no published GGUF: bring your own");
    for (const m of catalog.models) {
      assert.ok(m.licence.url.startsWith("https://"));
      for (const f of m.files) assert.ok(resolveModelUri(f.uri)?.startsWith("https://huggingface.co/"), f.uri);
    }
  });

  it("resolves hf: URIs and file names", () => {
    assert.equal(resolveModelUri("hf:TheBloke/meditron-7B-GGUF/meditron-7b.Q4_K_M.gguf"), "https://huggingface.co/TheBloke/meditron-7B-GGUF/resolve/main/meditron-7b.Q4_K_M.gguf");
    assert.equal(resolveModelUri("http://example.org/x.gguf"), undefined, "plain http is refused");
    assert.equal(resolveModelUri("hf:a/b/../../etc/passwd"), undefined);
    const found = findCatalogFile(catalog, "meditron-7b")!;
    assert.equal(found.file.quantization, "Q4_K_M");
    assert.equal(catalogFileName(found.file), "meditron-7b.Q4_K_M.gguf");
    assert.equal(findCatalogFile(catalog, "meditron-7b", "Q8_0")!.file.quantization, "Q8_0");
    assert.equal(findCatalogFile(catalog, "biomedlm-2.7b"), undefined);
  });

  it("rejects a bad edit and lists every problem", () => {
    const bad = raw();
    const models = bad.models as Record<string, unknown>[];
    models[0] = { ...models[0], contextLength: -1, files: [{ quantization: "Q4_K_M", uri: "ftp://x", sizeBytes: 1, sha256: "ABC" }] };
    models.push({ ...models[1] });
    bad.defaultModel = "gpt-9";
    assert.throws(() => parseCatalog(bad), (e: unknown) => {
      assert.ok(e instanceof CatalogError);
      const text = e.problems.join("\n");
      for (const part of [/contextLength/, /uri must be/, /sha256 must be/, /used twice/, /defaultModel/]) assert.match(text, part);
      return true;
    });
    assert.throws(() => parseCatalog("nope"), CatalogError);
  });
});

describe("hardware fit", () => {
  const meditron = { layers: 32, embeddingLength: 4096, heads: 32, kvHeads: 32 };

  it("sizes the KV cache from the model's shape and the context (Llama-2-7B, 2048 tokens, f16: 1 GiB)", () => {
    assert.equal(kvCacheBytes(meditron, 2048), 1024 * 1024 * 1024);
    // Grouped-query attention (8 of 32 heads keep K/V) needs a quarter.
    assert.equal(kvCacheBytes({ ...meditron, kvHeads: 8 }, 2048), 256 * 1024 * 1024);
  });

  it("says Meditron-7B Q4_K_M fits a 16 GB laptop on the CPU and Meditron-70B does not", () => {
    const laptop = { totalRamBytes: 16 * GB, freeRamBytes: 10 * GB };
    const small = fitModel(estimateMemory(4.08 * GB, meditron, 2048), 32, laptop);
    assert.equal(small.verdict, "cpu");
    assert.match(small.label, /fits \(CPU, 5\.\d GB of 16 GB\)/);
    const big = fitModel(estimateMemory(41.4 * GB, { layers: 80, embeddingLength: 8192, heads: 64, kvHeads: 8 }, 4096), 80, laptop);
    assert.equal(big.verdict, "tooBig");
    assert.match(big.label, /too big: needs 4\d GB/);
  });

  it("fits layers to free VRAM: all of them, some, or none", () => {
    const need = estimateMemory(4.08 * GB, meditron, 2048);
    assert.equal(fitModel(need, 32, { totalRamBytes: 16 * GB, freeRamBytes: 8 * GB, freeVramBytes: 24 * GB }).verdict, "gpu");
    const partial = fitModel(need, 32, { totalRamBytes: 16 * GB, freeRamBytes: 8 * GB, freeVramBytes: 3 * GB });
    assert.equal(partial.verdict, "partialGpu");
    assert.ok(partial.gpuLayers > 5 && partial.gpuLayers < 32, String(partial.gpuLayers));
    assert.equal(fitModel(need, 32, { totalRamBytes: 6.5 * GB, freeRamBytes: 5 * GB }).verdict, "tight");
  });

  describe("what the worker really allocates (Select Model's labels)", () => {
    const catalogFile = JSON.parse(readFileSync(join(__dirname, "..", "..", "..", "models", "catalog.json"), "utf8")) as { models: { id: string; shape: typeof meditron; files: { quantization: string; sizeBytes: number }[] }[] };
    const entry = catalogFile.models.find((m) => m.id === "meditron-7b")!;
    const q4km = entry.files.find((f) => f.quantization === "Q4_K_M")!;
    const input = { weightsBytes: q4km.sizeBytes, shape: entry.shape, repacked: q4km.sizeBytes * repackedShare("Q4_K_M"), contextSize: 2048, lanes: 2 };
    const laptop8 = { totalRamBytes: 8 * 1024 ** 3, freeRamBytes: 5 * 1024 ** 3 };

    it("counts both lanes' KV cache and, with the file mapped on the CPU, llama.cpp's repacked copy", () => {
      const mapped = estimateWorkerMemory({ ...input, lowMemory: false, backend: "cpu" });
      const readIn = estimateWorkerMemory({ ...input, lowMemory: true, backend: "cpu" });
      assert.equal(mapped.kvCacheBytes, 2 * kvCacheBytes(entry.shape, 2048), "two lanes");
      assert.ok(mapped.repackedCopyBytes! > 0.7 * q4km.sizeBytes);
      assert.equal(readIn.repackedCopyBytes, 0);
      assert.equal(estimateWorkerMemory({ ...input, lowMemory: false, backend: "gpu" }).repackedCopyBytes, 0);
      const withDraft = estimateWorkerMemory({ ...input, lowMemory: false, backend: "cpu", draft: { weightsBytes: 100e6, shape: { layers: 8, embeddingLength: 1024, heads: 16, kvHeads: 16 }, repacked: 90e6 } });
      assert.ok(withDraft.totalBytes > mapped.totalBytes + 190e6, "a draft model adds its weights, copy and cache");
    });

    it("labels Meditron-7B Q4_K_M on an 8 GB laptop as needing low-memory mode or too big, not fits", () => {
      const fit = fitWorker(input, false, laptop8);
      assert.ok(fit.verdict === "lowMemoryOnly" || fit.verdict === "tooBig", `${fit.verdict}: ${fit.label}`);
      assert.doesNotMatch(fit.label, /^fits \(/);
      // Low-memory mode already on: the read-in estimate decides.
      assert.ok(["cpu", "tooBig"].includes(fitWorker(input, true, laptop8).verdict));
    });

    it("says fits only in low-memory mode where only the read-in weights fit, and fits where both do", () => {
      const middle = fitWorker(input, false, { totalRamBytes: 10 * 1024 ** 3, freeRamBytes: 6 * 1024 ** 3 });
      assert.equal(middle.verdict, "lowMemoryOnly", middle.label);
      assert.match(middle.label, /^fits only in low-memory mode \(\d+\.\d GB instead of \d+\.\d GB of 11 GB\)/);
      const roomy = fitWorker(input, false, { totalRamBytes: 16 * 1024 ** 3, freeRamBytes: 10 * 1024 ** 3 });
      assert.equal(roomy.verdict, "cpu", roomy.label);
      assert.match(roomy.label, /^fits \(CPU/);
      assert.equal(fitWorker({ ...input, weightsBytes: 41.4e9, repacked: 31e9 }, false, { totalRamBytes: 16 * 1024 ** 3, freeRamBytes: 10 * 1024 ** 3 }).verdict, "tooBig");
    });

    it("finds the repacked weights in a GGUF's tensor types (Q4_0 matrices, not the token embeddings)", async () => {
      const header = await readGgufHeader(await ensureTestModel("tiny"));
      assert.equal(weightsRepackedOnCpu(header), 0, "the tiny model is F16: nothing is repacked");
    });
  });

  it("reads the shape of an installed file from its GGUF header", async () => {
    const header = await readGgufHeader(await ensureTestModel("tiny"));
    const shape = shapeFromGguf(header)!;
    assert.equal(shape.layers, 2);
    assert.equal(shape.embeddingLength, 64);
    assert.equal(shape.heads, 4);
  });
});
