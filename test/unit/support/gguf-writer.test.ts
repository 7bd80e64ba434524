import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, stat, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  float16BitsToNumber,
  float32ToFloat16Bits,
  GGUF_DEFAULT_ALIGNMENT,
  ggmlTensorByteSize,
  kv,
  MemorySink,
  writeGguf,
  writeGgufFile,
  type GgufFileSpec,
} from "../../support/gguf/ggufWriter";
import { randomTensorData } from "../../support/gguf/seededTensors";
import { bertTestModelSpec, ensureTestModel, llamaTestModelSpec, testModelFileName } from "../../support/gguf/testModels";
import { buildSpmVocabulary, SPACE_MARKER, TokenType } from "../../support/gguf/vocabulary";

// ---------------------------------------------------------------------------------------------------------
// A minimal GGUF reader, independent of the writer, so the tests check the format rather than the writer
// against itself.

type ReadValue = number | bigint | boolean | string | ReadValue[];

interface ReadTensor {
  name: string;
  shape: number[];
  type: number;
  offset: number;
}

interface ReadGguf {
  magic: string;
  version: number;
  metadata: Map<string, { type: number; value: ReadValue }>;
  tensors: ReadTensor[];
  alignment: number;
  dataOffset: number;
}

function readGguf(bytes: Uint8Array): ReadGguf {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let pos = 0;
  const u32 = (): number => {
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    const v = view.getBigUint64(pos, true);
    pos += 8;
    return Number(v);
  };
  const str = (): string => {
    const length = u64();
    const s = decoder.decode(bytes.subarray(pos, pos + length));
    pos += length;
    return s;
  };
  const value = (type: number): ReadValue => {
    let v: ReadValue;
    switch (type) {
      case 0:
        v = view.getUint8(pos);
        pos += 1;
        return v;
      case 1:
        v = view.getInt8(pos);
        pos += 1;
        return v;
      case 2:
        v = view.getUint16(pos, true);
        pos += 2;
        return v;
      case 3:
        v = view.getInt16(pos, true);
        pos += 2;
        return v;
      case 4:
        return u32();
      case 5:
        v = view.getInt32(pos, true);
        pos += 4;
        return v;
      case 6:
        v = view.getFloat32(pos, true);
        pos += 4;
        return v;
      case 7: {
        const b = view.getUint8(pos);
        pos += 1;
        assert.ok(b === 0 || b === 1, "bool is 0 or 1");
        return b === 1;
      }
      case 8:
        return str();
      case 9: {
        const itemType = u32();
        const n = u64();
        const items: ReadValue[] = [];
        for (let i = 0; i < n; i++) items.push(value(itemType));
        return items;
      }
      case 10:
        v = view.getBigUint64(pos, true);
        pos += 8;
        return v;
      case 11:
        v = view.getBigInt64(pos, true);
        pos += 8;
        return v;
      case 12:
        v = view.getFloat64(pos, true);
        pos += 8;
        return v;
      default:
        throw new Error(`unknown gguf type ${type}`);
    }
  };

  const magic = decoder.decode(bytes.subarray(0, 4));
  pos = 4;
  const version = u32();
  const tensorCount = u64();
  const kvCount = u64();
  const metadata = new Map<string, { type: number; value: ReadValue }>();
  for (let i = 0; i < kvCount; i++) {
    const key = str();
    const type = u32();
    metadata.set(key, { type, value: value(type) });
  }
  const tensors: ReadTensor[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = str();
    const nDims = u32();
    const shape: number[] = [];
    for (let d = 0; d < nDims; d++) shape.push(u64());
    const type = u32();
    const offset = u64();
    tensors.push({ name, shape, type, offset });
  }
  const alignmentEntry = metadata.get("general.alignment");
  const alignment = typeof alignmentEntry?.value === "number" ? alignmentEntry.value : GGUF_DEFAULT_ALIGNMENT;
  const dataOffset = Math.ceil(pos / alignment) * alignment;
  for (let i = pos; i < dataOffset; i++) assert.equal(bytes[i], 0, "padding before data is zero");
  return { magic, version, metadata, tensors, alignment, dataOffset };
}

async function toBytes(spec: GgufFileSpec): Promise<Uint8Array> {
  const sink = new MemorySink();
  await writeGguf(sink, spec);
  return sink.bytes();
}

function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

// ---------------------------------------------------------------------------------------------------------

describe("GGUF writer", () => {
  const allTypes: GgufFileSpec["metadata"] = [
    ["general.architecture", kv.str("llama")],
    ["t.u8", kv.u8(250)],
    ["t.i8", kv.i8(-5)],
    ["t.u16", kv.u16(65000)],
    ["t.i16", kv.i16(-300)],
    ["t.u32", kv.u32(4_000_000_000)],
    ["t.i32", kv.i32(-2_000_000_000)],
    ["t.f32", kv.f32(0.5)],
    ["t.f64", kv.f64(Math.PI)],
    ["t.u64", kv.u64(2n ** 40n)],
    ["t.i64", kv.i64(-(2n ** 40n))],
    ["t.bool", kv.bool(true)],
    ["t.unicode", kv.str("▁Ünïcødé 你好")],
    ["t.strs", kv.strs(["<unk>", "▁patient", ""])],
    ["t.i32s", kv.i32s([1, -2, 3])],
    ["t.f32s", kv.f32s(Float32Array.from([0.25, -1.5]))],
    ["t.bools", kv.bools([true, false])],
  ];

  it("writes the header: magic, version 3, tensor and metadata counts", async () => {
    const bytes = await toBytes({ metadata: allTypes, tensors: [] });
    const file = readGguf(bytes);
    assert.equal(file.magic, "GGUF");
    assert.deepEqual(Array.from(bytes.subarray(0, 4)), [0x47, 0x47, 0x55, 0x46]);
    assert.equal(file.version, 3);
    assert.equal(file.metadata.size, allTypes.length);
    assert.equal(file.tensors.length, 0);
  });

  it("round-trips metadata of every scalar and array type", async () => {
    const file = readGguf(await toBytes({ metadata: allTypes, tensors: [] }));
    const get = (key: string): ReadValue | undefined => file.metadata.get(key)?.value;
    assert.equal(get("general.architecture"), "llama");
    assert.equal(get("t.u8"), 250);
    assert.equal(get("t.i8"), -5);
    assert.equal(get("t.u16"), 65000);
    assert.equal(get("t.i16"), -300);
    assert.equal(get("t.u32"), 4_000_000_000);
    assert.equal(get("t.i32"), -2_000_000_000);
    assert.equal(get("t.f32"), 0.5);
    assert.equal(get("t.f64"), Math.PI);
    assert.equal(get("t.u64"), 2n ** 40n);
    assert.equal(get("t.i64"), -(2n ** 40n));
    assert.equal(get("t.bool"), true);
    assert.equal(get("t.unicode"), "▁Ünïcødé 你好");
    assert.deepEqual(get("t.strs"), ["<unk>", "▁patient", ""]);
    assert.deepEqual(get("t.i32s"), [1, -2, 3]);
    assert.deepEqual(get("t.f32s"), [0.25, -1.5]);
    assert.deepEqual(get("t.bools"), [true, false]);
    // Type codes as gguf.h numbers them.
    assert.equal(file.metadata.get("t.u32")?.type, 4);
    assert.equal(file.metadata.get("t.strs")?.type, 9);
    assert.equal(file.metadata.get("t.u64")?.type, 10);
  });

  it("lays out tensor infos and aligned data (default alignment 32)", async () => {
    const spec: GgufFileSpec = {
      metadata: [["general.architecture", kv.str("llama")]],
      tensors: [
        { name: "a", shape: [3], type: "F32", data: () => [f32Bytes([1, 2, 3])] },
        { name: "b", shape: [2, 2], type: "F32", data: () => [f32Bytes([4, 5]), f32Bytes([6, 7])] },
        { name: "q", shape: [32, 2], type: "Q4_0", data: () => [new Uint8Array(36).fill(0x11)] },
        { name: "h", shape: [5], type: "F16", data: () => [new Uint8Array(10).fill(0x3c)] },
      ],
    };
    const bytes = await toBytes(spec);
    const file = readGguf(bytes);
    assert.equal(file.alignment, 32);
    assert.equal(file.dataOffset % 32, 0);
    assert.deepEqual(
      file.tensors.map((t) => [t.name, t.shape, t.type, t.offset]),
      [
        ["a", [3], 0, 0],
        ["b", [2, 2], 0, 32], // 12 bytes of `a`, padded to 32
        ["q", [32, 2], 2, 64], // 16 bytes of `b`
        ["h", [5], 1, 128], // 2 Q4_0 blocks of 18 bytes end at 100
      ],
    );
    const floatsAt = (offset: number, n: number): number[] => Array.from(new Float32Array(bytes.slice(file.dataOffset + offset, file.dataOffset + offset + n * 4).buffer));
    assert.deepEqual(floatsAt(0, 3), [1, 2, 3]);
    assert.deepEqual(floatsAt(32, 4), [4, 5, 6, 7]);
    assert.equal(bytes[file.dataOffset + 12], 0, "padding between tensors is zero");
    assert.equal(bytes.length, file.dataOffset + 128 + 10, "the file ends after the last tensor");
  });

  it("honours general.alignment", async () => {
    const spec: GgufFileSpec = {
      metadata: [
        ["general.architecture", kv.str("llama")],
        ["general.alignment", kv.u32(64)],
      ],
      tensors: [
        { name: "a", shape: [1], type: "F32", data: () => [f32Bytes([1])] },
        { name: "b", shape: [1], type: "F32", data: () => [f32Bytes([2])] },
      ],
    };
    const file = readGguf(await toBytes(spec));
    assert.equal(file.alignment, 64);
    assert.equal(file.dataOffset % 64, 0);
    assert.deepEqual(
      file.tensors.map((t) => t.offset),
      [0, 64],
    );
  });

  it("rejects producers that give the wrong number of bytes, bad alignment and duplicate keys", async () => {
    const tensor = (bytes: number): GgufFileSpec => ({
      metadata: [],
      tensors: [{ name: "a", shape: [4], type: "F32", data: () => [new Uint8Array(bytes)] }],
    });
    await assert.rejects(toBytes(tensor(12)), /gave 12 bytes, its shape needs 16/);
    await assert.rejects(toBytes(tensor(20)), /more than the 16 bytes/);
    await assert.rejects(toBytes({ metadata: [["general.alignment", kv.u32(24)]], tensors: [] }), /power of two/);
    await assert.rejects(
      toBytes({
        metadata: [
          ["k", kv.u8(1)],
          ["k", kv.u8(2)],
        ],
        tensors: [],
      }),
      /duplicate metadata key/,
    );
    assert.throws(() => ggmlTensorByteSize("Q4_0", [48, 2]), /multiple of 32/);
  });

  it("streams to a file from a producer that reuses one buffer", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gguf-writer-"));
    try {
      const path = join(dir, "reuse.gguf");
      const elements = 1000;
      await writeGgufFile(path, {
        metadata: [["general.architecture", kv.str("llama")]],
        tensors: [
          {
            name: "counting",
            shape: [elements],
            type: "F32",
            data: function* () {
              const buffer = new Float32Array(100);
              for (let start = 0; start < elements; start += 100) {
                for (let i = 0; i < 100; i++) buffer[i] = start + i;
                yield new Uint8Array(buffer.buffer);
              }
            },
          },
        ],
      });
      const bytes = new Uint8Array(await readFile(path));
      const file = readGguf(bytes);
      const values = new Float32Array(bytes.slice(file.dataOffset, file.dataOffset + elements * 4).buffer);
      assert.deepEqual(
        Array.from(values),
        Array.from({ length: elements }, (_, i) => i),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("converts to float16 with round-to-nearest-even", () => {
    assert.equal(float32ToFloat16Bits(1), 0x3c00);
    assert.equal(float32ToFloat16Bits(-2), 0xc000);
    assert.equal(float32ToFloat16Bits(0), 0);
    assert.equal(float32ToFloat16Bits(65504), 0x7bff);
    assert.equal(float32ToFloat16Bits(1e6), 0x7c00, "overflow is infinity");
    assert.equal(float32ToFloat16Bits(2 ** -24), 0x0001, "smallest subnormal");
    assert.equal(float32ToFloat16Bits(1 + 2 ** -11), 0x3c00, "a tie rounds to even (down)");
    assert.equal(float32ToFloat16Bits(1 + 3 * 2 ** -11), 0x3c02, "a tie rounds to even (up)");
    for (const x of [0.1, -0.333, 3.14159, 1e-5, 12345]) {
      const back = float16BitsToNumber(float32ToFloat16Bits(x));
      assert.ok(Math.abs(back - x) <= Math.abs(x) * 2 ** -11 + 2 ** -24, `${x} -> ${back}`);
    }
  });
});

describe("generated tensor data", () => {
  it("is deterministic from the seed and differs between seeds", () => {
    const collect = (seed: number): number[] => {
      const out: number[] = [];
      for (const chunk of randomTensorData("F32", [64, 4], 0.5, seed)()) out.push(...new Float32Array(chunk.slice().buffer));
      return out;
    };
    assert.deepEqual(collect(7), collect(7));
    assert.notDeepEqual(collect(7), collect(8));
    const values = collect(7);
    assert.ok(values.every((v) => Math.abs(v) <= 0.5 * Math.sqrt(3)));
  });

  it("gives Q4_0 block scales of both signs, and zeroes the rows asked for", () => {
    const shape = [64, 100]; // 2 blocks per row
    const chunks = Array.from(randomTensorData("Q4_0", shape, 0.1, 3, { zeroRows: [5] })(), (c) => c.slice());
    const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    assert.equal(bytes.length, ggmlTensorByteSize("Q4_0", shape));
    let negative = 0;
    for (let block = 0; block < 200; block++) {
      const scale = float16BitsToNumber(bytes[block * 18]! | (bytes[block * 18 + 1]! << 8));
      if (block === 10 || block === 11) {
        assert.equal(scale, 0, "row 5 is zero");
        continue;
      }
      assert.ok(Math.abs(Math.abs(scale) - 0.1 / Math.sqrt(255 / 12)) < 1e-4, `scale ${scale}`);
      if (scale < 0) negative++;
    }
    assert.ok(negative > 60 && negative < 138, `${negative} of 198 scales negative`);
  });
});

describe("model files on disk", () => {
  it("writes the same bytes to a file as to memory", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gguf-writer-"));
    try {
      const path = join(dir, "tiny.gguf");
      const layout = await writeGgufFile(path, llamaTestModelSpec({ seed: 9 }));
      const onDisk = await readFile(path);
      assert.equal(onDisk.length, layout.fileSize);
      assert.ok(onDisk.equals(Buffer.from(await toBytes(llamaTestModelSpec({ seed: 9 })))));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("ensureTestModel caches by kind, seed and generator version, and replaces a cut-short file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gguf-cache-"));
    try {
      const path = await ensureTestModel("bert", dir, 3);
      assert.equal(path, join(dir, testModelFileName("bert", 3)));
      assert.match(path, /bert-seed3-gen\d+\.gguf$/);
      const first = await stat(path);
      assert.equal(await ensureTestModel("bert", dir, 3), path);
      assert.equal((await stat(path)).mtimeMs, first.mtimeMs, "a cached file is not rewritten");

      await truncate(path, 1000);
      await ensureTestModel("bert", dir, 3);
      assert.equal((await stat(path)).size, first.size, "a cut-short file is regenerated");
      assert.deepEqual(await readdir(dir), [testModelFileName("bert", 3)], "no temp files left");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("generated test-model files", () => {
  it("llama: vocabulary, special ids and tensors as llama.cpp expects", async () => {
    const file = readGguf(await toBytes(llamaTestModelSpec()));
    const meta = (key: string): ReadValue | undefined => file.metadata.get(key)?.value;
    assert.equal(meta("general.architecture"), "llama");
    assert.equal(meta("tokenizer.ggml.model"), "llama");
    assert.equal(meta("tokenizer.ggml.add_space_prefix"), false);
    const tokens = meta("tokenizer.ggml.tokens") as string[];
    const types = meta("tokenizer.ggml.token_type") as number[];
    assert.deepEqual(tokens.slice(0, 3), ["<unk>", "<s>", "</s>"]);
    assert.equal(tokens[3], "<0x00>");
    assert.equal(tokens[258], "<0xFF>");
    assert.ok(types.slice(3, 259).every((t) => t === TokenType.BYTE));
    assert.equal(tokens[meta("tokenizer.ggml.fim_pre_token_id") as number], "<fim_prefix>");
    assert.equal(tokens[meta("tokenizer.ggml.fim_suf_token_id") as number], "<fim_suffix>");
    assert.equal(tokens[meta("tokenizer.ggml.fim_mid_token_id") as number], "<fim_middle>");
    assert.ok(tokens.includes("<|im_start|>") && tokens.includes("<|im_end|>"));
    assert.match(String(meta("tokenizer.chat_template")), /<\|im_start\|>/);
    assert.equal(new Set(tokens).size, tokens.length, "tokens are unique");
    for (const word of ["▁patient", "▁chest", "▁pain", "Patient", "▁mg", "▁assessment"]) {
      assert.ok(tokens.includes(word), word);
    }
    // Every prefix of every word piece is a token, so SentencePiece merges can build whole words.
    const set = new Set(tokens);
    for (const [id, token] of tokens.entries()) {
      if (types[id] !== TokenType.NORMAL) continue;
      const chars = Array.from(token);
      for (let n = 1; n < chars.length; n++) assert.ok(set.has(chars.slice(0, n).join("")), `prefix of ${token}`);
    }
    const names = file.tensors.map((t) => t.name);
    assert.ok(names.includes("output.weight"), "untied output");
    assert.ok(names.includes("blk.1.ffn_gate.weight"));
    const embd = file.tensors.find((t) => t.name === "token_embd.weight");
    assert.deepEqual(embd?.shape, [64, tokens.length]);
    for (const t of file.tensors) assert.equal(t.offset % 32, 0, `${t.name} is aligned`);
  });

  it("llama: without infill and chat template when asked, padded vocabulary when asked", () => {
    const spec = llamaTestModelSpec({ infill: false, chatTemplate: false, vocabSize: 9000 });
    const keys = new Set(spec.metadata.map(([key]) => key));
    assert.ok(!keys.has("tokenizer.ggml.fim_pre_token_id"));
    assert.ok(!keys.has("tokenizer.chat_template"));
    const vocab = buildSpmVocabulary({ fim: false, size: 9000 });
    assert.equal(vocab.tokens.length, 9000);
    assert.ok(!vocab.tokens.includes("<fim_prefix>"));
    assert.ok(vocab.tokens.slice(-50).every((t) => t.startsWith(SPACE_MARKER)));
  });

  it("llama: the same seed gives the same bytes", async () => {
    const a = await toBytes(llamaTestModelSpec({ seed: 5 }));
    const b = await toBytes(llamaTestModelSpec({ seed: 5 }));
    const c = await toBytes(llamaTestModelSpec({ seed: 6 }));
    assert.ok(Buffer.from(a).equals(Buffer.from(b)));
    assert.ok(!Buffer.from(a).equals(Buffer.from(c)));
  });

  it("bert: WordPiece vocabulary, token types, position embeddings and pooling", async () => {
    const file = readGguf(await toBytes(bertTestModelSpec()));
    const meta = (key: string): ReadValue | undefined => file.metadata.get(key)?.value;
    assert.equal(meta("general.architecture"), "bert");
    assert.equal(meta("tokenizer.ggml.model"), "bert");
    assert.equal(meta("tokenizer.ggml.token_type_count"), 2);
    assert.equal(meta("bert.pooling_type"), 1);
    assert.equal(meta("bert.attention.causal"), false);
    const names = new Set(file.tensors.map((t) => t.name));
    for (const name of ["token_types.weight", "position_embd.weight", "token_embd_norm.bias", "blk.1.layer_output_norm.weight"]) {
      assert.ok(names.has(name), name);
    }
  });
});
