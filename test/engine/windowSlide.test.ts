/**
 * The completion window jumps forward as a note grows; the lane keeps its cache by erasing the text that
 * fell out of the window and shifting the rest, so the jump costs only what was typed since.
 */
import * as assert from "node:assert/strict";
import { buildContext } from "../../src/completion/contextWindow";
import { ensureTestModel } from "../support/gguf/testModels";
import { cpuChoice, startTestEngine, type TestEngine } from "../support/engineFixture";

const LINES = [
  "HPI:",
  "The patient is a 67 year old man with diabetes who presents with chest pain.",
  "He takes metformin twice daily and lisinopril daily for hypertension.",
  "The pain began two days ago while walking and radiates to the left arm.",
  "He denies fever, cough, nausea or shortness of breath at rest.",
  "He has smoked for many years and drinks alcohol on weekends.",
  "His father had a heart attack in his fifties.",
  "He reports fatigue and reduced exercise tolerance over the last month.",
  "Sleep is poor and he wakes at night to urinate.",
];

describe("engine: completion window jumps", function () {
  this.timeout(120_000);
  let t: TestEngine;

  before(async () => {
    t = startTestEngine();
    t.engine.configure(cpuChoice(await ensureTestModel("tiny"), { contextSize: 512, lookupDecoding: false }));
    await t.engine.ensureReady();
  });
  after(async () => {
    await t.engine.dispose();
  });

  it("reads only the newly typed text after the window's start jumps, not the whole window again", async () => {
    const note = `${LINES.join("\n")}\n`;
    const budgetTokens = 80;
    const start = buildContext({ prefix: note, suffix: "", budgetTokens, infillSupported: false });
    // Type word by word until the anchored window jumps forward; `first` is the prompt one word before.
    const words = "He feels better today and walks a little further each morning without chest pain. ".repeat(20).split(/(?<= )/);
    let typed = note;
    let first = start;
    let second = start;
    let lastWord = "";
    for (const word of words) {
      first = second;
      lastWord = word;
      typed += word;
      second = buildContext({ prefix: typed, suffix: "", budgetTokens, infillSupported: false });
      if (second.windowStart > first.windowStart) break;
    }
    assert.ok(second.windowStart > first.windowStart, "the window jumped");
    const request = (prompt: string) => t.engine.complete({ prompt, maxTokens: 4, temperature: 0, lane: "completion" });

    const cold = await request(first.prompt);
    assert.equal(cold.promptTokensEvaluated, cold.promptTokens, "the first read evaluates the whole window");
    const jumped = await request(second.prompt);
    const { count: newlyTyped } = await t.engine.tokenize(lastWord);
    assert.ok(jumped.promptTokens > 2 * newlyTyped, `the window (${jumped.promptTokens} tokens) is much longer than what was typed (${newlyTyped})`);
    // Typed text plus a few tokens where the previous answer and the new text meet.
    assert.ok(
      jumped.promptTokensEvaluated <= newlyTyped + 8,
      `after the jump the lane evaluated ${jumped.promptTokensEvaluated} of ${jumped.promptTokens} prompt tokens; typed were ${newlyTyped}`,
    );
    assert.equal(typeof jumped.text, "string");
  });
});
