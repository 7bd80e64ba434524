/**
 * Speed features of the real engine that must not change behaviour: lookup speculative decoding gives
 * exactly the text plain decoding gives, and warm starts restore a note's saved KV state after a worker
 * restart, rejecting damaged or foreign state files with a cold start instead of a crash.
 */
import * as assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EngineClient } from "../../src/engine/client/engineClient";
import { ensureTestModel } from "../support/gguf/testModels";
import { cpuChoice, startTestEngine, type TestEngine } from "../support/engineFixture";
import { readSampleNotes } from "../support/sharedData";
import { FIXTURE_MODEL } from "../train/run";

const FALLBACK_NOTE =
  "HISTORY OF PRESENT ILLNESS: The patient is a 67-year-old man with metformin-treated diabetes who presents with chest pain. " +
  "He takes metformin 500 mg twice daily and lisinopril 10 mg daily. The chest pain began two days ago. ";

/** A note prefix of about `tokens` tokens (the tiny model's context is 512). */
async function notePrompt(engine: EngineClient, index: number, tokens: number): Promise<string> {
  const text = `${readSampleNotes(index + 1)[index]?.text ?? ""}\n${FALLBACK_NOTE.repeat(12)}`;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if ((await engine.tokenize(text.slice(0, mid))).count <= tokens) lo = mid;
    else hi = mid - 1;
  }
  return text.slice(0, lo);
}

describe("engine speed features", function () {
  this.timeout(120_000);
  let tiny: string;
  let tinyNoInfill: string;
  const started: TestEngine[] = [];
  const start = (): TestEngine => {
    const t = startTestEngine();
    started.push(t);
    return t;
  };

  before(async () => {
    tiny = await ensureTestModel("tiny");
    tinyNoInfill = await ensureTestModel("tiny-no-infill");
  });
  afterEach(async () => {
    for (const t of started.splice(0)) await t.engine.dispose();
  });

  describe("lookup speculative decoding", () => {
    it("gives byte-identical output to plain decoding on note continuations", async () => {
      const on = start().engine;
      const off = start().engine;
      on.configure(cpuChoice(tiny, { lookupDecoding: true }));
      off.configure(cpuChoice(tiny, { lookupDecoding: false }));
      let drafted = 0;
      for (let i = 0; i < 4; i++) {
        const prompt = await notePrompt(on, i, 200);
        // Twice each: the second run also exercises KV reuse with a predictor attached.
        for (let round = 0; round < 2; round++) {
          const a = await on.complete({ prompt, maxTokens: 48, lane: "completion" });
          const b = await off.complete({ prompt, maxTokens: 48, lane: "completion" });
          assert.equal(a.text, b.text, `note ${i}, round ${round}`);
          assert.equal(a.generatedTokens, b.generatedTokens);
          assert.equal(b.draftAccepted, undefined, "no predictor when lookup is off");
          drafted += (a.draftAccepted ?? 0) + (a.draftRejected ?? 0);
        }
      }
      assert.ok(drafted > 0, "the lookup predictor drafted tokens");
    });

    it("draft-model speculation gives the same text, and a draft that agrees is accepted", async () => {
      const drafted = start().engine;
      const plain = start().engine;
      // The same file as its own draft: every greedy draft token is the model's own choice.
      drafted.configure(cpuChoice(tiny, { draftModelPath: tiny }));
      plain.configure(cpuChoice(tiny, { lookupDecoding: false }));
      const prompt = await notePrompt(plain, 2, 150);
      const a = await drafted.complete({ prompt, maxTokens: 48, lane: "completion" });
      const b = await plain.complete({ prompt, maxTokens: 48, lane: "completion" });
      assert.equal(a.text, b.text);
      assert.ok((a.draftAccepted ?? 0) > 0, `accepted ${a.draftAccepted}, rejected ${a.draftRejected}`);
    });

    it("stops on a stop string and on cancellation exactly as plain decoding does", async () => {
      const on = start().engine;
      const off = start().engine;
      on.configure(cpuChoice(tiny, { lookupDecoding: true }));
      off.configure(cpuChoice(tiny, { lookupDecoding: false }));
      const prompt = await notePrompt(on, 1, 150);
      // Greedy decoding is deterministic: a piece of the plain run's own output is surely emitted again, so
      // both runs must stop there (not run out of tokens) and agree on the text before it.
      const plain = await off.complete({ prompt, maxTokens: 64, lane: "completion" });
      const trimmed = plain.text.trim();
      assert.ok(trimmed.length >= 6, `the plain run wrote enough to cut a stop string from: ${JSON.stringify(plain.text)}`);
      const stop = trimmed.slice(4, 6);
      const expected = plain.text.slice(0, plain.text.indexOf(stop));
      const a = await on.complete({ prompt, maxTokens: 64, lane: "completion", stop: [stop] });
      const b = await off.complete({ prompt, maxTokens: 64, lane: "completion", stop: [stop] });
      assert.equal(b.stopReason, "stop", `plain decoding stops on ${JSON.stringify(stop)}`);
      assert.equal(b.text, expected, "plain decoding leaves the stop string and what follows out");
      assert.equal(a.stopReason, "stop", `lookup decoding stops on ${JSON.stringify(stop)}`);
      assert.equal(a.text, expected, "lookup decoding gives the same text up to the stop string");
      const controller = new AbortController();
      const cancelled = await on.complete({ prompt: `${prompt} again`, maxTokens: 400, lane: "completion" }, { signal: controller.signal, onText: () => controller.abort() });
      assert.equal(cancelled.stopReason, "aborted");
    });
  });

  it("low-memory mode (weights read in, not mapped) gives the same text", async () => {
    const low = start().engine;
    const mapped = start().engine;
    low.configure(cpuChoice(tiny, { lowMemory: true }));
    mapped.configure(cpuChoice(tiny));
    const prompt = await notePrompt(low, 0, 120);
    const a = await low.complete({ prompt, maxTokens: 32, lane: "general" });
    const b = await mapped.complete({ prompt, maxTokens: 32, lane: "general" });
    assert.equal(a.text, b.text);
  });

  describe("warm starts", () => {
    let cacheDir: string;
    beforeEach(() => {
      cacheDir = mkdtempSync(join(tmpdir(), "bedside-states-"));
    });
    afterEach(() => rmSync(cacheDir, { recursive: true, force: true }));

    async function coldText(prompt: string): Promise<string> {
      const cold = start().engine;
      cold.configure(cpuChoice(tiny));
      return (await cold.complete({ prompt, maxTokens: 24, lane: "completion" })).text;
    }

    /** Completes `prompt` on a fresh engine with the cache and saves the note's state; returns the engine. */
    async function saveNote(prompt: string): Promise<EngineClient> {
      const engine = start().engine;
      engine.configure(cpuChoice(tiny, { stateCacheDir: cacheDir }));
      const first = await engine.complete({ prompt, maxTokens: 8, lane: "completion" });
      assert.equal(first.restoredTokens, 0, "nothing to restore yet");
      // A completion that read 300 tokens saves the note by itself; an explicit save then finds it saved.
      const saved = await engine.saveState("completion");
      assert.equal(saved.saved, false);
      assert.equal(saved.reason, "already saved");
      assert.ok(saved.bytes > 0);
      assert.equal(stateFiles().length, 1);
      return engine;
    }

    function stateFiles(): string[] {
      return readdirSync(cacheDir).filter((f) => f.endsWith(".kv"));
    }

    /** Every state file in the folder matches the size and checksum its metadata records. */
    function assertStatesIntact(message: string): void {
      for (const kv of stateFiles()) {
        const entry = JSON.parse(readFileSync(join(cacheDir, kv.replace(/\.kv$/, ".json")), "utf8")) as { bytes: number; sha256: string };
        const bytes = readFileSync(join(cacheDir, kv));
        assert.equal(bytes.length, entry.bytes, message);
        assert.equal(createHash("sha256").update(bytes).digest("hex"), entry.sha256, message);
      }
    }

    it("restores a saved note after a worker restart: the next completion reads few prompt tokens", async () => {
      const engine = start().engine;
      const prompt = await notePrompt((engine.configure(cpuChoice(tiny)), engine), 2, 300);
      const noteEngine = await saveNote(prompt);
      await noteEngine.restart();
      const next = `${prompt} The`;
      const warm = await noteEngine.complete({ prompt: next, maxTokens: 24, lane: "completion" });
      assert.ok((warm.restoredTokens ?? 0) > 250, `restored ${warm.restoredTokens}`);
      assert.ok(warm.promptTokensEvaluated < 10, `evaluated ${warm.promptTokensEvaluated} prompt tokens`);
      assert.equal(warm.text, await coldText(next), "a restored state gives the same text as reading the note");
    });

    it("restores a saved note on a tokenizer that puts a space before the text (the trained model; Llama and Meditron too)", async () => {
      // SentencePiece with add_space_prefix: the tokens of "text" and of what the completion evaluated differ
      // in their first piece unless the prompt is tokenized as LlamaCompletion does.
      const model = { ...cpuChoice(FIXTURE_MODEL), contextSize: 384 };
      const probe = start().engine;
      probe.configure(model);
      const prompt = await notePrompt(probe, 3, 300);
      const engine = start().engine;
      engine.configure({ ...model, stateCacheDir: cacheDir });
      await engine.complete({ prompt, maxTokens: 8, lane: "completion" });
      await engine.saveState("completion");
      assert.equal(stateFiles().length, 1, "the note's state is saved");
      await engine.restart();
      const next = `${prompt} The`;
      const warm = await engine.complete({ prompt: next, maxTokens: 8, lane: "completion" });
      assert.ok((warm.restoredTokens ?? 0) > 250, `restored ${warm.restoredTokens}`);
      assert.ok(warm.promptTokensEvaluated < 10, `evaluated ${warm.promptTokensEvaluated} prompt tokens`);
      const cold = await probe.complete({ prompt: next, maxTokens: 8, lane: "completion" });
      assert.equal(warm.text, cold.text, "a restored state gives the same text as reading the note");
    });

    it("restores on request when a note is opened, and survives an unload and reload", async () => {
      const engine = start().engine;
      engine.configure(cpuChoice(tiny, { stateCacheDir: cacheDir }));
      const prompt = await notePrompt(engine, 3, 300);
      await engine.complete({ prompt: prompt.slice(0, Math.floor(prompt.length / 2)), maxTokens: 8, lane: "completion" });
      await engine.complete({ prompt, maxTokens: 8, lane: "completion" });
      assert.deepEqual(stateFiles(), [], "short reads are not saved as they come");
      // Unloading saves the completion lane's note by itself.
      await engine.unload();
      assert.equal(stateFiles().length, 1);
      await engine.ensureReady();
      const restored = await engine.restoreState("completion", prompt);
      assert.equal(restored.restored, true, restored.reason);
      assert.ok(restored.tokens > 250);
      const warm = await engine.complete({ prompt, maxTokens: 8, lane: "completion" });
      assert.equal(warm.restoredTokens, 0, "already restored");
      assert.ok(warm.promptTokensEvaluated <= 1, `evaluated ${warm.promptTokensEvaluated}`);
      const other = await engine.restoreState("completion", "A different note entirely.");
      assert.equal(other.restored, false);
    });

    it("rejects a damaged state file and falls back to a cold start", async () => {
      const engine = start().engine;
      engine.configure(cpuChoice(tiny));
      const prompt = await notePrompt(engine, 4, 300);
      const noteEngine = await saveNote(prompt);
      const [kv] = stateFiles();
      const path = join(cacheDir, kv!);
      const bytes = readFileSync(path);
      for (let i = 64; i < bytes.length; i += 97) bytes[i] = bytes[i]! ^ 0x5a;
      writeFileSync(path, bytes);
      await noteEngine.restart();
      const result = await noteEngine.complete({ prompt, maxTokens: 24, lane: "completion" });
      assert.equal(result.restoredTokens, 0);
      assert.ok(result.promptTokensEvaluated > 250, "the note was read again");
      assert.equal(result.text, await coldText(prompt));
      assertStatesIntact("the damaged state was replaced by the one saved after the cold read");
    });

    it("rejects a state file llama.cpp cannot read (valid checksum, truncated) without crashing", async () => {
      const engine = start().engine;
      engine.configure(cpuChoice(tiny));
      const prompt = await notePrompt(engine, 5, 300);
      const noteEngine = await saveNote(prompt);
      const pid = noteEngine.workerPid;
      const [kv] = stateFiles();
      const path = join(cacheDir, kv!);
      const meta = join(cacheDir, kv!.replace(/\.kv$/, ".json"));
      const size = readFileSync(path).length;
      truncateSync(path, Math.floor(size / 2));
      const entry = JSON.parse(readFileSync(meta, "utf8")) as { bytes: number; sha256: string };
      entry.bytes = Math.floor(size / 2);
      entry.sha256 = createHash("sha256").update(readFileSync(path)).digest("hex");
      writeFileSync(meta, JSON.stringify(entry));
      // Restart so the worker reads the folder afresh.
      await noteEngine.restart();
      assert.notEqual(noteEngine.workerPid, pid);
      const restored = await noteEngine.restoreState("completion", prompt);
      assert.equal(restored.restored, false);
      const result = await noteEngine.complete({ prompt, maxTokens: 24, lane: "completion" });
      assert.ok(result.promptTokensEvaluated > 250, "the note was read again");
      assert.equal(result.text, await coldText(prompt));
      assertStatesIntact("the unreadable state was replaced by the one saved after the cold read");
    });

    it("never hands a state saved with one model to another", async () => {
      const engine = start().engine;
      engine.configure(cpuChoice(tiny));
      const prompt = await notePrompt(engine, 6, 300);
      await saveNote(prompt);
      const other = start().engine;
      other.configure(cpuChoice(tinyNoInfill, { stateCacheDir: cacheDir }));
      const result = await other.complete({ prompt, maxTokens: 8, lane: "completion" });
      assert.equal(result.restoredTokens, 0);
      assert.ok(result.promptTokensEvaluated > 250);
      assert.equal(stateFiles().length, 1, "the other model's state stays for that model");
    });
  });
});
