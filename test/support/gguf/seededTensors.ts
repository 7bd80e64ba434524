/**
 * Deterministic pseudo-random numbers and tensor-data producers for generated GGUF test models.
 *
 * Every tensor gets its own stream, seeded from (model seed, tensor name), so a tensor's bytes do not
 * depend on which tensors come before it and a producer can be restarted.
 */
import { float32ToFloat16Bits, ggmlTensorByteSize, ggmlTensorElementCount, type GgmlType } from "./ggufWriter";

/** xorshift128 (Marsaglia 2003): tiny, fast in a tight JavaScript loop, and good enough for test weights. */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    // splitmix32 spreads a small seed over the four words (an all-zero state would stick at zero).
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next() | 1;
  }

  nextUint32(): number {
    let t = this.d;
    const s = this.a;
    this.d = this.c;
    this.c = this.b;
    this.b = s;
    t ^= t << 11;
    t ^= t >>> 8;
    this.a = (t ^ s ^ (s >>> 19)) >>> 0;
    return this.a;
  }

  /** Uniform in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  nextInt(n: number): number {
    return Math.floor(this.nextFloat() * n);
  }

  /** Fills with uniform 32-bit words; the same loop as nextUint32 with the state in locals, for speed. */
  fillUint32(out: Uint32Array): void {
    let a = this.a;
    let b = this.b;
    let c = this.c;
    let d = this.d;
    for (let i = 0; i < out.length; i++) {
      let t = d;
      const s = a;
      d = c;
      c = b;
      b = s;
      t ^= t << 11;
      t ^= t >>> 8;
      a = (t ^ s ^ (s >>> 19)) >>> 0;
      out[i] = a;
    }
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
  }
}

/** A 32-bit seed from a model seed and a tensor name (FNV-1a over the name, mixed with the seed). */
export function seedFor(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const F32_CHUNK_ELEMENTS = 1 << 20; // 4 MiB per chunk
const Q4_0_CHUNK_BLOCKS = 1 << 18; // 4.5 MiB per chunk

/** The spread of Q4_0's 4-bit codes around their zero point 8: codes 0..15 uniform give (q - 8) std sqrt(255/12). */
const Q4_0_CODE_STD = Math.sqrt(255 / 12);

/**
 * Producer of a tensor of uniform random weights with standard deviation `std` (uniform on [-a, a],
 * a = std * sqrt(3)). Q4_0 blocks get random nibbles and a scale of fixed magnitude with a random sign:
 * the codes average -0.5 around the zero point, so all-positive scales would bias every weight the same
 * way, and a random model then repeats one token.
 */
export function randomTensorData(
  type: GgmlType,
  shape: readonly number[],
  std: number,
  seed: number,
  options: { readonly zeroRows?: readonly number[] } = {},
): () => Iterable<Uint8Array> {
  const zeroRows = options.zeroRows ?? [];
  if (zeroRows.length === 0) return () => randomChunks(type, shape, std, seed);
  // All-zero bytes are zero weights in F32, F16 and Q4_0 alike (a Q4_0 block with scale 0).
  const rowBytes = ggmlTensorByteSize(type, [shape[0] ?? 1]);
  return function* produce() {
    let offset = 0;
    for (const chunk of randomChunks(type, shape, std, seed)) {
      const end = offset + chunk.length;
      for (const row of zeroRows) {
        const from = Math.max(row * rowBytes, offset);
        const to = Math.min((row + 1) * rowBytes, end);
        if (from < to) chunk.fill(0, from - offset, to - offset);
      }
      offset = end;
      yield chunk;
    }
  };
}

function* randomChunks(type: GgmlType, shape: readonly number[], std: number, seed: number): Iterable<Uint8Array> {
  const rng = new SeededRandom(seed);
  const elements = ggmlTensorElementCount(shape);
  const halfWidth = std * Math.sqrt(3);

  if (type === "Q4_0") {
    const blocks = ggmlTensorByteSize("Q4_0", shape) / 18;
    const scaleBits = float32ToFloat16Bits(std / Q4_0_CODE_STD);
    const chunkBlocks = Math.min(blocks, Q4_0_CHUNK_BLOCKS);
    // Fill whole 32-bit words of random bytes, then overwrite each block's 2 scale bytes; the sign bit
    // of the scale comes from the random byte that was there.
    const words = new Uint32Array(Math.ceil((chunkBlocks * 18) / 4));
    const bytes = new Uint8Array(words.buffer);
    const scaleLow = scaleBits & 0xff;
    const scaleHigh = (scaleBits >>> 8) & 0x7f;
    for (let done = 0; done < blocks; done += chunkBlocks) {
      const n = Math.min(chunkBlocks, blocks - done);
      rng.fillUint32(words);
      for (let i = 0, at = 0; i < n; i++, at += 18) {
        bytes[at] = scaleLow;
        bytes[at + 1] = scaleHigh | ((bytes[at + 1] as number) & 0x80);
      }
      yield bytes.subarray(0, n * 18);
    }
    return;
  }

  const chunkElements = Math.min(elements, F32_CHUNK_ELEMENTS);
  if (type === "F32") {
    const values = new Float32Array(chunkElements);
    for (let done = 0; done < elements; done += chunkElements) {
      const n = Math.min(chunkElements, elements - done);
      for (let i = 0; i < n; i++) values[i] = (rng.nextFloat() * 2 - 1) * halfWidth;
      yield new Uint8Array(values.buffer, 0, n * 4);
    }
    return;
  }

  // F16
  const halves = new Uint16Array(chunkElements);
  for (let done = 0; done < elements; done += chunkElements) {
    const n = Math.min(chunkElements, elements - done);
    for (let i = 0; i < n; i++) halves[i] = float32ToFloat16Bits((rng.nextFloat() * 2 - 1) * halfWidth);
    yield new Uint8Array(halves.buffer, 0, n * 2);
  }
}

/** Producer of an F32 tensor with every element `value` (norm weights of 1, biases of 0). */
export function constantF32Data(shape: readonly number[], value: number): () => Iterable<Uint8Array> {
  return function* produce() {
    const elements = ggmlTensorElementCount(shape);
    const chunkElements = Math.min(elements, F32_CHUNK_ELEMENTS);
    const values = new Float32Array(chunkElements).fill(value);
    for (let done = 0; done < elements; done += chunkElements) {
      const n = Math.min(chunkElements, elements - done);
      yield new Uint8Array(values.buffer, 0, n * 4);
    }
  };
}
