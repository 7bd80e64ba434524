/**
 * The model file changes under a loaded model: deleted, overwritten in place with garbage (the pages the
 * worker has mapped change under it), or replaced by another model. No hang; a clear message when it
 * cannot load; and it works again once a good file is back.
 */
import * as assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, renameSync, rmSync, writeFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EngineError } from "../../src/engine/engine";
import { cpuChoice, startTestEngine, type TestEngine } from "../support/engineFixture";
import { ensureTestModel } from "../support/gguf/testModels";
import { isClearMessage, record, settle, tally } from "./tally";

describe("resilience: the model file changes while it is loaded", function () {
  this.timeout(10 * 60_000);
  let t: TestEngine;
  let dir: string;
  let tiny: string;
  let tinyNoInfill: string;
  const problems: string[] = [];

  before(async () => {
    tiny = await ensureTestModel("tiny");
    tinyNoInfill = await ensureTestModel("tiny-no-infill");
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "bedside-model-fault-"));
    t = startTestEngine({ restartDelaysMs: [20], maxConsecutiveCrashes: 100 });
  });
  afterEach(async () => {
    await t.engine.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  after(() => {
    record("model file", "deleted, overwritten in place, replaced while loaded", 3);
  });

  /** A request after the fault: fine, or a clear EngineError; never a hang or an internal error. */
  async function expectNoHangAndClear(what: string, request: () => Promise<unknown>): Promise<"ok" | "error"> {
    const outcome = await settle(request(), 60_000);
    if (outcome.kind === "hang") {
      tally.hangs++;
      problems.push(`${what}: hung`);
      return "error";
    }
    if (outcome.kind === "error") {
      const e = outcome.error;
      if (!(e instanceof EngineError) || !isClearMessage(e.message)) {
        tally.unclearMessages++;
        problems.push(`${what}: unclear error ${String(e)}`);
      }
      return "error";
    }
    return "ok";
  }

  async function expectRecovery(what: string): Promise<void> {
    t.engine.retry();
    const outcome = await settle(t.engine.complete({ prompt: "Plan:", maxTokens: 3, lane: "completion" }), 60_000);
    if (outcome.kind !== "ok") {
      tally.notRecovered++;
      problems.push(`${what}: did not recover (${outcome.kind === "error" ? String(outcome.error) : "hang"})`);
    }
  }

  it("deleted: keeps answering from memory, says the file is missing on reload, works when it is back", async () => {
    const file = join(dir, "model.gguf");
    copyFileSync(tiny, file);
    t.engine.configure(cpuChoice(file));
    await t.engine.ensureReady();
    rmSync(file);
    tally.faults++;
    await expectNoHangAndClear("complete after delete", () => t.engine.complete({ prompt: "Assessment:", maxTokens: 5, lane: "completion" }));
    await t.engine.unload();
    const reload = await settle(t.engine.ensureReady(), 60_000);
    assert.equal(reload.kind, "error", "a deleted model cannot load");
    const e = (reload as { error: unknown }).error;
    assert.ok(e instanceof EngineError && isClearMessage(e.message), String(e));
    assert.match((e as EngineError).message, /no file at|not found|missing|does not exist/i);
    copyFileSync(tiny, file);
    await expectRecovery("file restored");
    assert.deepEqual(problems, []);
  });

  it("overwritten in place with garbage: no hang, a clear message, and it works once the file is good again", async () => {
    const file = join(dir, "model.gguf");
    copyFileSync(tiny, file);
    t.engine.configure(cpuChoice(file));
    await t.engine.ensureReady();
    // Same inode, new bytes: the mapped pages change under the worker (it may crash with SIGBUS).
    const size = statSync(file).size;
    writeFileSync(file, Buffer.alloc(Math.floor(size / 3), 0x5a));
    tally.faults++;
    for (let i = 0; i < 3; i++) await expectNoHangAndClear(`complete ${i} after overwrite`, () => t.engine.complete({ prompt: "History:", maxTokens: 5, lane: "completion" }));
    await t.engine.unload();
    const reload = await settle(t.engine.ensureReady(), 60_000);
    assert.equal(reload.kind, "error", "garbage cannot load");
    const e = (reload as { error: unknown }).error;
    assert.ok(e instanceof EngineError && isClearMessage(e.message), String(e));
    copyFileSync(tiny, file);
    await expectRecovery("file restored after overwrite");
    assert.deepEqual(problems, []);
  });

  it("replaced by another model (rename over it): the old one keeps working, the new one is used after a reload", async () => {
    const file = join(dir, "model.gguf");
    copyFileSync(tiny, file);
    t.engine.configure(cpuChoice(file));
    const before = await t.engine.ensureReady();
    assert.equal(before.infillSupported, true);
    const incoming = join(dir, "incoming.gguf");
    copyFileSync(tinyNoInfill, incoming);
    renameSync(incoming, file);
    tally.faults++;
    assert.equal(
      await expectNoHangAndClear("infill after replace", () => t.engine.infill({ prefix: "BP ", suffix: " today.", maxTokens: 4, lane: "completion" })),
      "ok",
      "the loaded model is unaffected",
    );
    await t.engine.restart();
    const after = await t.engine.ensureReady();
    assert.equal(after.infillSupported, false, "the replacement is what runs now");
    assert.deepEqual(problems, []);
  });
});
