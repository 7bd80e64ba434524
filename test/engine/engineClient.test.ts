/**
 * The real engine: dist/worker.mjs in its own process, node-llama-cpp, generated GGUF models.
 */
import * as assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EngineError, type EngineState } from "../../src/engine/engine";
import { ensureTestModel } from "../support/gguf/testModels";
import { cpuChoice, startTestEngine, type TestEngine } from "../support/engineFixture";

function waitForState(t: TestEngine, kinds: EngineState["kind"][], timeoutMs = 30_000): Promise<EngineState> {
  if (kinds.includes(t.engine.state.kind)) return Promise.resolve(t.engine.state);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`state stayed ${t.engine.state.kind}, wanted ${kinds.join("|")}`)), timeoutMs);
    const sub = t.engine.onDidChangeState((s) => {
      if (kinds.includes(s.kind)) {
        clearTimeout(timer);
        sub.dispose();
        resolve(s);
      }
    });
  });
}

const isEngineError = (kind: EngineError["kind"], pattern?: RegExp) => (e: unknown) => e instanceof EngineError && e.kind === kind && (!pattern || pattern.test(e.message));

describe("engine worker", function () {
  this.timeout(120_000);
  let tiny: string;
  let tinyNoInfill: string;
  let t: TestEngine;

  before(async () => {
    tiny = await ensureTestModel("tiny");
    tinyNoInfill = await ensureTestModel("tiny-no-infill");
  });
  beforeEach(() => {
    t = startTestEngine();
  });
  afterEach(async () => {
    await t.engine.dispose();
  });

  it("loads a model in its own process and reports what it runs", async () => {
    assert.equal(t.engine.workerPid, undefined, "no worker before it is needed");
    t.engine.configure(cpuChoice(tiny));
    const info = await t.engine.ensureReady();
    assert.equal(info.architecture, "llama");
    assert.equal(info.backend, "cpu");
    assert.equal(info.threads, 1);
    assert.equal(info.contextSize, 512);
    assert.equal(info.infillSupported, true);
    assert.match(info.chatTemplate ?? "", /im_start/);
    assert.ok(t.engine.workerPid && t.engine.workerPid !== process.pid, "the model lives in another process");
    assert.equal(t.engine.state.kind, "ready");
  });

  it("streams a completion whose chunks add up to the result", async () => {
    t.engine.configure(cpuChoice(tiny));
    let streamed = "";
    const result = await t.engine.complete({ prompt: "Patient has chest pain and", maxTokens: 24, lane: "completion" }, { onText: (text) => (streamed += text) });
    assert.ok(result.text.length > 0);
    assert.equal(streamed, result.text);
    assert.equal(result.stopReason, "maxTokens");
    assert.equal(result.generatedTokens, 24);
  });

  it("stops before a stop string and leaves it out", async () => {
    t.engine.configure(cpuChoice(tiny));
    const request = { prompt: "Assessment:", maxTokens: 40, lane: "completion" as const };
    const free = await t.engine.complete(request);
    // Greedy decoding is deterministic: stop on a piece from the middle of the free-running output.
    const stop = free.text.slice(Math.floor(free.text.length / 2), Math.floor(free.text.length / 2) + 3);
    const expected = free.text.slice(0, free.text.indexOf(stop));
    const stopped = await t.engine.complete({ ...request, stop: [stop] });
    assert.equal(stopped.stopReason, "stop");
    assert.equal(stopped.text, expected);
  });

  it("never produces banned text (how completions keep digits out)", async () => {
    t.engine.configure(cpuChoice(tiny));
    const request = { prompt: "The patient", maxTokens: 80, lane: "general" as const };
    const free = await t.engine.complete(request);
    const common = [...new Set(free.text.replace(/[^a-z]/g, ""))].slice(0, 3);
    assert.ok(common.length > 0, "the free output has letters to ban");
    const banned = await t.engine.complete({ ...request, bannedTexts: common });
    for (const letter of common) assert.ok(!banned.text.includes(letter), `"${letter}" in ${JSON.stringify(banned.text)}`);
  });

  it("cancels a generation in flight and returns what it had", async () => {
    t.engine.configure(cpuChoice(tiny));
    await t.engine.ensureReady();
    const controller = new AbortController();
    let chunks = 0;
    const result = await t.engine.complete(
      { prompt: "Plan:", maxTokens: 100_000, lane: "completion" },
      { signal: controller.signal, onText: () => ++chunks === 1 && controller.abort() },
    );
    assert.equal(result.stopReason, "aborted");
    assert.ok(result.generatedTokens < 100_000);
    // The lane is free again at once.
    const next = await t.engine.complete({ prompt: "Plan:", maxTokens: 4, lane: "completion" });
    assert.equal(next.generatedTokens, 4);
  });

  it("reuses the KV cache when the prompt grows", async () => {
    t.engine.configure(cpuChoice(tiny));
    const prompt = "Chief complaint: chest pain. History: the patient reports pain in the chest for two days";
    const first = await t.engine.complete({ prompt, maxTokens: 1, lane: "completion" });
    const second = await t.engine.complete({ prompt: prompt + " with", maxTokens: 1, lane: "completion" });
    assert.equal(first.promptTokensEvaluated, first.promptTokens);
    assert.ok(second.promptTokensEvaluated <= 3, `re-evaluated ${second.promptTokensEvaluated} of ${second.promptTokens} tokens`);
  });

  it("fills in the middle when the model supports it, and says so when it does not", async () => {
    t.engine.configure(cpuChoice(tiny));
    const filled = await t.engine.infill({ prefix: "Blood pressure was ", suffix: " on arrival.", maxTokens: 8, lane: "completion" });
    assert.ok(filled.generatedTokens > 0);
    t.engine.configure(cpuChoice(tinyNoInfill));
    await assert.rejects(t.engine.infill({ prefix: "a", suffix: "b", maxTokens: 4, lane: "completion" }), isEngineError("unsupported", /fill-in-the-middle/));
  });

  it("generates JSON that follows a schema", async () => {
    t.engine.configure(cpuChoice(tiny));
    const schema = {
      type: "object",
      properties: { diagnosis: { type: "string", maxLength: 24 }, likelihood: { enum: ["high", "moderate", "low"] } },
      required: ["diagnosis", "likelihood"],
    };
    const result = await t.engine.json({ prompt: "Differential:", schema, maxTokens: 80, lane: "general", asciiOnly: true });
    const value = result.value as { diagnosis: unknown; likelihood: unknown };
    assert.equal(typeof value.diagnosis, "string");
    assert.ok(["high", "moderate", "low"].includes(value.likelihood as string));
  });

  it("counts tokens and embeds text", async () => {
    t.engine.configure(cpuChoice(tiny));
    const tokens = await t.engine.tokenize("Patient has chest pain.");
    assert.ok(tokens.count > 0 && tokens.count === tokens.tokens.length);
    const { vectors } = await t.engine.embed(["chest pain", "ankle sprain"]);
    assert.equal(vectors.length, 2);
    assert.equal(vectors[0]!.length, 64);
    assert.notDeepEqual(vectors[0], vectors[1]);
  });

  it("survives kill -9 during a streamed completion: clear error, new worker, next request works", async () => {
    t.engine.configure(cpuChoice(tiny));
    await t.engine.ensureReady();
    const firstPid = t.engine.workerPid!;
    let killed = false;
    const inFlight = t.engine.complete(
      { prompt: "History of present illness:", maxTokens: 100_000, lane: "completion" },
      {
        onText: () => {
          if (!killed) {
            killed = true;
            process.kill(firstPid, "SIGKILL");
          }
        },
      },
    );
    await assert.rejects(inFlight, isEngineError("crashed", /killed \(SIGKILL\).*restarts by itself/));
    assert.ok(killed);
    await waitForState(t, ["ready"]);
    assert.notEqual(t.engine.workerPid, firstPid, "a new worker came back");
    const next = await t.engine.complete({ prompt: "History:", maxTokens: 5, lane: "completion" });
    assert.equal(next.generatedTokens, 5);
    assert.ok(
      t.logLines.some((l) => /killed \(SIGKILL\)/.test(l)),
      "the log says what happened",
    );
  });

  it("stops restarting after repeated crashes, and tries again when asked", async () => {
    t.engine = startTestEngine({ restartDelaysMs: [10], maxConsecutiveCrashes: 2 }).engine;
    t.engine.configure(cpuChoice(tiny));
    for (let i = 0; i < 2; i++) {
      await t.engine.ensureReady();
      const pid = t.engine.workerPid!;
      process.kill(pid, "SIGKILL");
      await waitForState(t, i === 0 ? ["restarting"] : ["error"]);
    }
    await assert.rejects(t.engine.complete({ prompt: "x", maxTokens: 1, lane: "completion" }), isEngineError("crashed", /crashed 2 times in a row/));
    t.engine.retry();
    const ok = await t.engine.complete({ prompt: "x", maxTokens: 1, lane: "completion" });
    assert.equal(ok.generatedTokens, 1);
  });

  it("keeps restarting a worker that answered before it crashed (not a crash loop)", async () => {
    await t.engine.dispose();
    t = startTestEngine({ restartDelaysMs: [10], maxConsecutiveCrashes: 2 });
    t.engine.configure(cpuChoice(tiny));
    for (let i = 0; i < 3; i++) {
      const answered = await t.engine.complete({ prompt: "History:", maxTokens: 1, lane: "completion" });
      assert.equal(answered.generatedTokens, 1, `answer ${i + 1}`);
      process.kill(t.engine.workerPid!, "SIGKILL");
      await waitForState(t, ["restarting"]);
    }
    const ok = await t.engine.complete({ prompt: "x", maxTokens: 1, lane: "completion" });
    assert.equal(ok.generatedTokens, 1);
    assert.ok(t.logLines.filter((l) => /crash 1 in a row/.test(l)).length === 3, "each crash counted as the first");
  });

  it("unloads the model after the idle time and loads it again when needed", async () => {
    t.engine = startTestEngine({ idleUnloadMs: 200 }).engine;
    t.engine.configure(cpuChoice(tiny));
    await t.engine.complete({ prompt: "x", maxTokens: 1, lane: "completion" });
    await waitForState(t, ["idle"], 5000);
    const again = await t.engine.complete({ prompt: "x", maxTokens: 1, lane: "completion" });
    assert.equal(again.generatedTokens, 1);
  });

  it("stops the worker on dispose", async () => {
    t.engine.configure(cpuChoice(tiny));
    await t.engine.ensureReady();
    const pid = t.engine.workerPid!;
    await t.engine.dispose();
    assert.throws(() => process.kill(pid, 0), /ESRCH/);
  });
});

describe("engine worker with bad model files", function () {
  this.timeout(120_000);
  let dir: string;
  let t: TestEngine;
  let tiny: string;

  before(async () => {
    tiny = await ensureTestModel("tiny");
    dir = mkdtempSync(join(tmpdir(), "bedside-bad-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => (t = startTestEngine()));
  afterEach(() => t.engine.dispose());

  const cases: [string, () => string, RegExp][] = [
    [
      "a truncated file",
      () => {
        const p = join(dir, "truncated.gguf");
        const bytes = readFileSync(tiny);
        writeFileSync(p, bytes.subarray(0, Math.floor(bytes.length / 2)));
        return p;
      },
      /truncated/,
    ],
    [
      "a corrupt file (random bytes after the magic)",
      () => {
        const p = join(dir, "corrupt.gguf");
        const bytes = Buffer.from(readFileSync(tiny));
        for (let i = 8; i < 4096; i++) bytes[i] = (i * 7919) % 251;
        writeFileSync(p, bytes);
        return p;
      },
      /corrupt|truncated|claims/,
    ],
    [
      "a file that is not a model",
      () => {
        const p = join(dir, "note.gguf");
        writeFileSync(p, "SUBJECTIVE: chest pain\n".repeat(100));
        return p;
      },
      /not a GGUF model file/,
    ],
    ["a missing file", () => join(dir, "missing.gguf"), /no file at/],
    [
      "a folder",
      () => {
        const p = join(dir, "models.gguf");
        mkdirSync(p, { recursive: true });
        return p;
      },
      /is a folder/,
    ],
  ];

  for (const [name, make, message] of cases) {
    it(`refuses ${name} with a clear message and keeps the worker alive`, async () => {
      t.engine.configure(cpuChoice(make()));
      await assert.rejects(t.engine.ensureReady(), isEngineError("invalidModel", message));
      const pid = t.engine.workerPid;
      assert.ok(pid);
      assert.equal(t.engine.state.kind, "error");
      // The same worker then loads a good model.
      t.engine.configure(cpuChoice(tiny));
      const result = await t.engine.complete({ prompt: "x", maxTokens: 2, lane: "completion" });
      assert.equal(result.generatedTokens, 2);
      assert.equal(t.engine.workerPid, pid, "the worker did not restart");
    });
  }

  it("says there is no model when none is configured", async () => {
    await assert.rejects(t.engine.complete({ prompt: "x", maxTokens: 1, lane: "completion" }), isEngineError("noModel", /Choose Model File/));
  });
});
