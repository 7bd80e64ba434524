/**
 * The GGUF header check, limit by limit: every value type, every bound (at the bound and one past it), every
 * message a clinician may read, on files written byte by byte here. Written so a mutation of
 * src/engine/ggufHeader.ts fails one of them (npm run test:mutation -- --mutate src/engine/ggufHeader.ts).
 */
import * as assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  GGML_TYPE_SIZES,
  GgufFormatError,
  ggufArchitecture,
  ggufContextLength,
  ggufNumber,
  ggufString,
  readGgufHeader,
  tensorBytes,
  type GgufHeader,
} from "../../../src/engine/ggufHeader";

/** Little-endian GGUF bytes, written field by field (so a test can write what no converter would). */
class Bytes {
  private readonly parts: Buffer[] = [];
  get length(): number {
    return this.parts.reduce((n, p) => n + p.length, 0);
  }
  raw(b: Buffer | string): this {
    this.parts.push(typeof b === "string" ? Buffer.from(b, "latin1") : b);
    return this;
  }
  u8(v: number): this {
    const b = Buffer.alloc(1);
    b.writeUInt8(v);
    return this.raw(b);
  }
  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    return this.raw(b);
  }
  u64(v: bigint | number): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    return this.raw(b);
  }
  str(s: string): this {
    const b = Buffer.from(s, "utf8");
    return this.u64(b.length).raw(b);
  }
  /** A metadata entry: key, value type, then what `value` writes. */
  kv(key: string, type: number, value: (w: this) => void): this {
    this.str(key).u32(type);
    value(this);
    return this;
  }
  tensor(name: string, dims: Array<bigint | number>, type: number, offset: bigint | number): this {
    this.str(name).u32(dims.length);
    for (const d of dims) this.u64(d);
    return this.u32(type).u64(offset);
  }
  /** Zero bytes up to the next multiple of `alignment`, then `data` bytes. */
  data(alignment: number, data: number): this {
    const pad = (alignment - (this.length % alignment)) % alignment;
    return this.raw(Buffer.alloc(pad + data));
  }
  buffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const start = (tensors: bigint | number, kvs: bigint | number, version = 3): Bytes => new Bytes().raw("GGUF").u32(version).u64(tensors).u64(kvs);

/** One F32 tensor of 8 floats (32 bytes) at offset 0, aligned to 32: a complete small file. */
const oneTensor = (w: Bytes): Bytes => w.tensor("t", [8], 0, 0).data(32, 32);

describe("GGUF header check: values, bounds and messages", function () {
  this.timeout(60_000);
  let dir: string;
  let n = 0;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "bedside-gguf-checks-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const file = (bytes: Buffer): string => {
    const p = join(dir, `f${n++}.gguf`);
    writeFileSync(p, bytes);
    return p;
  };
  const read = (w: Bytes): Promise<GgufHeader> => readGgufHeader(file(w.buffer()));
  const message = async (w: Bytes | Buffer): Promise<string> => {
    try {
      await readGgufHeader(file(w instanceof Bytes ? w.buffer() : w));
    } catch (error) {
      assert.ok(error instanceof GgufFormatError, `not a GgufFormatError: ${String(error)}`);
      assert.equal(error.name, "GgufFormatError");
      return error.message;
    }
    assert.fail("the file was accepted");
  };

  it("reads every scalar type with its value and sign", async () => {
    const w = start(1, 14)
      .kv("u8", 0, (b) => b.u8(200))
      .kv("i8", 1, (b) => b.u8(0xfb))
      .kv("u16", 2, (b) => b.raw(Buffer.from([0x10, 0xc0])))
      .kv("i16", 3, (b) => b.raw(Buffer.from([0xd4, 0xfe])))
      .kv("u32", 4, (b) => b.u32(4_000_000_000))
      .kv("i32", 5, (b) => b.u32(0xfffeee90))
      .kv("f32", 6, (b) => { const x = Buffer.alloc(4); x.writeFloatLE(1.5); b.raw(x); })
      .kv("true", 7, (b) => b.u8(1))
      .kv("false", 7, (b) => b.u8(0))
      .kv("string", 8, (b) => b.str("llama ✓"))
      .kv("u64", 10, (b) => b.u64(2n ** 63n + 5n))
      .kv("i64", 11, (b) => b.u64(2n ** 64n - 5n))
      .kv("f64", 12, (b) => { const x = Buffer.alloc(8); x.writeDoubleLE(0.1); b.raw(x); })
      .kv("general.architecture", 8, (b) => b.str("llama"));
    const h = await read(oneTensor(w));
    assert.deepEqual(Object.fromEntries(h.metadata), {
      u8: 200, i8: -5, u16: 0xc010, i16: -300, u32: 4_000_000_000, i32: -70_000, f32: 1.5, true: true, false: false,
      string: "llama ✓", u64: 2n ** 63n + 5n, i64: -5n, f64: 0.1, "general.architecture": "llama",
    });
    assert.equal(h.version, 3);
    assert.equal(h.tensorCount, 1);
  });

  it("keeps arrays of up to 64 items and summarises longer ones, still checking them", async () => {
    const i32s = (count: number) => (b: Bytes) => {
      b.u32(5).u64(count);
      for (let i = 0; i < count; i++) b.u32(i);
    };
    const strs = (count: number) => (b: Bytes) => {
      b.u32(8).u64(count);
      for (let i = 0; i < count; i++) b.str(`w${i}`);
    };
    const w = start(1, 6)
      .kv("i32.64", 9, i32s(64))
      .kv("i32.65", 9, i32s(65))
      .kv("str.2", 9, strs(2))
      .kv("str.65", 9, strs(65))
      .kv("bool.65", 9, (b) => { b.u32(7).u64(65); for (let i = 0; i < 65; i++) b.u8(i % 2); })
      .kv("u8.0", 9, (b) => b.u32(0).u64(0));
    const h = await read(oneTensor(w));
    assert.deepEqual(h.metadata.get("i32.64"), { arrayOf: "i32", length: 64, items: Array.from({ length: 64 }, (_, i) => i) });
    assert.deepEqual(h.metadata.get("i32.65"), { arrayOf: "i32", length: 65 });
    assert.deepEqual(h.metadata.get("str.2"), { arrayOf: "string", length: 2, items: ["w0", "w1"] });
    assert.deepEqual(h.metadata.get("str.65"), { arrayOf: "string", length: 65 });
    assert.deepEqual(h.metadata.get("bool.65"), { arrayOf: "bool", length: 65 });
    assert.deepEqual(h.metadata.get("u8.0"), { arrayOf: "u8", length: 0, items: [] });
    const names = await read(oneTensor(start(1, 13).kv("a0", 9, (b) => b.u32(0).u64(0)).kv("a1", 9, (b) => b.u32(1).u64(0)).kv("a2", 9, (b) => b.u32(2).u64(0))
      .kv("a3", 9, (b) => b.u32(3).u64(0)).kv("a4", 9, (b) => b.u32(4).u64(0)).kv("a5", 9, (b) => b.u32(5).u64(0)).kv("a6", 9, (b) => b.u32(6).u64(0))
      .kv("a7", 9, (b) => b.u32(7).u64(0)).kv("a8", 9, (b) => b.u32(8).u64(0)).kv("a10", 9, (b) => b.u32(10).u64(0)).kv("a11", 9, (b) => b.u32(11).u64(0))
      .kv("a12", 9, (b) => b.u32(12).u64(0)).kv("u8s", 9, (b) => b.u32(0).u64(3).u8(1).u8(2).u8(3))));
    assert.deepEqual([...names.metadata.values()].map((v) => (typeof v === "object" && "arrayOf" in v ? v.arrayOf : "?")),
      ["u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "u64", "i64", "f64", "u8"]);
    assert.deepEqual(names.metadata.get("u8s"), { arrayOf: "u8", length: 3, items: [1, 2, 3] });
  });

  it("rejects a long boolean array holding a value other than 0 or 1", async () => {
    const w = start(1, 1).kv("flags", 9, (b) => { b.u32(7).u64(70); for (let i = 0; i < 70; i++) b.u8(i === 69 ? 2 : 0); });
    assert.equal(await message(oneTensor(w)), "item 69 of 'flags' is a boolean with value 2; the file is corrupt");
  });

  it("names unknown value types and arrays of arrays", async () => {
    assert.equal(await message(oneTensor(start(1, 1).kv("k", 13, (b) => b.u8(0)))), "the value of 'k' has an unknown value type 13; the file is corrupt");
    assert.equal(await message(oneTensor(start(1, 1).kv("k", 9, (b) => b.u32(9).u64(1)))), "'k' is an array of unknown type 9; the file is corrupt");
    assert.equal(await message(oneTensor(start(1, 1).kv("k", 9, (b) => b.u32(13).u64(1)))), "'k' is an array of unknown type 13; the file is corrupt");
    assert.equal(await message(oneTensor(start(1, 1).kv("k", 7, (b) => b.u8(3)))), "the value of 'k' is a boolean with value 3; the file is corrupt");
  });

  it("bounds array lengths at 64 Mi items", async () => {
    // Exactly the bound passes the count check and then runs out of file; one more is refused outright.
    assert.match(await message(oneTensor(start(1, 1).kv("big", 9, (b) => b.u32(0).u64(64 * 1024 * 1024)))), /while reading the items of 'big' at byte \d+: it is truncated/);
    assert.equal(await message(oneTensor(start(1, 1).kv("big", 9, (b) => b.u32(0).u64(64 * 1024 * 1024 + 1)))), "'big' claims 67108865 items; the file is corrupt");
  });

  it("bounds string and key lengths", async () => {
    const longKey = "k".repeat(64 * 1024);
    const h = await read(oneTensor(start(1, 1).kv(longKey, 4, (b) => b.u32(1))));
    assert.equal(h.metadata.get(longKey), 1);
    assert.equal(await message(oneTensor(start(1, 1).kv(`${longKey}k`, 4, (b) => b.u32(1)))), "metadata key 0 claims a length of 65537 bytes at byte 24; the file is corrupt");
    assert.match(await message(oneTensor(start(1, 1).kv("s", 8, (b) => b.u64(64 * 1024 * 1024)))), /while reading the value of 's' at byte 45: it is truncated/);
    assert.equal(await message(oneTensor(start(1, 1).kv("s", 8, (b) => b.u64(64 * 1024 * 1024 + 1)))), "the value of 's' claims a length of 67108865 bytes at byte 37; the file is corrupt");
    assert.equal(await message(start(1, 0).str("t".repeat(64 * 1024 + 1)).data(32, 32)), "the name of tensor 0 claims a length of 65537 bytes at byte 24; the file is corrupt");
  });

  it("reads values across its 1 MiB read chunks", async () => {
    const big = "x".repeat(1_500_000);
    const h = await read(oneTensor(start(1, 3).kv("a", 8, (b) => b.str(big)).kv("b", 4, (b) => b.u32(77)).kv("c", 8, (b) => b.str(big.slice(0, 700_000)))));
    assert.equal(h.metadata.get("a"), big);
    assert.equal(h.metadata.get("b"), 77);
    assert.equal((h.metadata.get("c") as string).length, 700_000);
  });

  it("checks the size, magic, version and counts of the file", async () => {
    assert.equal(await message(Buffer.from("GGUF\x03\x00\x00\x00", "latin1")), "the file is only 8 bytes long; a GGUF model is at least megabytes");
    assert.equal(await message(Buffer.alloc(23)), "the file is only 23 bytes long; a GGUF model is at least megabytes");
    assert.equal(await message(start(0, 0)), "the header claims 0 tensors; the file is corrupt", "24 bytes are read, not refused for size");
    assert.match(await message(new Bytes().raw("GGUG").u32(3).u64(1).u64(0)), /^this is not a GGUF model file \(it does not start with "GGUF"\)/);
    assert.match(await message(start(1, 0, 1)), /^GGUF version 1 is not supported \(versions 2 and 3 are\)/);
    assert.match(await message(start(1, 0, 4)), /^GGUF version 4 is not supported/);
    assert.equal((await read(oneTensor(start(1, 0, 2)))).version, 2);
    assert.equal(await message(start(1_000_001, 0)), "the header claims 1000001 tensors; the file is corrupt");
    assert.match(await message(start(1_000_000, 0)), /ends at byte 24 while reading the length of the name of tensor 0 at byte 24/);
    assert.equal(await message(start(1, 1_000_001)), "the header claims 1000001 metadata entries; the file is corrupt");
    assert.match(await message(start(1, 1_000_000)), /ends at byte 24 while reading the length of metadata key 0 at byte 24/);
  });

  it("says where a file ends early", async () => {
    const full = oneTensor(start(1, 1).kv("general.architecture", 8, (b) => b.str("llama"))).buffer();
    assert.equal(await message(full.subarray(0, 30)), "the file ends at byte 30 while reading the length of metadata key 0 at byte 24: it is truncated (an incomplete download?)");
    assert.equal(await message(full.subarray(0, 54)), "the file ends at byte 54 while reading the type of 'general.architecture' at byte 52: it is truncated (an incomplete download?)");
    assert.equal(await message(full.subarray(0, 60)), "the file ends at byte 60 while reading the length of the value of 'general.architecture' at byte 56: it is truncated (an incomplete download?)");
    assert.equal(await message(full.subarray(0, 66)), "the file ends at byte 66 while reading the value of 'general.architecture' at byte 64: it is truncated (an incomplete download?)");
    assert.equal(await message(full.subarray(0, 77)), "the file ends at byte 77 while reading the name of tensor 0 at byte 77: it is truncated (an incomplete download?)");
    assert.equal(await message(full.subarray(0, 80)), "the file ends at byte 80 while reading the dimension count of 't' at byte 78: it is truncated (an incomplete download?)");
    assert.equal(await message(full.subarray(0, 84)), "the file ends at byte 84 while reading dimension 0 of 't' at byte 82: it is truncated (an incomplete download?)");
    assert.equal(await message(full.subarray(0, 92)), "the file ends at byte 92 while reading the type of 't' at byte 90: it is truncated (an incomplete download?)");
    assert.equal(await message(full.subarray(0, 96)), "the file ends at byte 96 while reading the data offset of 't' at byte 94: it is truncated (an incomplete download?)");
    assert.equal(await message(full.subarray(0, full.length - 1)), `tensor 't' needs bytes up to ${full.length} but the file has ${full.length - 1}: the file is truncated (an incomplete download?) or corrupt`);
    const arr = start(1, 1).kv("a", 9, (b) => b.u32(4).u64(3).u32(1)).buffer();
    assert.equal(await message(arr), `the file ends at byte ${arr.length} while reading item 1 of 'a' at byte ${arr.length}: it is truncated (an incomplete download?)`);
    const arrType = start(1, 1).kv("a", 9, () => undefined).raw("\x04\x00").buffer();
    assert.equal(await message(arrType), `the file ends at byte ${arrType.length} while reading the item type of 'a' at byte ${arrType.length - 2}: it is truncated (an incomplete download?)`);
    const arrLen = start(1, 1).kv("a", 9, (b) => b.u32(4).raw("\x01")).buffer();
    assert.equal(await message(arrLen), `the file ends at byte ${arrLen.length} while reading the length of 'a' at byte ${arrLen.length - 1}: it is truncated (an incomplete download?)`);
    const skipped = start(1, 1).kv("a", 9, (b) => b.u32(4).u64(100).raw(Buffer.alloc(396))).buffer();
    assert.equal(await message(skipped), `the file ends at byte ${skipped.length} while reading the items of 'a' at byte ${skipped.length - 396}: it is truncated (an incomplete download?)`);
  });

  it("reads a field that ends exactly at the end of the file", async () => {
    // The header ends right after the tensor's offset: every field is read; only the tensor data is missing.
    assert.equal(await message(start(1, 0).tensor("t", [8], 0, 0)), "tensor 't' needs bytes up to 96 but the file has 57: the file is truncated (an incomplete download?) or corrupt");
    // A skipped long array that ends exactly at the end of the file: the next read is what fails.
    const skipped = start(1, 1).kv("a", 9, (b) => b.u32(4).u64(100).raw(Buffer.alloc(400))).buffer();
    assert.equal(await message(skipped), `the file ends at byte ${skipped.length} while reading the length of the name of tensor 0 at byte ${skipped.length}: it is truncated (an incomplete download?)`);
  });

  it("closes the file whatever the verdict", async function () {
    const fds = "/proc/self/fd";
    const { existsSync, readdirSync } = await import("node:fs");
    if (!existsSync(fds)) this.skip();
    const bad = file(start(0, 0).buffer());
    const good = file(oneTensor(start(1, 0)).buffer());
    await readGgufHeader(good);
    const before = readdirSync(fds).length;
    for (let i = 0; i < 20; i++) {
      await readGgufHeader(bad).catch(() => undefined);
      await readGgufHeader(good);
    }
    assert.equal(readdirSync(fds).length, before);
  });

  it("checks each tensor's dimensions, type and place in the file", async () => {
    assert.equal(await message(start(1, 0).tensor("w", [], 0, 0).data(32, 32)), "tensor 'w' claims 0 dimensions; the file is corrupt");
    assert.equal(await message(start(1, 0).tensor("w", [1, 1, 1, 1, 1], 0, 0).data(32, 32)), "tensor 'w' claims 5 dimensions; the file is corrupt");
    const four = await read(start(1, 0).tensor("w", [2, 1, 2, 2], 0, 0).data(32, 32));
    assert.deepEqual(four.tensors, [{ name: "w", dims: [2n, 1n, 2n, 2n], type: 0, offset: 0n, bytes: 32n }]);
    assert.equal(await message(start(1, 0).tensor("w", [8, 0], 0, 0).data(32, 32)), "tensor 'w' has dimension 0; the file is corrupt");
    assert.equal(await message(start(1, 0).tensor("w", [(1n << 40n) + 1n], 24, 0).data(32, 32)), "tensor 'w' has dimension 1099511627777; the file is corrupt");
    assert.match(await message(start(1, 0).tensor("w", [1n << 40n], 24, 0).data(32, 32)), /^tensor 'w' needs bytes up to 1099511627840 but the file has 96:/);
    assert.equal(await message(start(1, 0).tensor("w", [32], 4, 0).data(32, 32)), "tensor 'w' has tensor type 4, which this version of Bedside does not know");
    assert.equal(await message(start(1, 0).tensor("w", [16], 2, 0).data(32, 32)), "tensor 'w' has a first dimension 16 that is not a multiple of its block size 32");
    assert.equal(await message(start(1, 0).tensor("w", [8], 0, 16).data(32, 64)), "tensor 'w' starts at an unaligned offset 16; the file is corrupt");
    const two = await read(start(2, 0).tensor("a", [8], 0, 0).tensor("b", [64, 2], 2, 32).data(32, 32 + 72));
    assert.deepEqual(two.tensors.map((t) => [t.name, t.bytes, t.offset]), [["a", 32n, 0n], ["b", 72n, 32n]]);
    assert.equal(two.dataOffset, 128);
    assert.equal(two.fileBytes, 128 + 104);
    assert.match(await message(start(2, 0).tensor("a", [8], 0, 0).tensor("b", [64, 2], 2, 32).data(32, 32 + 71)), /^tensor 'b' needs bytes up to 232 but the file has 231/);
  });

  it("aligns tensor data to general.alignment, a power of two", async () => {
    const h = await read(start(1, 1).kv("general.alignment", 4, (b) => b.u32(64)).tensor("t", [16], 0, 64).data(64, 128));
    assert.equal(h.dataOffset % 64, 0);
    assert.equal(h.dataOffset, 128);
    assert.equal(await message(start(1, 1).kv("general.alignment", 4, (b) => b.u32(64)).tensor("t", [8], 0, 32).data(64, 64)), "tensor 't' starts at an unaligned offset 32; the file is corrupt");
    assert.equal(await message(start(1, 1).kv("general.alignment", 4, (b) => b.u32(48)).tensor("t", [8], 0, 0).data(48, 32)), "general.alignment is 48, not a power of two; the file is corrupt");
    assert.equal(await message(start(1, 1).kv("general.alignment", 4, (b) => b.u32(0)).tensor("t", [8], 0, 0).data(32, 32)), "general.alignment is 0, not a power of two; the file is corrupt");
    assert.equal(await message(start(1, 1).kv("general.alignment", 6, (b) => { const x = Buffer.alloc(4); x.writeFloatLE(2.5); b.raw(x); }).tensor("t", [8], 0, 0).data(32, 32)), "general.alignment is 2.5, not a power of two; the file is corrupt");
    assert.equal(await message(start(1, 1).kv("general.alignment", 5, (b) => b.u32(0xfffffff0)).tensor("t", [8], 0, 0).data(32, 32)), "general.alignment is -16, not a power of two; the file is corrupt");
    const one = await read(start(1, 1).kv("general.alignment", 4, (b) => b.u32(1)).tensor("t", [8], 0, 3).data(1, 35));
    assert.equal(one.dataOffset, one.fileBytes - 35);
    // A u64 alignment is not a number: the default 32 applies.
    const big = await read(start(1, 1).kv("general.alignment", 10, (b) => b.u64(64)).tensor("t", [8], 0, 0).data(32, 32));
    assert.equal(big.dataOffset % 32, 0);
    assert.notEqual(big.dataOffset % 64, 0);
  });

  it("names a missing file, a folder and what is not a regular file", async () => {
    assert.equal(await message(Buffer.alloc(0)), "the file is only 0 bytes long; a GGUF model is at least megabytes");
    await assert.rejects(readGgufHeader(join(dir, "none.gguf")), { name: "GgufFormatError", message: `there is no file at ${join(dir, "none.gguf")}` });
    await assert.rejects(readGgufHeader(dir), { name: "GgufFormatError", message: `${dir} is a folder, not a model file: choose the .gguf file inside it` });
    await assert.rejects(readGgufHeader("/dev/null"), { name: "GgufFormatError", message: "/dev/null is not a regular file" });
    const notDir = file(Buffer.from("x"));
    await assert.rejects(readGgufHeader(join(notDir, "model.gguf")), (e: unknown) => e instanceof GgufFormatError && e.message.startsWith(`cannot read ${join(notDir, "model.gguf")}: ENOTDIR`));
  });

  it("sizes tensors by ggml's block layouts", () => {
    assert.equal(tensorBytes(0, [3n, 5n], "x"), 60n);
    assert.equal(tensorBytes(1, [3n], "x"), 6n);
    assert.equal(tensorBytes(12, [512n, 2n], "x"), 4n * 144n);
    assert.equal(tensorBytes(2, [], "x"), 0n, "no dimensions: no block check, one element rounds down to no block");
    assert.equal(GGML_TYPE_SIZES.get(8)?.join(), "32,34");
    assert.equal(GGML_TYPE_SIZES.size, 35);
  });

  it("answers the host's questions from the metadata", async () => {
    const h = await read(oneTensor(start(1, 5).kv("general.architecture", 8, (b) => b.str("qwen2")).kv("qwen2.context_length", 10, (b) => b.u64(32768))
      .kv("llama.context_length", 4, (b) => b.u32(2048)).kv("n", 4, (b) => b.u32(9)).kv("s", 8, (b) => b.str("9"))));
    assert.equal(ggufArchitecture(h), "qwen2");
    assert.equal(ggufContextLength(h), 32768);
    assert.equal(ggufNumber(h, "n"), 9);
    assert.equal(ggufNumber(h, "s"), undefined);
    assert.equal(ggufString(h, "s"), "9");
    assert.equal(ggufString(h, "n"), undefined);
    assert.equal(ggufString(h, "missing"), undefined);
    const bare = await read(oneTensor(start(1, 1).kv("llama.context_length", 4, (b) => b.u32(2048))));
    assert.equal(ggufArchitecture(bare), undefined);
    assert.equal(ggufContextLength(bare), undefined);
  });
});
