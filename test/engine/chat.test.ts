/**
 * Chat through the real worker: the model's own chat template (node-llama-cpp's chat wrappers on the
 * generated model's ChatML template), streamed, sized for fitting, and stopped mid-reply.
 */
import * as assert from "node:assert/strict";
import { ensureTestModel } from "../support/gguf/testModels";
import { cpuChoice, startTestEngine, type TestEngine } from "../support/engineFixture";
import type { ChatMessage } from "../../src/engine/protocol";

describe("engine chat in the model's template", function () {
  this.timeout(120_000);
  let t: TestEngine;
  const conversation: ChatMessage[] = [
    { role: "system", text: "You help a clinician with the note." },
    { role: "user", text: "Summarise the plan for the patient." },
  ];

  before(async () => {
    t = startTestEngine();
    t.engine.configure(cpuChoice(await ensureTestModel("tiny")));
    await t.engine.ensureReady();
  });
  after(async () => {
    await t?.engine.dispose();
  });

  it("sizes a conversation as the template writes it, growing with each message", async () => {
    const one = await t.engine.chatPromptSize(conversation);
    assert.equal(one.wrapper, "ChatML");
    const plain = (await t.engine.tokenize(conversation.map((m) => m.text).join(""))).count;
    assert.ok(one.tokens > plain, `template tokens ${one.tokens} > bare text ${plain}`);
    const two = await t.engine.chatPromptSize([...conversation, { role: "assistant", text: "Rest and fluids." }, { role: "user", text: "Shorter." }]);
    assert.ok(two.tokens > one.tokens);
  });

  it("streams a reply whose chunks add up to the result and evaluates the templated prompt", async () => {
    const chunks: string[] = [];
    const size = await t.engine.chatPromptSize(conversation);
    const result = await t.engine.chat({ messages: conversation, lane: "general", maxTokens: 24 }, { onText: (c) => chunks.push(c) });
    assert.ok(result.text.length > 0);
    assert.equal(chunks.join(""), result.text);
    assert.equal(result.promptTokens, size.tokens - 1, "the prompt as sized, less the BOS token LlamaCompletion adds");
    assert.doesNotMatch(result.text, /<\|im_(start|end)\|>/, "the template's own tokens never reach the reply");
  });

  it("stops mid-reply when aborted and keeps what was written", async () => {
    const controller = new AbortController();
    let seen = "";
    const result = await t.engine.chat(
      { messages: conversation, lane: "general", maxTokens: 400 },
      {
        signal: controller.signal,
        onText: (c) => {
          seen += c;
          if (seen.length > 10) controller.abort();
        },
      },
    );
    assert.equal(result.stopReason, "aborted");
    assert.ok(result.generatedTokens < 400);
    assert.ok(seen.startsWith(result.text) || result.text.startsWith(seen.slice(0, result.text.length)));
  });
});
