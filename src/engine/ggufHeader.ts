/**
 * A strict reader of a GGUF file's header, run before any file reaches llama.cpp: llama.cpp trusts counts
 * and lengths in the file and can allocate or read wildly on a corrupt one. This checks the magic, the
 * version, that every count and string length is sane, and that every tensor's data lies inside the file.
 * It also gives the host the metadata it needs (architecture, context length, chat template) without
 * loading the model.
 *
 * Pure: Node's fs only; no vscode, no node-llama-cpp.
 */
import { promises as fs } from "node:fs";

export class GgufFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GgufFormatError";
  }
}

export type GgufScalar = number | bigint | boolean | string;
/** Arrays longer than this are summarised (vocabularies hold tens of thousands of strings). */
const KEPT_ARRAY_LENGTH = 64;
export interface GgufArraySummary {
  arrayOf: string;
  length: number;
  /** Present when the array is short enough to keep. */
  items?: GgufScalar[];
}
export type GgufValue = GgufScalar | GgufArraySummary;

export interface GgufTensorInfo {
  name: string;
  dims: bigint[];
  type: number;
  offset: bigint;
  bytes: bigint;
}

export interface GgufHeader {
  version: number;
  fileBytes: number;
  metadata: Map<string, GgufValue>;
  tensorCount: number;
  /** Absolute offset where tensor data begins. */
  dataOffset: number;
  tensors: GgufTensorInfo[];
}

// Bounds generous enough for any published model, tight enough to stop a corrupt count early.
const MAX_KV = 1_000_000;
const MAX_TENSORS = 1_000_000;
const MAX_STRING = 64 * 1024 * 1024;
const MAX_KEY = 64 * 1024;
const MAX_ARRAY = 64 * 1024 * 1024;
const MAX_DIMS = 4;

/** [block size, bytes per block] per ggml type id, as llama.cpp's ggml defines them. */
export const GGML_TYPE_SIZES: ReadonlyMap<number, readonly [number, number]> = new Map([
  [0, [1, 4]],
  [1, [1, 2]],
  [2, [32, 18]],
  [3, [32, 20]],
  [6, [32, 22]],
  [7, [32, 24]],
  [8, [32, 34]],
  [9, [32, 36]],
  [10, [256, 84]],
  [11, [256, 110]],
  [12, [256, 144]],
  [13, [256, 176]],
  [14, [256, 210]],
  [15, [256, 292]],
  [16, [256, 66]],
  [17, [256, 74]],
  [18, [256, 98]],
  [19, [256, 50]],
  [20, [32, 18]],
  [21, [256, 110]],
  [22, [256, 82]],
  [23, [256, 136]],
  [24, [1, 1]],
  [25, [1, 2]],
  [26, [1, 4]],
  [27, [1, 8]],
  [28, [1, 8]],
  [29, [256, 56]],
  [30, [1, 2]],
  [34, [256, 54]],
  [35, [256, 66]],
  [39, [32, 17]],
  [40, [64, 36]],
  [41, [128, 18]],
  [42, [64, 18]],
] as const);

// Stryker disable next-line StringLiteral: "array" never names items (arrays of arrays are refused before)
const VALUE_TYPE_NAMES = ["u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"];

/** Reads a file front to back in chunks, failing with a clear message when the file ends early. */
class ChunkedReader {
  private buffer = Buffer.alloc(0);
  private bufferStart = 0;
  position = 0;

  constructor(
    private readonly handle: fs.FileHandle,
    readonly fileBytes: number,
  ) {}

  private async need(n: number, what: string): Promise<void> {
    if (this.position + n > this.fileBytes) {
      throw new GgufFormatError(`the file ends at byte ${this.fileBytes} while reading ${what} at byte ${this.position}: it is truncated (an incomplete download?)`);
    }
    // Stryker disable next-line all: how far the buffer reaches only decides whether to read again, not what is read
    const end = this.bufferStart + this.buffer.length;
    // Stryker disable next-line all: reading again what is buffered reads the same bytes
    if (this.position + n <= end) return;
    const want = Math.max(n, 1 << 20);
    // Stryker disable next-line all: the read-ahead size changes speed, not bytes (need() checked the file is long enough)
    const chunk = Buffer.alloc(Math.min(want, this.fileBytes - this.position));
    const { bytesRead } = await this.handle.read(chunk, 0, chunk.length, this.position);
    // Stryker disable next-line all: only a file that shrinks while it is read gets here; a test cannot make one reliably
    if (bytesRead < n) throw new GgufFormatError(`could not read ${what} at byte ${this.position}`);
    this.buffer = chunk.subarray(0, bytesRead);
    this.bufferStart = this.position;
  }

  private at(): number {
    return this.position - this.bufferStart;
  }

  async bytes(n: number, what: string): Promise<Buffer> {
    await this.need(n, what);
    const out = this.buffer.subarray(this.at(), this.at() + n);
    this.position += n;
    return out;
  }

  async u32(what: string): Promise<number> {
    return (await this.bytes(4, what)).readUInt32LE(0);
  }

  async u64(what: string): Promise<bigint> {
    return (await this.bytes(8, what)).readBigUInt64LE(0);
  }

  async string(what: string, max: number): Promise<string> {
    const length = await this.u64(`the length of ${what}`);
    if (length > BigInt(max)) {
      throw new GgufFormatError(`${what} claims a length of ${length} bytes at byte ${this.position - 8}; the file is corrupt`);
    }
    return (await this.bytes(Number(length), what)).toString("utf8");
  }

  /** Skips without keeping bytes; still fails if the file is shorter. */
  skip(n: number, what: string): void {
    if (this.position + n > this.fileBytes) {
      throw new GgufFormatError(`the file ends at byte ${this.fileBytes} while reading ${what} at byte ${this.position}: it is truncated (an incomplete download?)`);
    }
    this.position += n;
  }
}

const SCALAR_SIZES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

async function readScalar(reader: ChunkedReader, type: number, what: string): Promise<GgufScalar> {
  if (type === 8) return reader.string(what, MAX_STRING);
  const size = SCALAR_SIZES[type];
  if (size === undefined) throw new GgufFormatError(`${what} has an unknown value type ${type}; the file is corrupt`);
  const b = await reader.bytes(size, what);
  switch (type) {
    case 0:
      return b.readUInt8(0);
    case 1:
      return b.readInt8(0);
    case 2:
      return b.readUInt16LE(0);
    case 3:
      return b.readInt16LE(0);
    case 4:
      return b.readUInt32LE(0);
    case 5:
      return b.readInt32LE(0);
    case 6:
      return b.readFloatLE(0);
    case 7: {
      const v = b.readUInt8(0);
      if (v > 1) throw new GgufFormatError(`${what} is a boolean with value ${v}; the file is corrupt`);
      return v === 1;
    }
    case 10:
      return b.readBigUInt64LE(0);
    case 11:
      return b.readBigInt64LE(0);
    default:
      return b.readDoubleLE(0);
  }
}

async function readValue(reader: ChunkedReader, type: number, key: string): Promise<GgufValue> {
  if (type !== 9) return readScalar(reader, type, `the value of '${key}'`);
  const itemType = await reader.u32(`the item type of '${key}'`);
  // Stryker disable next-line ConditionalExpression: 9 has no scalar size either, so "itemType === 9" is belt and braces
  if (itemType === 9 || (itemType !== 8 && SCALAR_SIZES[itemType] === undefined)) {
    throw new GgufFormatError(`'${key}' is an array of unknown type ${itemType}; the file is corrupt`);
  }
  const count = await reader.u64(`the length of '${key}'`);
  if (count > BigInt(MAX_ARRAY)) throw new GgufFormatError(`'${key}' claims ${count} items; the file is corrupt`);
  const length = Number(count);
  const keep = length <= KEPT_ARRAY_LENGTH;
  const items: GgufScalar[] = [];
  const fixed = SCALAR_SIZES[itemType];
  if (!keep && fixed !== undefined && itemType !== 7) {
    reader.skip(fixed * length, `the items of '${key}'`);
  } else {
    for (let i = 0; i < length; i++) {
      const item = await readScalar(reader, itemType, `item ${i} of '${key}'`);
      // Stryker disable next-line ConditionalExpression: items pushed when not kept are never returned
      if (keep) items.push(item);
    }
  }
  const summary: GgufArraySummary = { arrayOf: VALUE_TYPE_NAMES[itemType] ?? String(itemType), length };
  if (keep) summary.items = items;
  return summary;
}

export function tensorBytes(type: number, dims: readonly bigint[], name: string): bigint {
  const size = GGML_TYPE_SIZES.get(type);
  if (!size) throw new GgufFormatError(`tensor '${name}' has tensor type ${type}, which this version of Bedside does not know`);
  const [blockSize, blockBytes] = size;
  let elements = 1n;
  for (const d of dims) elements *= d;
  if (dims.length > 0 && dims[0]! % BigInt(blockSize) !== 0n) {
    throw new GgufFormatError(`tensor '${name}' has a first dimension ${dims[0]} that is not a multiple of its block size ${blockSize}`);
  }
  return (elements / BigInt(blockSize)) * BigInt(blockBytes);
}

/** Reads and checks the header of the GGUF file at `path`. Throws GgufFormatError with a readable reason. */
export async function readGgufHeader(path: string): Promise<GgufHeader> {
  let stat;
  try {
    stat = await fs.stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new GgufFormatError(`there is no file at ${path}`);
    if (code === "EACCES") throw new GgufFormatError(`Bedside is not allowed to read ${path}`);
    throw new GgufFormatError(`cannot read ${path}: ${(error as Error).message}`);
  }
  if (stat.isDirectory()) throw new GgufFormatError(`${path} is a folder, not a model file: choose the .gguf file inside it`);
  if (!stat.isFile()) throw new GgufFormatError(`${path} is not a regular file`);

  const handle = await fs.open(path, "r");
  try {
    const reader = new ChunkedReader(handle, stat.size);
    if (stat.size < 24) throw new GgufFormatError(`the file is only ${stat.size} bytes long; a GGUF model is at least megabytes`);
    // Stryker disable next-line StringLiteral: the 24-byte check above means these four reads cannot run out of file
    const magic = await reader.bytes(4, "the magic number");
    if (magic.toString("latin1") !== "GGUF") {
      throw new GgufFormatError(`this is not a GGUF model file (it does not start with "GGUF"); Bedside runs GGUF files such as meditron-7b.Q4_K_M.gguf`);
    }
    // Stryker disable next-line StringLiteral: as above
    const version = await reader.u32("the version");
    if (version < 2 || version > 3) {
      throw new GgufFormatError(`GGUF version ${version} is not supported (versions 2 and 3 are); convert the model with a current llama.cpp`);
    }
    // Stryker disable next-line StringLiteral: as above
    const tensorCount = await reader.u64("the tensor count");
    // Stryker disable next-line StringLiteral: as above
    const kvCount = await reader.u64("the metadata count");
    if (tensorCount > BigInt(MAX_TENSORS) || tensorCount === 0n) {
      throw new GgufFormatError(`the header claims ${tensorCount} tensors; the file is corrupt`);
    }
    if (kvCount > BigInt(MAX_KV)) throw new GgufFormatError(`the header claims ${kvCount} metadata entries; the file is corrupt`);

    const metadata = new Map<string, GgufValue>();
    for (let i = 0n; i < kvCount; i++) {
      const key = await reader.string(`metadata key ${i}`, MAX_KEY);
      const type = await reader.u32(`the type of '${key}'`);
      metadata.set(key, await readValue(reader, type, key));
    }

    const tensors: GgufTensorInfo[] = [];
    for (let i = 0; i < Number(tensorCount); i++) {
      const name = await reader.string(`the name of tensor ${i}`, MAX_KEY);
      const nDims = await reader.u32(`the dimension count of '${name}'`);
      if (nDims < 1 || nDims > MAX_DIMS) throw new GgufFormatError(`tensor '${name}' claims ${nDims} dimensions; the file is corrupt`);
      const dims: bigint[] = [];
      for (let d = 0; d < nDims; d++) {
        const dim = await reader.u64(`dimension ${d} of '${name}'`);
        if (dim === 0n || dim > 1n << 40n) throw new GgufFormatError(`tensor '${name}' has dimension ${dim}; the file is corrupt`);
        dims.push(dim);
      }
      const type = await reader.u32(`the type of '${name}'`);
      const offset = await reader.u64(`the data offset of '${name}'`);
      tensors.push({ name, dims, type, offset, bytes: tensorBytes(type, dims, name) });
    }

    const alignmentValue = metadata.get("general.alignment");
    const alignment = typeof alignmentValue === "number" ? alignmentValue : 32;
    if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
      throw new GgufFormatError(`general.alignment is ${String(alignmentValue)}, not a power of two; the file is corrupt`);
    }
    const dataOffset = Math.ceil(reader.position / alignment) * alignment;
    const fileBytes = BigInt(stat.size);
    for (const t of tensors) {
      if (t.offset % BigInt(alignment) !== 0n) {
        throw new GgufFormatError(`tensor '${t.name}' starts at an unaligned offset ${t.offset}; the file is corrupt`);
      }
      const end = BigInt(dataOffset) + t.offset + t.bytes;
      if (end > fileBytes) {
        throw new GgufFormatError(`tensor '${t.name}' needs bytes up to ${end} but the file has ${stat.size}: the file is truncated (an incomplete download?) or corrupt`);
      }
    }
    return { version, fileBytes: stat.size, metadata, tensorCount: Number(tensorCount), dataOffset, tensors };
  } finally {
    await handle.close();
  }
}

/** Convenience accessors for the keys the host cares about. */
export function ggufString(header: GgufHeader, key: string): string | undefined {
  const v = header.metadata.get(key);
  return typeof v === "string" ? v : undefined;
}

export function ggufNumber(header: GgufHeader, key: string): number | undefined {
  const v = header.metadata.get(key);
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  return undefined;
}

export function ggufArchitecture(header: GgufHeader): string | undefined {
  return ggufString(header, "general.architecture");
}

export function ggufContextLength(header: GgufHeader): number | undefined {
  const arch = ggufArchitecture(header);
  return arch ? ggufNumber(header, `${arch}.context_length`) : undefined;
}
