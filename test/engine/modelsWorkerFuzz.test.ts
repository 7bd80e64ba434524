/**
 * Corrupted and truncated GGUF files sent to the real worker: each is refused with a clear message by the
 * header check before llama.cpp sees it, and the same worker process (no crash, no restart, no hang) then
 * loads a good model. The header check itself is fuzzed with 10,000+ files in test/unit/models/modelsHeaderFuzz.test.ts.
 */
import * as assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { EngineError } from "../../src/engine/engine";
import { ensureTestModel } from "../support/gguf/testModels";
import { cpuChoice, startTestEngine, type TestEngine } from "../support/engineFixture";
import { invalidValue, walk } from "./ggufMutations";

describe("engine worker with fuzzed model files", function () {
  this.timeout(180_000);
  let dir: string;
  let t: TestEngine;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "bedside-wfuzz-"));
    t = startTestEngine();
  });
  after(async () => {
    await t.engine.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses 20 corrupted or truncated files without a crash, restart or hang, then loads a good one", async () => {
    const tiny = await ensureTestModel("tiny");
    const valid = readFileSync(tiny);
    const structure = walk(valid);
    let pid: number | undefined;
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: structure.fields.length - 1 }),
        fc.nat(),
        fc.option(fc.nat({ max: structure.dataEnd - 1 }), { nil: undefined, freq: 3 }),
        async (index, pick, cut) => {
          let bytes: Buffer;
          if (cut !== undefined) bytes = valid.subarray(0, cut);
          else {
            const field = structure.fields[index]!;
            bytes = Buffer.from(valid);
            const value = invalidValue(field.kind, bytes.length, pick);
            if (field.size === 4) bytes.writeUInt32LE(Number(value & 0xffffffffn), field.at);
            else bytes.writeBigUInt64LE(value, field.at);
          }
          const file = join(dir, `bad-${n++}.gguf`);
          writeFileSync(file, bytes);
          t.engine.configure(cpuChoice(file));
          await assert.rejects(t.engine.ensureReady(), (e: unknown) => e instanceof EngineError && e.kind === "invalidModel" && e.message.length > 20);
          pid ??= t.engine.workerPid;
          assert.equal(t.engine.workerPid, pid, "the same worker process");
        },
      ),
      { numRuns: 20, seed: 4001 },
    );
    t.engine.configure(cpuChoice(tiny));
    const result = await t.engine.complete({ prompt: "x", maxTokens: 2, lane: "completion" });
    assert.equal(result.generatedTokens, 2);
    assert.equal(t.engine.workerPid, pid, "still the same worker");
  });
});
