/**
 * Hybrid ranking's embedding worker: the real dist/worker.mjs with the generated bert model loaded into the
 * "embedding" slot, as EngineHost.embedding runs bedside.literature.embeddingModel in a process of its own.
 */
import * as assert from "node:assert/strict";
import { fitTokens } from "../../src/engine/worker/llamaRuntime";
import { ensureTestModel } from "../support/gguf/testModels";
import { cpuChoice, startTestEngine, type TestEngine } from "../support/engineFixture";

describe("embedding worker", function () {
  this.timeout(120_000);
  let t: TestEngine;

  before(async () => {
    t = startTestEngine({ slot: "embedding" });
    t.engine.configure(cpuChoice(await ensureTestModel("bert"), { contextSize: 512, flashAttention: false }));
  });
  after(async () => {
    await t?.engine.dispose();
  });

  it("loads the model into the embedding slot and embeds with it", async () => {
    const info = await t.engine.ensureReady();
    assert.equal(info.slot, "embedding");
    assert.equal(info.architecture, "bert");
    const { vectors, slot } = await t.engine.embed(["colchicine for recurrent pericarditis"]);
    assert.equal(slot, "embedding");
    assert.equal(vectors[0]!.length, info.embeddingLength);
  });

  it("embeds a text longer than the model's context by its start, instead of failing", async () => {
    const long = "Colchicine reduced recurrent pericarditis in adults after cardiac surgery. ".repeat(60);
    const count = (await t.engine.tokenize(long)).count;
    assert.ok(count > 512, `the text is ${count} tokens`);
    const { vectors } = await t.engine.embed([long]);
    assert.equal(vectors[0]!.length, (await t.engine.ensureReady()).embeddingLength);
    assert.ok(vectors[0]!.every(Number.isFinite));
  });

  it("cuts a text at its end until it fits the token limit", () => {
    const words = (s: string): number => s.split(" ").filter(Boolean).length;
    const text = Array.from({ length: 1000 }, (_, i) => `w${i}`).join(" ");
    const fitted = fitTokens(text, 100, words);
    assert.ok(words(fitted) <= 100 && words(fitted) > 80, `${words(fitted)} words`);
    assert.ok(text.startsWith(fitted));
    assert.equal(fitTokens("short text", 100, words), "short text");
  });
});
