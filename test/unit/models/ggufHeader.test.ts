import * as assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { GgufFormatError, ggufArchitecture, ggufContextLength, readGgufHeader } from "../../../src/engine/ggufHeader";
import { writeLlamaTestModel } from "../../support/gguf/testModels";

describe("GGUF header check", function () {
  this.timeout(60_000);
  let dir: string;
  let valid: Buffer;
  let validPath: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "bedside-gguf-"));
    validPath = join(dir, "valid.gguf");
    await writeLlamaTestModel(validPath, { seed: 7 });
    valid = readFileSync(validPath);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, bytes: Uint8Array): string => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };
  const rejects = async (p: string, pattern: RegExp): Promise<void> => {
    await assert.rejects(readGgufHeader(p), (e: unknown) => e instanceof GgufFormatError && pattern.test(e.message));
  };

  it("accepts a generated model and reads its facts", async () => {
    const header = await readGgufHeader(validPath);
    assert.equal(header.version, 3);
    assert.equal(ggufArchitecture(header), "llama");
    assert.equal(ggufContextLength(header), 512);
    assert.ok(header.tensorCount > 5);
    assert.equal(header.dataOffset % 32, 0);
  });

  it("rejects a file that is not GGUF", async () => {
    await rejects(write("text.gguf", Buffer.from("Patient notes, not a model. ".repeat(10))), /not a GGUF model file/);
  });

  it("rejects a truncated download and says so", async () => {
    await rejects(write("truncated.gguf", valid.subarray(0, Math.floor(valid.length * 0.6))), /truncated/);
  });

  it("rejects a file cut inside its header", async () => {
    await rejects(write("cut.gguf", valid.subarray(0, 200)), /truncated|ends at byte/);
  });

  it("rejects an absurd tensor count", async () => {
    const bad = Buffer.from(valid);
    bad.writeBigUInt64LE(1n << 50n, 8);
    await rejects(write("count.gguf", bad), /claims \d+ tensors/);
  });

  it("rejects an unsupported version", async () => {
    const bad = Buffer.from(valid);
    bad.writeUInt32LE(99, 4);
    await rejects(write("version.gguf", bad), /version 99/);
  });

  it("rejects a missing file and a folder with their own messages", async () => {
    await rejects(join(dir, "nope.gguf"), /no file at/);
    mkdirSync(join(dir, "folder.gguf"));
    await rejects(join(dir, "folder.gguf"), /is a folder/);
  });

  it("never throws anything but a GgufFormatError on mutated or truncated files", async () => {
    // The property: whatever bytes change, the check ends quickly with a verdict, never a crash.
    const headerEnd = Math.min(valid.length, (await readGgufHeader(validPath)).dataOffset + 64);
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.nat({ max: headerEnd - 1 }), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 }),
        fc.option(fc.nat({ max: valid.length }), { nil: undefined }),
        async (edits, cut) => {
          const bytes = Buffer.from(cut === undefined ? valid : valid.subarray(0, cut));
          for (const { at, value } of edits) if (at < bytes.length) bytes[at] = value;
          const p = write(`fuzz-${n++ % 4}.gguf`, bytes);
          try {
            await readGgufHeader(p);
          } catch (error) {
            if (!(error instanceof GgufFormatError)) throw error;
          }
        },
      ),
      { numRuns: 300, seed: 20261122 },
    );
  });
});
