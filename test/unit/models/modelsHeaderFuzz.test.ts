/**
 * Property-based fuzzing of the GGUF header check that guards llama.cpp (issue 3: at least 10,000
 * mutated and truncated files rejected, every generated valid one accepted). Small generated models
 * (~50 KB) keep 10,000+ real files on disk to a few seconds.
 */
import * as assert from "node:assert/strict";
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { GgufFormatError, readGgufHeader } from "../../../src/engine/ggufHeader";
import { writeLlamaTestModel, type TestTensorType } from "../../support/gguf/testModels";
import { invalidValue, walk } from "../../engine/ggufMutations";

describe("GGUF header check under fuzzing", function () {
  this.timeout(300_000);
  let dir: string;
  let valid: Buffer;
  let structure: ReturnType<typeof walk>;
  let fd: number;
  const file = (): string => join(dir, "fuzz.gguf");

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "bedside-fuzz-"));
    await writeLlamaTestModel(join(dir, "small.gguf"), { layers: 1, width: 16, heads: 2, ffn: 32, vocabWords: ["chest", "pain", "fever"] });
    valid = readFileSync(join(dir, "small.gguf"));
    structure = walk(valid);
    fd = openSync(file(), "w+");
  });
  after(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes `bytes` as the whole fuzz file (one file reused: 10,000 runs in seconds). */
  const put = (bytes: Buffer): void => {
    ftruncateSync(fd, 0);
    writeSync(fd, bytes, 0, bytes.length, 0);
  };
  const verdict = async (): Promise<"rejected" | "accepted"> => {
    try {
      const header = await readGgufHeader(file());
      for (const t of header.tensors) assert.ok(BigInt(header.dataOffset) + t.offset + t.bytes <= BigInt(header.fileBytes), "an accepted header keeps tensor data inside the file");
      return "accepted";
    } catch (error) {
      if (!(error instanceof GgufFormatError)) throw error;
      assert.ok(error.message.length > 20 && !/undefined|NaN/.test(error.message), `a clear message: ${error.message}`);
      return "rejected";
    }
  };
  let rejected = 0;

  it("rejects every file cut short (3,500 truncations at random bytes)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: structure.dataEnd - 1 }), async (cut) => {
        put(valid.subarray(0, cut));
        assert.equal(await verdict(), "rejected", `cut at ${cut}`);
        rejected++;
      }),
      { numRuns: 3500, seed: 3001 },
    );
  });

  it("rejects every file with a corrupted structural field (6,500 mutations: counts, lengths, types, dims, offsets)", async () => {
    const kinds = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: structure.fields.length - 1 }), fc.nat(), fc.option(fc.nat({ max: valid.length }), { nil: undefined }), async (index, pick, cut) => {
        const field = structure.fields[index]!;
        const bytes = Buffer.from(cut === undefined ? valid : valid.subarray(0, Math.max(cut, field.at + field.size)));
        const value = invalidValue(field.kind, bytes.length, pick);
        if (field.size === 4) bytes.writeUInt32LE(Number(value & 0xffffffffn), field.at);
        else bytes.writeBigUInt64LE(value, field.at);
        put(bytes);
        assert.equal(await verdict(), "rejected", `${field.kind} at byte ${field.at} set to ${value}`);
        kinds.set(field.kind, (kinds.get(field.kind) ?? 0) + 1);
        rejected++;
      }),
      { numRuns: 6500, seed: 3002 },
    );
    assert.ok(kinds.size >= 10, `field kinds covered: ${[...kinds.keys()].join(", ")}`);
  });

  it("never crashes or hangs on random byte edits in the header (1,000 files), and keeps accepted ones consistent", async () => {
    const headerEnd = structure.fields.at(-1)!.at + 8;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.nat({ max: headerEnd - 1 }), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 }),
        async (edits) => {
          const bytes = Buffer.from(valid);
          for (const { at, value } of edits) bytes[at] = value;
          put(bytes);
          if ((await verdict()) === "accepted") accepted++;
          else rejected++;
        },
      ),
      { numRuns: 1000, seed: 3003 },
    );
    assert.ok(accepted < 1000, "some edits are caught");
  });

  it(`has rejected at least 10,000 mutated or truncated files in all`, () => {
    assert.ok(rejected >= 10_000, `${rejected} rejected`);
  });

  it("accepts every generated valid model (150 shapes, seeds, types and vocabularies)", async () => {
    const tensorTypes: TestTensorType[] = ["f32", "f16", "q4_0"];
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.nat({ max: 1_000_000 }),
          layers: fc.integer({ min: 1, max: 3 }),
          headPairs: fc.integer({ min: 1, max: 2 }),
          gqa: fc.boolean(),
          tensorType: fc.constantFrom(...tensorTypes),
          contextLength: fc.constantFrom(128, 256, 512, 2048),
          infill: fc.boolean(),
          chatTemplate: fc.boolean(),
          words: fc.subarray(["chest", "pain", "fever", "cough", "dyspnoea", "sepsis", "aspirin"], { minLength: 1 }),
        }),
        async (o) => {
          const heads = o.headPairs * 2;
          const path = join(dir, `valid-${n++ % 3}.gguf`);
          await writeLlamaTestModel(path, {
            seed: o.seed,
            layers: o.layers,
            width: 32 * o.headPairs,
            heads,
            ...(o.gqa ? { kvHeads: heads / 2 } : {}),
            ffn: 64,
            contextLength: o.contextLength,
            tensorType: o.tensorType,
            infill: o.infill,
            ...(o.chatTemplate ? {} : { chatTemplate: false as const }),
            vocabWords: o.words,
          });
          const header = await readGgufHeader(path);
          assert.equal(header.tensors.length > 0, true);
        },
      ),
      { numRuns: 150, seed: 3004 },
    );
  });
});
