/**
 * An interpolated Kneser-Ney n-gram over token ids (Chen & Goodman 1998, one absolute discount per
 * order), the baseline a reader knows for held-out perplexity. Built from the same training text as the
 * trained model, tokenized with the model's own vocabulary, so its per-token perplexity and bits per
 * character sit on the same basis as the model's.
 *
 *   P(w | h) = max(c(h w) - D, 0) / c(h) + D * N1+(h .) / c(h) * P(w | h')      (highest order: counts)
 * lower orders use continuation counts N1+(. h w) in place of c(h w); the unigram is interpolated with
 * the uniform distribution over the vocabulary, so no token has probability zero.
 *
 * Pure (no I/O). Keys pack up to 4 token ids below 2^13 into one number (exact below 2^53).
 */
const ID_BITS = 2 ** 13;

export interface KneserNeyOptions {
  readonly order: number;
  readonly vocabSize: number;
  readonly discount?: number;
  /** Token that pads the context at the start of each document. */
  readonly startToken: number;
}

interface OrderTable {
  /** (context, token) -> count (highest order) or continuation count (lower orders). */
  readonly counts: Map<number, number>;
  /** context -> sum of counts over tokens. */
  readonly totals: Map<number, number>;
  /** context -> number of distinct tokens with a nonzero count. */
  readonly distinct: Map<number, number>;
}

function key(ids: readonly number[], from: number, to: number): number {
  let k = 1; // leading 1 so contexts of different lengths never collide
  for (let i = from; i < to; i++) k = k * ID_BITS + (ids[i] as number);
  return k;
}

export class KneserNey {
  private readonly order: number;
  private readonly vocabSize: number;
  private readonly discount: number;
  private readonly startToken: number;
  /** tables[n-1] holds n-grams (n = 1..order). */
  private readonly tables: OrderTable[] = [];

  constructor(options: KneserNeyOptions) {
    if (options.order < 1 || options.order > 4) throw new Error("order must be 1..4");
    if (options.vocabSize > ID_BITS) throw new Error(`vocabulary above ${ID_BITS} tokens`);
    this.order = options.order;
    this.vocabSize = options.vocabSize;
    this.discount = options.discount ?? 0.75;
    this.startToken = options.startToken;
  }

  private padded(doc: readonly number[]): number[] {
    return [...new Array<number>(this.order - 1).fill(this.startToken), ...doc];
  }

  /** Counts all documents (each a token id sequence, without the start padding). */
  train(documents: Iterable<readonly number[]>): void {
    const n = this.order;
    const top = new Map<number, number>();
    for (const doc of documents) {
      const ids = this.padded(doc);
      for (let i = n - 1; i < ids.length; i++) {
        const k = key(ids, i - n + 1, i + 1);
        top.set(k, (top.get(k) ?? 0) + 1);
      }
    }
    // Continuation counts of order m: distinct (m+1)-grams ending in the m-gram.
    const byOrder: Map<number, number>[] = new Array<Map<number, number>>(n);
    byOrder[n - 1] = top;
    for (let m = n - 1; m >= 1; m--) {
      const higher = byOrder[m] as Map<number, number>;
      const cont = new Map<number, number>();
      for (const k of higher.keys()) {
        const lower = dropFirst(k, m + 1);
        cont.set(lower, (cont.get(lower) ?? 0) + 1);
      }
      byOrder[m - 1] = cont;
    }
    for (let m = 1; m <= n; m++) {
      const counts = byOrder[m - 1] as Map<number, number>;
      const totals = new Map<number, number>();
      const distinct = new Map<number, number>();
      for (const [k, c] of counts) {
        const ctx = Math.floor(k / ID_BITS); // drop the last token
        totals.set(ctx, (totals.get(ctx) ?? 0) + c);
        distinct.set(ctx, (distinct.get(ctx) ?? 0) + 1);
      }
      this.tables.push({ counts, totals, distinct });
    }
  }

  /** P(token | the previous order-1 tokens of `ids` before position i). */
  probability(ids: readonly number[], i: number): number {
    let p = 1 / this.vocabSize;
    const D = this.discount;
    for (let m = 1; m <= this.order; m++) {
      const table = this.tables[m - 1] as OrderTable;
      const ctx = key(ids, i - m + 1, i);
      const total = table.totals.get(ctx);
      if (total === undefined) continue; // unseen context: keep the lower-order estimate
      const c = table.counts.get(ctx * ID_BITS + (ids[i] as number)) ?? 0;
      const distinct = table.distinct.get(ctx) ?? 0;
      p = Math.max(c - D, 0) / total + ((D * distinct) / total) * p;
    }
    return p;
  }

  /** Sum of -ln P over the document's tokens (each predicted from its padded history). */
  negativeLogLikelihood(doc: readonly number[]): { nll: number; tokens: number } {
    const ids = this.padded(doc);
    let nll = 0;
    for (let i = this.order - 1; i < ids.length; i++) nll -= Math.log(this.probability(ids, i));
    return { nll, tokens: doc.length };
  }
}

/** Removes the first of `length` packed ids from a key. */
function dropFirst(k: number, length: number): number {
  const scale = ID_BITS ** length;
  const withoutLead = k - scale; // strip the leading 1
  const rest = withoutLead % ID_BITS ** (length - 1);
  return ID_BITS ** (length - 1) + rest;
}
