/**
 * `npm run eval -- lm [--model FILE] [--untrained FILE] [--notes N] [--order N] [--window N] [--stride N]`: held-out perplexity and
 * bits per character of a GGUF language model on the held-out MTSamples notes (test/train/corpus.ts:
 * deduplicated by content, split by content hash), against
 *   - an interpolated Kneser-Ney token n-gram (test/eval/kneserNey.ts) counted on the training notes,
 *     tokenized with the model's own vocabulary (same tokens, same basis), and
 *   - the untrained model: the same shape and vocabulary with the seeded initial weights.
 * Defaults: the committed fixture test/fixtures/clinical-lm/bedside-clinical-tiny.gguf and its untrained twin.
 *
 * Each note is <s> + its tokens, scored in windows of the model's training context (or `--window` tokens, at
 * most that: to score models trained at different contexts alike, e.g. llama-finetune's 512) that start every
 * `--stride` tokens (default half the window; each window starts a fresh sequence and scores only the tokens
 * no earlier window scored), so every text token is predicted once, with at least half a window of context
 * except at a note's start. Perplexity is per token; bits per
 * character = total -log2 P / characters, which is comparable across tokenizers.
 * Ends with a JSON line {"perplexity", "ngram_perplexity", "untrained_perplexity", "bits_per_char", ...}.
 */
import type { LlamaModel, Token } from "node-llama-cpp";
import { FIXTURE_MODEL, FIXTURE_UNTRAINED } from "../train/run";
import { readClinicalCorpus } from "../train/corpus";
import { KneserNey } from "./kneserNey";
import { median } from "../bench/report";

function argValue(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export interface Score {
  nll: number;
  tokens: number;
  /** Per document, in input order. */
  perDoc?: { nll: number; tokens: number }[];
}

function sumOf(scores: readonly { nll: number; tokens: number }[]): Score {
  return scores.reduce<Score>((a, s) => ({ nll: a.nll + s.nll, tokens: a.tokens + s.tokens }), { nll: 0, tokens: 0 });
}

/** Share of a note's word 8-grams that occur in the training notes: near-duplicate templates score high. */
export function trainOverlap(text: string, trainGrams: ReadonlySet<string>): number {
  const grams = wordGrams(text);
  return grams.length ? grams.filter((g) => trainGrams.has(g)).length / grams.length : 0;
}

export function wordGrams(text: string, n = 8): string[] {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  const grams: string[] = [];
  for (let i = 0; i + n <= words.length; i++) grams.push(words.slice(i, i + n).join(" "));
  return grams;
}

/** Sum of -ln P(token) over the notes' tokens, through node-llama-cpp's controlled evaluation. */
/**
 * Every logit of every position comes back and the log-sum-exp is computed here: node-llama-cpp's
 * `totalLogitWeight` gave a smaller total than the full distribution (perplexity 78 where torch and the full
 * logits agree on 188 for the same model and notes), so it is not used.
 */
export async function scoreModel(model: LlamaModel, docs: readonly Token[][], window: number, stride = window): Promise<Score> {
  const context = await model.createContext({ contextSize: window, threads: 1, batchSize: window });
  const sequence = context.getSequence();
  const vocabSize = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
  let nll = 0;
  let tokens = 0;
  const perDoc: { nll: number; tokens: number }[] = [];
  try {
    for (const doc of docs) {
      const before = { nll, tokens };
      const ids: Token[] = [model.tokens.bos as Token, ...doc];
      // Windows of `window` tokens every `stride` tokens; each scores only the tokens no earlier window
      // scored, so every token is predicted once, with at least window - stride tokens before it (except
      // at a note's start).
      for (let start = 0; ; start += stride) {
        const chunk = ids.slice(start, Math.min(ids.length, start + window + 1));
        const firstScored = start === 0 ? 0 : window - stride;
        await sequence.clearHistory();
        const output = await sequence.controlledEvaluate(chunk.slice(0, -1).map((token, i) => (i >= firstScored ? [token, { generateNext: { logits: true } }] : token)));
        output.forEach((result, i) => {
          if (i < firstScored) return;
          const next = chunk[i + 1] as Token;
          const logits = result?.next.logits;
          if (!logits || logits.size !== vocabSize) throw new Error("no full logits from controlledEvaluate");
          const values = [...logits.values()];
          const max = Math.max(...values);
          const logit = logits.get(next);
          if (logit === undefined) throw new Error("missing logit of the next token");
          const logTotal = Math.log(values.reduce((sum, v) => sum + Math.exp(v - max), 0));
          nll -= logit - max - logTotal;
          tokens++;
        });
        if (start + window >= ids.length - 1) break;
      }
      perDoc.push({ nll: nll - before.nll, tokens: tokens - before.tokens });
    }
  } finally {
    await context.dispose();
  }
  return { nll, tokens, perDoc };
}

export async function run(args: string[]): Promise<void> {
  const modelPath = argValue(args, "--model") ?? FIXTURE_MODEL;
  const untrainedPath = argValue(args, "--untrained") ?? FIXTURE_UNTRAINED;
  const order = Number(argValue(args, "--order") ?? 4);
  const corpus = readClinicalCorpus();
  if (!corpus) throw new Error("No MTSamples notes (../shared/data/mtsamples); set BEDSIDE_SHARED_DATA.");
  const limit = Number(argValue(args, "--notes") ?? corpus.heldoutNotes.length);
  const heldout = corpus.heldoutNotes.slice(0, limit);

  const lib = await import("node-llama-cpp");
  const llama = await lib.getLlama({ gpu: false, build: "never", logLevel: lib.LlamaLogLevel.error });
  try {
    const model = await llama.loadModel({ modelPath });
    const window = Number(argValue(args, "--window") ?? model.trainContextSize);
    if (!(window > 0 && window <= model.trainContextSize)) throw new Error(`--window must be 1..${model.trainContextSize} (the model's training context)`);
    // Half-window stride by default (the usual sliding-window perplexity); --stride WINDOW gives disjoint windows.
    const stride = Number(argValue(args, "--stride") ?? Math.floor(window / 2));
    const chars = heldout.reduce((s, n) => s + n.text.length, 0);
    const heldoutTokens = heldout.map((n) => model.tokenize(n.text));
    console.log(
      `lm: ${modelPath}\n  ${heldout.length} held-out notes (${chars} characters, ${heldoutTokens.reduce((s, d) => s + d.length, 0)} tokens), window ${window}, stride ${stride}`,
    );

    const t0 = Date.now();
    const trained = await scoreModel(model, heldoutTokens, window, stride);
    console.log(`  trained model scored in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

    const kn = new KneserNey({ order, vocabSize: model.fileInfo.metadata.tokenizer.ggml.tokens.length, startToken: model.tokens.bos as number });
    kn.train(corpus.trainNotes.map((n) => model.tokenize(n.text) as number[]));
    const ngramDocs = heldoutTokens.map((doc) => kn.negativeLogLikelihood(doc as number[]));
    const ngram: Score = { ...sumOf(ngramDocs), perDoc: ngramDocs };
    await model.dispose();

    let untrained: Score | undefined;
    try {
      const u = await llama.loadModel({ modelPath: untrainedPath });
      untrained = await scoreModel(u, heldoutTokens, window, stride);
      await u.dispose();
    } catch (error) {
      console.log(`  untrained model not scored (${untrainedPath}): ${error instanceof Error ? error.message : String(error)}`);
    }

    const ppl = (s: Score): number => Math.exp(s.nll / s.tokens);
    const bpc = (s: Score): number => s.nll / Math.LN2 / chars;
    // MTSamples shares template text across distinct notes: the "novel" held-out notes are those with under
    // half of their word 8-grams in the training notes, where memorising templates helps least.
    const trainGrams = new Set(corpus.trainNotes.flatMap((n) => wordGrams(n.text)));
    const overlaps = heldout.map((n) => trainOverlap(n.text, trainGrams));
    const novel = overlaps.flatMap((o, i) => (o < 0.5 ? [i] : []));
    const novelChars = novel.reduce((s, i) => s + heldout[i]!.text.length, 0);
    const subset = (s: Score | undefined): Score | undefined => (s?.perDoc ? sumOf(novel.map((i) => s.perDoc![i]!)) : undefined);
    const novelBpc = (s: Score | undefined): number | null => {
      const sub = subset(s);
      return sub ? Number((sub.nll / Math.LN2 / novelChars).toFixed(4)) : null;
    };
    console.log(`  held-out notes' share of word 8-grams seen in training notes: median ${median(overlaps).toFixed(2)}; ${novel.length} notes under 0.5 ("novel")`);
    const rows: [string, Score | undefined][] = [
      ["trained model", trained],
      [`Kneser-Ney ${order}-gram (train notes)`, ngram],
      ["untrained model", untrained],
    ];
    console.log("\n| model | tokens | perplexity (per token) | bits per character | bits per character, novel notes |\n|---|---|---|---|---|");
    for (const [name, s] of rows) if (s) console.log(`| ${name} | ${s.tokens} | ${ppl(s).toFixed(2)} | ${bpc(s).toFixed(3)} | ${novelBpc(s) ?? "-"} |`);
    const result = {
      perplexity: Number(ppl(trained).toFixed(3)),
      ngram_perplexity: Number(ppl(ngram).toFixed(3)),
      untrained_perplexity: untrained ? Number(ppl(untrained).toFixed(3)) : null,
      bits_per_char: Number(bpc(trained).toFixed(4)),
      ngram_bits_per_char: Number(bpc(ngram).toFixed(4)),
      untrained_bits_per_char: untrained ? Number(bpc(untrained).toFixed(4)) : null,
      ngram_order: order,
      median_train_8gram_overlap: Number(median(overlaps).toFixed(3)),
      novel_notes: novel.length,
      novel_bits_per_char: novelBpc(trained),
      novel_ngram_bits_per_char: novelBpc(ngram),
      novel_untrained_bits_per_char: novelBpc(untrained),
      heldout_notes: heldout.length,
      heldout_chars: chars,
      heldout_tokens: trained.tokens,
      window,
      stride,
      model: modelPath,
    };
    console.log(JSON.stringify(result));
  } finally {
    await llama.dispose();
  }
}
