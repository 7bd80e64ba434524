/**
 * The generated models load and work in the real node-llama-cpp (CPU, prebuilt binary, no network).
 * Run: npx mocha --import=tsx --timeout 60000 'test/engine/gguf*.test.ts'
 */
import assert from "node:assert/strict";
import type { Llama, LlamaModel, Token } from "node-llama-cpp";
import { ensureTestModel } from "../support/gguf/testModels";
import { skipBecause } from "../support/skip";

// node-llama-cpp is ESM-only with top-level await, so it is imported dynamically (tsx runs tests as CJS).
type NodeLlamaCpp = typeof import("node-llama-cpp");

// One thread: on a 2-core machine more threads than cores make llama.cpp hundreds of times slower.
const THREADS = 1;

describe("generated GGUF models in node-llama-cpp", function () {
  this.timeout(120_000);

  let lib: NodeLlamaCpp;
  let llama: Llama;
  const models: LlamaModel[] = [];

  async function load(kind: Parameters<typeof ensureTestModel>[0]): Promise<LlamaModel> {
    const model = await llama.loadModel({ modelPath: await ensureTestModel(kind) });
    models.push(model);
    return model;
  }

  before(async () => {
    lib = await import("node-llama-cpp");
    llama = await lib.getLlama({ gpu: false, build: "never", logLevel: lib.LlamaLogLevel.error });
  });

  after(async () => {
    for (const model of models) await model.dispose();
    await llama?.dispose();
  });

  describe("tiny llama", () => {
    let model: LlamaModel;
    before(async () => {
      model = await load("tiny");
    });

    it("loads without warnings", () => {
      assert.deepEqual(model.getWarnings(), []);
    });

    it("tokenizes clinical words whole and any Unicode through byte tokens, and detokenizes exactly", () => {
      const text = "Patient has chest pain. Ünïcødé 你好";
      const tokens = model.tokenize(text);
      assert.equal(model.detokenize(tokens), text);
      const pieces = tokens.slice(0, 4).map((t) => model.detokenize([t]));
      assert.deepEqual(pieces, ["Patient", " has", " chest", " pain"]);
    });

    it("generates 20 varied tokens", async () => {
      const context = await model.createContext({ contextSize: 512, threads: THREADS });
      try {
        const completion = new lib.LlamaCompletion({ contextSequence: context.getSequence() });
        const generated: Token[] = [];
        await completion.generateCompletion("Patient has chest pain and", {
          maxTokens: 20,
          onToken: (tokens) => generated.push(...tokens),
        });
        assert.equal(generated.length, 20);
        assert.ok(new Set(generated).size > 5, `only ${new Set(generated).size} distinct tokens`);
      } finally {
        await context.dispose();
      }
    });

    it("supports infill", async () => {
      const context = await model.createContext({ contextSize: 512, threads: THREADS });
      try {
        const completion = new lib.LlamaCompletion({ contextSequence: context.getSequence() });
        assert.equal(completion.infillSupported, true);
        const middle = await completion.generateInfillCompletion("Patient has ", " pain.", { maxTokens: 5 });
        assert.ok(middle.length > 0);
      } finally {
        await context.dispose();
      }
    });

    it("carries a ChatML chat template in its metadata", () => {
      const template = model.fileInfo.metadata.tokenizer.chat_template;
      assert.equal(typeof template, "string");
      assert.match(String(template), /<\|im_start\|>/);
      assert.equal(lib.resolveChatWrapper(model)?.wrapperName, "ChatML");
    });
  });

  it("tiny-no-infill does not support infill", async () => {
    const model = await load("tiny-no-infill");
    const context = await model.createContext({ contextSize: 512, threads: THREADS });
    try {
      const completion = new lib.LlamaCompletion({ contextSequence: context.getSequence() });
      assert.equal(completion.infillSupported, false);
    } finally {
      await context.dispose();
    }
  });

  it("medium (Q4_0, 32,000-token vocabulary) loads and generates varied tokens", async () => {
    const model = await load("medium");
    assert.notEqual(model.tokens.infill.prefix, null);
    const context = await model.createContext({ contextSize: 512, threads: THREADS });
    try {
      const completion = new lib.LlamaCompletion({ contextSequence: context.getSequence() });
      const generated: Token[] = [];
      await completion.generateCompletion("Patient has chest pain and", {
        maxTokens: 10,
        onToken: (tokens) => generated.push(...tokens),
      });
      assert.equal(generated.length, 10);
      assert.ok(new Set(generated).size > 3, `only ${new Set(generated).size} distinct tokens`);
    } finally {
      await context.dispose();
    }
  });

  // 3.8 GB on disk, ~7.7 GB of memory and ~20-40 s on 2 cores: only when asked for.
  it("7B-shaped Q4_0 model loads and generates 8 tokens (BEDSIDE_TEST_7B=1)", async function () {
    if (process.env.BEDSIDE_TEST_7B !== "1") skipBecause(this, "opt-in: BEDSIDE_TEST_7B=1 runs the 3.8 GB 7B-shaped model (about 7.7 GB of memory)");
    this.timeout(10 * 60_000);
    const model = await load("7b");
    assert.equal(model.fileInfo.metadata.general.architecture, "llama");
    const context = await model.createContext({ contextSize: 512, threads: 2 });
    try {
      const completion = new lib.LlamaCompletion({ contextSequence: context.getSequence() });
      const generated: Token[] = [];
      await completion.generateCompletion("Patient has chest pain and", {
        maxTokens: 8,
        onToken: (tokens) => generated.push(...tokens),
      });
      assert.equal(generated.length, 8);
    } finally {
      await context.dispose();
    }
  });

  it("bert gives finite embeddings of the model width that differ between texts", async () => {
    const model = await load("bert");
    const context = await model.createEmbeddingContext({ contextSize: 512, threads: THREADS });
    try {
      const a = await context.getEmbeddingFor("Patient has chest pain.");
      const b = await context.getEmbeddingFor("Blood pressure is normal.");
      assert.equal(a.vector.length, model.embeddingVectorSize);
      assert.equal(a.vector.length, 64);
      assert.ok(a.vector.every(Number.isFinite) && b.vector.every(Number.isFinite));
      assert.ok(
        a.vector.some((v, i) => Math.abs(v - (b.vector[i] ?? 0)) > 1e-3),
        "different texts, different vectors",
      );
      const again = await context.getEmbeddingFor("Patient has chest pain.");
      assert.deepEqual(again.vector, a.vector, "same text, same vector");
    } finally {
      await context.dispose();
    }
  });
});
