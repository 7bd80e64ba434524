/**
 * The library's own inverted index, pure parts: posting lists (document id, term frequency) in blocks of
 * 128 with a per-block bound (largest term frequency, shortest document), and the exact top-k search over
 * them with MaxScore dynamic pruning (Turtle & Flood 1995, as Lucene's MaxScoreBulkScorer) plus block-max
 * bounds (Ding & Suel 2011). Scores are Lucene BM25 exactly as `bm25Score` computes them, summed in query
 * order, so the ranking equals an exhaustive BM25 over the same documents. No SQL here.
 */
import { bm25TermScore, LUCENE_BM25, type Bm25Params } from "./bm25";

export const BLOCK = 128;

/** Little-endian base-128 integers. */
class ByteWriter {
  private buffer = new Uint8Array(256);
  length = 0;

  uint(value: number): void {
    if (this.length + 5 > this.buffer.length) {
      const grown = new Uint8Array(this.buffer.length * 2);
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    while (value >= 0x80) {
      this.buffer[this.length++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    this.buffer[this.length++] = value;
  }

  bytes(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }

  reset(): this {
    this.length = 0;
    return this;
  }

  /** Appends the written bytes to `out` at `at`. */
  copyTo(out: Uint8Array, at: number): void {
    out.set(this.buffer.subarray(0, this.length), at);
  }
}

// Reused by every encoding (an import encodes tens of thousands of lists per batch).
const headerWriter = new ByteWriter();
const payloadWriter = new ByteWriter();

/**
 * One posting list, ids ascending: header (count, blocks; per block the last id as a delta, the payload's
 * byte length, the block's largest tf and shortest length), then the payloads (id deltas and tfs).
 */
export function encodePostings(ids: ArrayLike<number>, tfs: ArrayLike<number>, lengths: ArrayLike<number>): Uint8Array {
  const n = ids.length;
  const header = headerWriter.reset();
  const payload = payloadWriter.reset();
  const blocks = Math.ceil(n / BLOCK);
  header.uint(n);
  header.uint(blocks);
  let previous = -1;
  for (let b = 0; b < blocks; b++) {
    const start = payload.length;
    let maxTf = 0;
    let minLength = Infinity;
    const blockStart = previous;
    for (let i = b * BLOCK; i < Math.min(n, (b + 1) * BLOCK); i++) {
      payload.uint(ids[i] - previous);
      payload.uint(tfs[i]);
      previous = ids[i];
      if (tfs[i] > maxTf) maxTf = tfs[i];
      if (lengths[i] < minLength) minLength = lengths[i];
    }
    header.uint(previous - blockStart);
    header.uint(payload.length - start);
    header.uint(maxTf);
    header.uint(minLength);
  }
  const out = new Uint8Array(header.length + payload.length);
  header.copyTo(out, 0);
  payload.copyTo(out, header.length);
  return out;
}

/** All (id, tf) pairs of a list. */
export function decodePostings(data: Uint8Array): { ids: Int32Array; tfs: Int32Array } {
  const cursor = new PostingCursor(data);
  const ids = new Int32Array(cursor.count);
  const tfs = new Int32Array(cursor.count);
  for (let i = 0; cursor.doc !== END; i++, cursor.next()) {
    ids[i] = cursor.doc;
    tfs[i] = cursor.tf;
  }
  return { ids, tfs };
}

export const END = 2 ** 31 - 1;

/** Reads a posting list in id order, decoding a block only when it is entered. */
export class PostingCursor {
  readonly count: number;
  readonly blocks: number;
  readonly lastIds: Int32Array;
  readonly maxTfs: Int32Array;
  readonly minLengths: Int32Array;
  private readonly offsets: Int32Array;
  private readonly data: Uint8Array;
  private block = -1;
  private readonly ids = new Int32Array(BLOCK);
  private readonly tfs = new Int32Array(BLOCK);
  private inBlock = 0;
  private position = 0;
  doc = -1;
  tf = 0;

  constructor(data: Uint8Array) {
    this.data = data;
    let p = 0;
    const read = (): number => {
      let value = 0;
      let shift = 0;
      for (;;) {
        const byte = data[p++];
        value += (byte & 0x7f) * 2 ** shift;
        if (byte < 0x80) return value;
        shift += 7;
      }
    };
    this.count = read();
    this.blocks = read();
    this.lastIds = new Int32Array(this.blocks);
    this.offsets = new Int32Array(this.blocks + 1);
    this.maxTfs = new Int32Array(this.blocks);
    this.minLengths = new Int32Array(this.blocks);
    let last = -1;
    const lengths = new Int32Array(this.blocks);
    for (let b = 0; b < this.blocks; b++) {
      last += read();
      this.lastIds[b] = last;
      lengths[b] = read();
      this.maxTfs[b] = read();
      this.minLengths[b] = read();
    }
    this.offsets[0] = p;
    for (let b = 0; b < this.blocks; b++) this.offsets[b + 1] = this.offsets[b] + lengths[b];
    this.enter(0);
  }

  private enter(block: number): void {
    this.block = block;
    if (block >= this.blocks) {
      this.doc = END;
      return;
    }
    const data = this.data;
    let p = this.offsets[block];
    const end = this.offsets[block + 1];
    let previous = block > 0 ? this.lastIds[block - 1] : -1;
    let i = 0;
    while (p < end) {
      let value = 0;
      let shift = 0;
      let byte: number;
      do {
        byte = data[p++];
        value += (byte & 0x7f) * 2 ** shift;
        shift += 7;
      } while (byte >= 0x80);
      previous += value;
      this.ids[i] = previous;
      value = 0;
      shift = 0;
      do {
        byte = data[p++];
        value += (byte & 0x7f) * 2 ** shift;
        shift += 7;
      } while (byte >= 0x80);
      this.tfs[i++] = value;
    }
    this.inBlock = i;
    this.position = 0;
    this.doc = this.ids[0];
    this.tf = this.tfs[0];
  }

  next(): void {
    if (this.doc === END) return;
    if (++this.position < this.inBlock) {
      this.doc = this.ids[this.position];
      this.tf = this.tfs[this.position];
    } else this.enter(this.block + 1);
  }

  /** The block that would hold `target` (blocks when past the end), without decoding it. */
  blockFor(target: number): number {
    let b = Math.max(this.block, 0);
    if (b >= this.blocks || this.lastIds[b] >= target) return b;
    let lo = b + 1;
    let hi = this.blocks;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.lastIds[mid] < target) lo = mid + 1;
      else hi = mid;
    }
    b = lo;
    return b;
  }

  /** Moves to the first posting with id >= target. */
  advance(target: number): void {
    if (this.doc >= target) return;
    const b = this.blockFor(target);
    if (b !== this.block) this.enter(b);
    while (this.doc < target) this.next();
  }
}

/** What `topK` needs of the index for one group of posting lists (a segment). */
export interface ScoredList {
  /** Position of the term in the query (scores are summed in this order). */
  queryIndex: number;
  idf: number;
  cursor: PostingCursor;
}

export interface TopKHit {
  id: number;
  score: number;
}

/** Best first: higher score, then lower id (the order of the exhaustive ranking). */
const better = (a: TopKHit, b: TopKHit): boolean => a.score > b.score || (a.score === b.score && a.id < b.id);

/** The k best hits seen so far, worst at the root. */
export class TopK {
  readonly heap: TopKHit[] = [];
  constructor(readonly k: number) {}

  /** The score a document must reach to possibly enter (-Infinity while not full). */
  get threshold(): number {
    return this.heap.length < this.k ? -Infinity : this.heap[0].score;
  }

  /** Whether a document with this score and id would enter. */
  wouldEnter(hit: TopKHit): boolean {
    return this.heap.length < this.k || better(hit, this.heap[0]);
  }

  offer(hit: TopKHit): void {
    const heap = this.heap;
    if (heap.length < this.k) {
      heap.push(hit);
      for (let i = heap.length - 1; i > 0;) {
        const parent = (i - 1) >> 1;
        if (!better(heap[parent], heap[i])) break;
        [heap[parent], heap[i]] = [heap[i], heap[parent]];
        i = parent;
      }
      return;
    }
    if (!better(hit, heap[0])) return;
    heap[0] = hit;
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let worst = i;
      if (l < heap.length && better(heap[worst], heap[l])) worst = l;
      if (r < heap.length && better(heap[worst], heap[r])) worst = r;
      if (worst === i) break;
      [heap[worst], heap[i]] = [heap[i], heap[worst]];
      i = worst;
    }
  }

  sorted(): TopKHit[] {
    return [...this.heap].sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0));
  }
}

/** Relative slack on bounds, so float rounding never prunes a document that could tie or win. */
const SLACK = 1 + 1e-9;

export interface SearchCounters {
  /** Documents whose score was computed in full. */
  scored: number;
}

/**
 * Adds the best documents of one segment to `top`, exactly: MaxScore splits the lists (lowest bound first)
 * into non-essential ones, whose bounds together cannot reach the current k-th score, and essential ones,
 * whose documents are the only candidates; a candidate is completed from the non-essential lists only while
 * its score plus their (block-max) bounds can still enter.
 */
export function topKMaxScore(
  lists: readonly ScoredList[],
  queryLength: number,
  top: TopK,
  length: (id: number) => number,
  avgLength: number,
  accept: (id: number) => boolean = () => true,
  counters: SearchCounters = { scored: 0 },
  params: Bm25Params = LUCENE_BM25,
): void {
  const m = lists.length;
  if (m === 0) return;
  const termBound = (list: ScoredList, maxTf: number, minLength: number): number => bm25TermScore(list.idf, maxTf, minLength, avgLength, params);
  const blockBound = (list: ScoredList, block: number): number => (block < list.cursor.blocks ? termBound(list, list.cursor.maxTfs[block], list.cursor.minLengths[block]) : 0);
  const bounds = lists.map((list) => {
    let best = 0;
    for (let b = 0; b < list.cursor.blocks; b++) best = Math.max(best, blockBound(list, b));
    return best;
  });
  const order = lists.map((_, i) => i).sort((a, b) => bounds[a] - bounds[b]);
  const sortedLists = order.map((i) => lists[i]);
  const ub = order.map((i) => bounds[i]);
  const prefix = new Float64Array(m);
  ub.forEach((u, i) => (prefix[i] = (i > 0 ? prefix[i - 1] : 0) + u));
  const contributions = new Float64Array(queryLength);
  const present = new Uint8Array(queryLength);
  let essential = 0;
  const updateEssential = (): void => {
    const threshold = top.threshold;
    while (essential < m && prefix[essential] * SLACK < threshold) essential++;
  };
  updateEssential();
  while (essential < m) {
    let doc = END;
    for (let j = essential; j < m; j++) if (sortedLists[j].cursor.doc < doc) doc = sortedLists[j].cursor.doc;
    if (doc === END) break;
    present.fill(0);
    let partial = 0;
    const docLength = length(doc);
    for (let j = essential; j < m; j++) {
      const list = sortedLists[j];
      if (list.cursor.doc === doc) {
        const c = bm25TermScore(list.idf, list.cursor.tf, docLength, avgLength, params);
        contributions[list.queryIndex] = c;
        present[list.queryIndex] = 1;
        partial += c;
        list.cursor.next();
      }
    }
    const threshold = top.threshold;
    let pruned = false;
    for (let j = essential - 1; j >= 0; j--) {
      const list = sortedLists[j];
      // Cheap test with the term bounds, then with this list's block bound.
      if ((partial + prefix[j]) * SLACK < threshold) {
        pruned = true;
        break;
      }
      if ((partial + (j > 0 ? prefix[j - 1] : 0) + blockBound(list, list.cursor.blockFor(doc))) * SLACK < threshold) {
        pruned = true;
        break;
      }
      list.cursor.advance(doc);
      if (list.cursor.doc === doc) {
        const c = bm25TermScore(list.idf, list.cursor.tf, docLength, avgLength, params);
        contributions[list.queryIndex] = c;
        present[list.queryIndex] = 1;
        partial += c;
      }
    }
    if (pruned) continue;
    // Recompute in query order, as the exhaustive ranking sums.
    let score = 0;
    for (let q = 0; q < queryLength; q++) if (present[q]) score += contributions[q];
    counters.scored++;
    const hit = { id: doc, score };
    if (top.wouldEnter(hit) && accept(doc)) {
      top.offer(hit);
      updateEssential();
    }
  }
}
