/** The pure parts of the MCQA evaluation: data loading, few-shot prompts, the confidence interval. */
import * as assert from "node:assert/strict";
import { buildPrompt, loadMcqa, wilsonInterval, MCQA_TASKS } from "../../eval/mcqa.eval";
import { describeProgress, formatDuration } from "../../../src/models/registerModelsText";
import { sharedDataDir } from "../../support/sharedData";
import { skipBecause } from "../../support/skip";

describe("MCQA evaluation harness", () => {
  it("gives the 95% Wilson interval", () => {
    const [lo, hi] = wilsonInterval(52, 100);
    assert.ok(Math.abs(lo - 0.4231) < 0.001 && Math.abs(hi - 0.6153) < 0.001, `${lo} ${hi}`);
    assert.deepEqual(wilsonInterval(0, 0), [0, 1]);
    const [zlo, zhi] = wilsonInterval(0, 20);
    assert.equal(zlo, 0);
    assert.ok(zhi > 0.15 && zhi < 0.17);
  });

  it("builds few-shot prompts that end where the answer goes", () => {
    const item = { id: "1", question: "Which drug?", options: [["A", "aspirin"], ["B", "heparin"]] as [string, string][], answer: "B" };
    const shot = { ...item, id: "0", question: "Which organ?", answer: "A" };
    const prompt = buildPrompt("medqa", item, [shot]);
    assert.match(prompt, /Question: Which organ\?\nOptions:\nA\. aspirin\nB\. heparin\nAnswer: A\n\nQuestion: Which drug\?[\s\S]*Answer:$/);
    const pq = buildPrompt("pubmedqa", { id: "2", context: "Abstract.", question: "Does it work?", options: [["yes", "yes"], ["no", "no"], ["maybe", "maybe"]], answer: "no" }, []);
    assert.match(pq, /Context: Abstract\.\nQuestion: Does it work\?\nAnswer \(yes, no or maybe\):$/);
  });

  it("reads every task from the shared data", function () {
    const dir = sharedDataDir();
    if (!dir) skipBecause(this, "../shared/data is absent (the shared evaluation data)");
    for (const task of MCQA_TASKS) {
      const items = loadMcqa(task, dir!);
      assert.ok(items.length > 100, `${task}: ${items.length}`);
      for (const item of items.slice(0, 50)) assert.ok(item.options.some(([k]) => k === item.answer), `${task} ${item.id}: answer ${item.answer} is an option`);
    }
  });
});

describe("download progress text", () => {
  it("says bytes, speed and time left", () => {
    assert.equal(describeProgress({ receivedBytes: 1.2e9, totalBytes: 4.08e9, resumedFromBytes: 0, bytesPerSecond: 12.3e6, etaSeconds: 234 }), "1.2 GB of 4.1 GB · 12 MB/s · 4 min left");
    assert.equal(formatDuration(5000), "1 h 23 min");
    assert.equal(formatDuration(0.2), "1 s");
  });
});
