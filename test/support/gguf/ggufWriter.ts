/**
 * A small streaming writer for GGUF v3 files (the container llama.cpp loads).
 *
 * Layout written (all integers little-endian):
 *   magic "GGUF" | version u32 = 3 | tensor_count u64 | kv_count u64
 *   kv_count x  (key: gguf string, value_type u32, value)
 *   tensor_count x (name: gguf string, n_dims u32, ne[n_dims] u64, type u32, offset u64)
 *   zero padding up to `general.alignment` (default 32)
 *   tensor data, each tensor starting at an aligned offset relative to the start of the data section
 *
 * A gguf string is a u64 byte length followed by UTF-8 bytes (no terminator).
 *
 * The header (metadata + tensor infos) is built in memory: it is small even for a 32,000-token vocabulary.
 * Tensor data is pulled from each tensor's chunk producer and written one chunk at a time, so a
 * multi-gigabyte file never sits in memory. The writer finishes writing a chunk before asking for the
 * next one, so a producer may refill and yield the same buffer again.
 *
 * Pure: imports only node:fs for the file sink; knows nothing of llama architectures.
 */
import { open, type FileHandle } from "node:fs/promises";

export const GGUF_MAGIC = "GGUF";
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** The value-type codes of GGUF metadata (gguf.h `enum gguf_type`). */
export const GgufValueTypeCode = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  str: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;

export type GgufNumberType = "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "f32" | "f64";
export type GgufBigIntType = "u64" | "i64";
export type GgufScalarType = GgufNumberType | GgufBigIntType | "bool" | "str";

export type GgufScalarValue =
  | { readonly type: GgufNumberType; readonly value: number }
  | { readonly type: GgufBigIntType; readonly value: bigint }
  | { readonly type: "bool"; readonly value: boolean }
  | { readonly type: "str"; readonly value: string };

/** Arrays of one scalar type. (GGUF also allows arrays of arrays; llama.cpp's loaders do not use them.) */
export type GgufArrayValue =
  | { readonly type: "array"; readonly itemType: GgufNumberType; readonly items: ArrayLike<number> }
  | { readonly type: "array"; readonly itemType: GgufBigIntType; readonly items: readonly bigint[] }
  | { readonly type: "array"; readonly itemType: "bool"; readonly items: readonly boolean[] }
  | { readonly type: "array"; readonly itemType: "str"; readonly items: readonly string[] };

export type GgufValue = GgufScalarValue | GgufArrayValue;

/** Typed constructors for metadata values, so call sites read `kv.u32(512)` rather than object literals. */
export const kv = {
  u8: (value: number): GgufValue => ({ type: "u8", value }),
  i8: (value: number): GgufValue => ({ type: "i8", value }),
  u16: (value: number): GgufValue => ({ type: "u16", value }),
  i16: (value: number): GgufValue => ({ type: "i16", value }),
  u32: (value: number): GgufValue => ({ type: "u32", value }),
  i32: (value: number): GgufValue => ({ type: "i32", value }),
  f32: (value: number): GgufValue => ({ type: "f32", value }),
  f64: (value: number): GgufValue => ({ type: "f64", value }),
  u64: (value: bigint | number): GgufValue => ({ type: "u64", value: BigInt(value) }),
  i64: (value: bigint | number): GgufValue => ({ type: "i64", value: BigInt(value) }),
  bool: (value: boolean): GgufValue => ({ type: "bool", value }),
  str: (value: string): GgufValue => ({ type: "str", value }),
  strs: (items: readonly string[]): GgufValue => ({ type: "array", itemType: "str", items }),
  i32s: (items: ArrayLike<number>): GgufValue => ({ type: "array", itemType: "i32", items }),
  u32s: (items: ArrayLike<number>): GgufValue => ({ type: "array", itemType: "u32", items }),
  f32s: (items: ArrayLike<number>): GgufValue => ({ type: "array", itemType: "f32", items }),
  bools: (items: readonly boolean[]): GgufValue => ({ type: "array", itemType: "bool", items }),
} as const;

/** Tensor element types this writer can size (codes from ggml.h `enum ggml_type`). */
export const GgmlTypeCode = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
} as const;
export type GgmlType = keyof typeof GgmlTypeCode;

/** Elements per block and bytes per block of each type. Q4_0: one f16 scale + 16 bytes of 4-bit weights. */
export const GGML_TYPE_LAYOUT: Readonly<Record<GgmlType, { blockElements: number; blockBytes: number }>> = {
  F32: { blockElements: 1, blockBytes: 4 },
  F16: { blockElements: 1, blockBytes: 2 },
  Q4_0: { blockElements: 32, blockBytes: 18 },
};

/** Where tensor bytes come from: chunks in order; together exactly `ggmlTensorByteSize` bytes. */
export type TensorChunks = Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

export interface GgufTensorSpec {
  readonly name: string;
  /** ggml order: `shape[0]` is the innermost (contiguous) dimension, as llama.cpp prints `ne`. */
  readonly shape: readonly number[];
  readonly type: GgmlType;
  /** Called once, when the writer reaches this tensor's data. */
  readonly data: () => TensorChunks;
}

export interface GgufFileSpec {
  /** Written in this order. Put `general.architecture` first, as converters do. */
  readonly metadata: ReadonlyArray<readonly [string, GgufValue]>;
  readonly tensors: readonly GgufTensorSpec[];
}

/** Where bytes go. `write` must have finished with the buffer when its promise resolves. */
export interface ByteSink {
  write(chunk: Uint8Array): Promise<void>;
}

export function ggmlTensorElementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/** Bytes of one tensor's data (without alignment padding). Throws if rows do not divide into blocks. */
export function ggmlTensorByteSize(type: GgmlType, shape: readonly number[]): number {
  const { blockElements, blockBytes } = GGML_TYPE_LAYOUT[type];
  const rowLength = shape[0] ?? 1;
  if (rowLength % blockElements !== 0) {
    throw new Error(`${type} needs rows of a multiple of ${blockElements} elements, got ${rowLength}`);
  }
  return (ggmlTensorElementCount(shape) / blockElements) * blockBytes;
}

export function alignUp(offset: number, alignment: number): number {
  return Math.ceil(offset / alignment) * alignment;
}

/** The alignment a file spec asks for through `general.alignment` (must be a u32 power of two). */
export function ggufAlignmentOf(spec: GgufFileSpec): number {
  const entry = spec.metadata.find(([key]) => key === "general.alignment");
  if (entry === undefined) return GGUF_DEFAULT_ALIGNMENT;
  const value = entry[1];
  if (value.type !== "u32" || value.value <= 0 || (value.value & (value.value - 1)) !== 0) {
    throw new Error("general.alignment must be a u32 power of two");
  }
  return value.value;
}

export interface GgufLayout {
  readonly alignment: number;
  /** Byte offset of the data section in the file. */
  readonly dataOffset: number;
  /** Offset of each tensor relative to the data section, in spec order. */
  readonly tensorOffsets: readonly number[];
  readonly tensorSizes: readonly number[];
  readonly fileSize: number;
}

/**
 * Appends little-endian values to a growing byte buffer. Only used for the header, so simplicity
 * wins over speed.
 */
class HeaderBuilder {
  private buffer = new Uint8Array(1 << 16);
  private view = new DataView(this.buffer.buffer);
  private length = 0;
  private static readonly utf8 = new TextEncoder();

  get size(): number {
    return this.length;
  }

  bytes(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < this.length + extra) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.reserve(1);
    this.view.setUint8(this.length, v);
    this.length += 1;
  }
  i8(v: number): void {
    this.reserve(1);
    this.view.setInt8(this.length, v);
    this.length += 1;
  }
  u16(v: number): void {
    this.reserve(2);
    this.view.setUint16(this.length, v, true);
    this.length += 2;
  }
  i16(v: number): void {
    this.reserve(2);
    this.view.setInt16(this.length, v, true);
    this.length += 2;
  }
  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }
  i32(v: number): void {
    this.reserve(4);
    this.view.setInt32(this.length, v, true);
    this.length += 4;
  }
  f32(v: number): void {
    this.reserve(4);
    this.view.setFloat32(this.length, v, true);
    this.length += 4;
  }
  f64(v: number): void {
    this.reserve(8);
    this.view.setFloat64(this.length, v, true);
    this.length += 8;
  }
  u64(v: bigint | number): void {
    this.reserve(8);
    this.view.setBigUint64(this.length, BigInt(v), true);
    this.length += 8;
  }
  i64(v: bigint): void {
    this.reserve(8);
    this.view.setBigInt64(this.length, v, true);
    this.length += 8;
  }
  bool(v: boolean): void {
    this.u8(v ? 1 : 0);
  }
  str(s: string): void {
    const encoded = HeaderBuilder.utf8.encode(s);
    this.u64(encoded.length);
    this.reserve(encoded.length);
    this.buffer.set(encoded, this.length);
    this.length += encoded.length;
  }

  number(type: GgufNumberType, v: number): void {
    switch (type) {
      case "u8":
        return this.u8(v);
      case "i8":
        return this.i8(v);
      case "u16":
        return this.u16(v);
      case "i16":
        return this.i16(v);
      case "u32":
        return this.u32(v);
      case "i32":
        return this.i32(v);
      case "f32":
        return this.f32(v);
      case "f64":
        return this.f64(v);
    }
  }
}

function writeValue(out: HeaderBuilder, value: GgufValue): void {
  out.u32(GgufValueTypeCode[value.type]);
  switch (value.type) {
    case "str":
      out.str(value.value);
      return;
    case "bool":
      out.bool(value.value);
      return;
    case "u64":
      out.u64(value.value);
      return;
    case "i64":
      out.i64(value.value);
      return;
    case "array":
      writeArray(out, value);
      return;
    default:
      out.number(value.type, value.value);
  }
}

function writeArray(out: HeaderBuilder, value: GgufArrayValue): void {
  out.u32(GgufValueTypeCode[value.itemType]);
  out.u64(value.items.length);
  switch (value.itemType) {
    case "str":
      for (const item of value.items) out.str(item);
      return;
    case "bool":
      for (const item of value.items) out.bool(item);
      return;
    case "u64":
      for (const item of value.items) out.u64(item);
      return;
    case "i64":
      for (const item of value.items) out.i64(item);
      return;
    default: {
      const { itemType, items } = value;
      for (let i = 0; i < items.length; i++) out.number(itemType, items[i] as number);
    }
  }
}

/** Builds the header bytes (through the padding before the data section) and the data layout. */
export function buildGgufHeader(spec: GgufFileSpec): { header: Uint8Array; layout: GgufLayout } {
  const alignment = ggufAlignmentOf(spec);
  const seen = new Set<string>();
  for (const [key] of spec.metadata) {
    if (seen.has(key)) throw new Error(`duplicate metadata key ${key}`);
    seen.add(key);
  }

  const out = new HeaderBuilder();
  for (const ch of GGUF_MAGIC) out.u8(ch.charCodeAt(0));
  out.u32(GGUF_VERSION);
  out.u64(spec.tensors.length);
  out.u64(spec.metadata.length);

  for (const [key, value] of spec.metadata) {
    out.str(key);
    writeValue(out, value);
  }

  const tensorOffsets: number[] = [];
  const tensorSizes: number[] = [];
  let offset = 0;
  const names = new Set<string>();
  for (const tensor of spec.tensors) {
    if (names.has(tensor.name)) throw new Error(`duplicate tensor ${tensor.name}`);
    names.add(tensor.name);
    if (tensor.shape.length < 1 || tensor.shape.length > 4) {
      throw new Error(`tensor ${tensor.name}: ggml tensors have 1 to 4 dimensions`);
    }
    const size = ggmlTensorByteSize(tensor.type, tensor.shape);
    offset = alignUp(offset, alignment);
    tensorOffsets.push(offset);
    tensorSizes.push(size);

    out.str(tensor.name);
    out.u32(tensor.shape.length);
    for (const dim of tensor.shape) out.u64(dim);
    out.u32(GgmlTypeCode[tensor.type]);
    out.u64(offset);
    offset += size;
  }

  const dataOffset = alignUp(out.size, alignment);
  while (out.size < dataOffset) out.u8(0);

  // The file ends right after the last tensor's bytes, as llama.cpp's own writer leaves it.
  const fileSize = dataOffset + offset;
  return {
    header: out.bytes(),
    layout: { alignment, dataOffset, tensorOffsets, tensorSizes, fileSize },
  };
}

/** Writes a whole GGUF file to a sink, streaming tensor data chunk by chunk. Returns the layout. */
export async function writeGguf(sink: ByteSink, spec: GgufFileSpec): Promise<GgufLayout> {
  const { header, layout } = buildGgufHeader(spec);
  await sink.write(header);

  let written = 0; // bytes of the data section written so far
  const padding = new Uint8Array(layout.alignment);
  for (const [index, tensor] of spec.tensors.entries()) {
    const start = layout.tensorOffsets[index] as number;
    const size = layout.tensorSizes[index] as number;
    if (start > written) {
      await sink.write(padding.subarray(0, start - written));
      written = start;
    }
    let tensorBytes = 0;
    for await (const chunk of tensor.data()) {
      tensorBytes += chunk.length;
      if (tensorBytes > size) {
        throw new Error(`tensor ${tensor.name}: producer gave more than the ${size} bytes its shape needs`);
      }
      await sink.write(chunk);
    }
    if (tensorBytes !== size) {
      throw new Error(`tensor ${tensor.name}: producer gave ${tensorBytes} bytes, its shape needs ${size}`);
    }
    written += size;
  }
  return layout;
}

/**
 * A file sink that overlaps disk writes with producing the next chunk: each chunk is copied into one of
 * two buffers and written in the background while the caller goes on; a write waits only for the one
 * before it. Generating random weights and writing them take about as long each (~10 s apiece for the
 * 3.8 GB 7B-shaped file on this project's machines), so this nearly halves the time.
 */
class DoubleBufferedFileSink implements ByteSink {
  private readonly buffers: [Uint8Array, Uint8Array] = [new Uint8Array(0), new Uint8Array(0)];
  private next = 0;
  private position = 0;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(private readonly handle: FileHandle) {}

  async write(chunk: Uint8Array): Promise<void> {
    // The buffer not in flight is free: its own write was awaited before the in-flight one started.
    let buffer = this.buffers[this.next];
    if (buffer.length < chunk.length) {
      buffer = new Uint8Array(chunk.length);
      this.buffers[this.next] = buffer;
    }
    buffer.set(chunk);
    this.next = 1 - this.next;
    await this.inFlight;
    const position = this.position;
    this.position += chunk.length;
    this.inFlight = this.writeAll(buffer.subarray(0, chunk.length), position);
    // Observed here so a failure is never "unhandled"; it is rethrown by the next write or by flush().
    this.inFlight.catch(() => undefined);
  }

  flush(): Promise<void> {
    return this.inFlight;
  }

  private async writeAll(bytes: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.length - done, position + done);
      done += bytesWritten;
    }
  }
}

/**
 * Writes a GGUF file. No fsync: callers that need atomicity write to a temp file and rename (as
 * testModels.ts does), which is enough against a killed process.
 */
export async function writeGgufFile(path: string, spec: GgufFileSpec): Promise<GgufLayout> {
  const handle = await open(path, "w");
  const sink = new DoubleBufferedFileSink(handle);
  try {
    const layout = await writeGguf(sink, spec);
    await sink.flush();
    return layout;
  } finally {
    await sink.flush().catch(() => undefined); // never close under a pending write
    await handle.close();
  }
}

/** Collects everything in memory: for tests and small files only. */
export class MemorySink implements ByteSink {
  private readonly chunks: Uint8Array[] = [];

  async write(chunk: Uint8Array): Promise<void> {
    this.chunks.push(chunk.slice()); // copy: producers may reuse their buffer
  }

  bytes(): Uint8Array {
    const total = this.chunks.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE 754 binary16 bits of a number, rounded to nearest even (as numpy and ggml's F16 conversion do). */
export function float32ToFloat16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;

  if (exponent === 0xff) {
    // Inf or NaN (keep NaN a NaN by forcing a mantissa bit).
    return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  }
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00; // overflow -> Inf
  if (halfExponent <= 0) {
    // Subnormal half or zero.
    if (halfExponent < -10) return sign;
    mantissa |= 0x800000; // implicit leading 1
    const shift = 14 - halfExponent;
    let half = mantissa >>> shift;
    const remainder = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (remainder > halfway || (remainder === halfway && (half & 1) === 1)) half += 1;
    return sign | half;
  }
  let half = (halfExponent << 10) | (mantissa >>> 13);
  const remainder = mantissa & 0x1fff;
  // Round to nearest even; a carry into the exponent is correct (it may round up to Inf).
  if (remainder > 0x1000 || (remainder === 0x1000 && (half & 1) === 1)) half += 1;
  return sign | half;
}

/** The number a binary16 bit pattern stands for (used by tests and readers). */
export function float16BitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}
