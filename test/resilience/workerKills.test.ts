/**
 * SIGKILL of the engine worker at random moments during completion, infill, JSON and embeddings (and while
 * a model loads): every request in flight ends within its deadline with the result or a clear message,
 * and the next request works. BEDSIDE_RESILIENCE_KILLS sets how many (default 56); the seed is printed.
 */
import * as assert from "node:assert/strict";
import { EngineError } from "../../src/engine/engine";
import { cpuChoice, startTestEngine, type TestEngine } from "../support/engineFixture";
import { ensureTestModel } from "../support/gguf/testModels";
import { mulberry32 as random } from "../support/seededRandom";
import { isClearMessage, killWorkerAfter, record, settle, tally } from "./tally";

const KILLS = Number(process.env.BEDSIDE_RESILIENCE_KILLS ?? 56);
const SEED = Number(process.env.BEDSIDE_RESILIENCE_SEED ?? Date.now() % 100_000);

type Operation = "complete" | "infill" | "json" | "embed" | "load";
const OPERATIONS: readonly Operation[] = ["complete", "infill", "json", "embed", "load"];

describe("resilience: worker killed at random moments", function () {
  this.timeout(30 * 60_000);
  let t: TestEngine;
  let tiny: string;

  before(async () => {
    tiny = await ensureTestModel("tiny");
    // Recovery is what is tested here; the crash-loop stop is tested in test/engine.
    t = startTestEngine({ restartDelaysMs: [20], maxConsecutiveCrashes: 10_000 });
    t.engine.configure(cpuChoice(tiny));
    await t.engine.ensureReady();
  });
  after(async () => {
    await t?.engine.dispose();
  });

  it(`survives ${KILLS} SIGKILLs spread over completion, infill, JSON, embeddings and loading`, async () => {
    console.log(`    seed ${SEED} (BEDSIDE_RESILIENCE_SEED=${SEED} replays it)`);
    const next = random(SEED);
    const perOperation = new Map<Operation, { kills: number; answeredFirst: number; crashedClearly: number }>();
    const problems: string[] = [];
    for (let i = 0; i < KILLS; i++) {
      const op = OPERATIONS[i % OPERATIONS.length]!;
      const delayMs = Math.floor(next() * 60);
      const stats = perOperation.get(op) ?? { kills: 0, answeredFirst: 0, crashedClearly: 0 };
      perOperation.set(op, stats);

      // Be sure a worker is there to kill, then start the operation and kill it a random moment later.
      const ready = await settle(t.engine.ensureReady(), 60_000);
      if (ready.kind !== "ok") {
        problems.push(`kill ${i}: engine not ready before the kill (${ready.kind === "hang" ? "hang" : String((ready as { error: unknown }).error)})`);
        if (ready.kind === "hang") tally.hangs++;
        tally.notRecovered++;
        continue;
      }
      if (op === "load") t.engine.configure(cpuChoice(tiny, { contextSize: i % 2 ? 512 : 384 }));
      const request: Promise<unknown> =
        op === "complete"
          ? t.engine.complete({ prompt: "Patient presents with", maxTokens: 300, lane: "completion" })
          : op === "infill"
            ? t.engine.infill({ prefix: "Blood pressure was ", suffix: " on arrival.", maxTokens: 300, lane: "completion" })
            : op === "json"
              ? t.engine.json({
                  prompt: "Differential:",
                  schema: { type: "object", properties: { d: { type: "string", maxLength: 200 } }, required: ["d"] },
                  maxTokens: 300,
                  lane: "general",
                  asciiOnly: true,
                })
              : op === "embed"
                ? t.engine.embed(Array.from({ length: 16 }, (_, k) => `chest pain and dyspnoea, note ${k}`))
                : t.engine.ensureReady();
      const pid = await killWorkerAfter(t.engine, delayMs);
      stats.kills++;
      tally.faults++;

      const outcome = await settle(request, 30_000);
      if (outcome.kind === "hang") {
        tally.hangs++;
        problems.push(`kill ${i} (${op}, ${delayMs} ms): the request hung`);
      } else if (outcome.kind === "ok") {
        stats.answeredFirst++;
      } else {
        const e = outcome.error;
        if (e instanceof EngineError && isClearMessage(e.message)) stats.crashedClearly++;
        else {
          tally.unclearMessages++;
          problems.push(`kill ${i} (${op}): unclear error ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
        }
      }

      // Recovery: the next request works. "Next" means after the client has seen the worker go: a request
      // sent in the microseconds between the kill and the exit event is in flight on a dead worker.
      for (const deadline = Date.now() + 10_000; pid !== undefined && t.engine.workerPid === pid && Date.now() < deadline;) {
        await new Promise((r) => setTimeout(r, 10));
      }
      const after = await settle(t.engine.complete({ prompt: "Plan:", maxTokens: 3, lane: "completion" }), 60_000);
      if (after.kind !== "ok") {
        tally.notRecovered++;
        if (after.kind === "hang") tally.hangs++;
        problems.push(`kill ${i} (${op}): no recovery (${after.kind === "hang" ? "hang" : String((after as { error: unknown }).error)})`);
      }
    }
    for (const [op, s] of perOperation) {
      record("engine worker", `SIGKILL during ${op}`, s.kills);
      console.log(
        `    ${op.padEnd(8)} kills ${String(s.kills).padStart(3)}  answered before the kill ${String(s.answeredFirst).padStart(3)}  failed with a clear message ${String(s.crashedClearly).padStart(3)}`,
      );
    }
    assert.deepEqual(problems, []);
    assert.ok(KILLS < 50 || tally.faults >= 50, "at least 50 kills in a full run");
  });
});
