/**
 * `npm run eval -- lm [--model FILE] [--untrained FILE] [--notes N] [--order N]`: held-out perplexity and
 * bits per character of a GGUF language model on the held-out MTSamples notes (test/train/corpus.ts:
 * deduplicated by content, split by content hash), against
 *   - an interpolated Kneser-Ney token n-gram (test/eval/kneserNey.ts) counted on the training notes,
 *     tokenized with the model's own vocabulary (same tokens, same basis), and
 *   - the untrained model: the same shape and vocabulary with the seeded initial weights.
 * Defaults: the committed fixture test/fixtures/clinical-lm/bedside-clinical-tiny.gguf and its untrained twin.
 *
 * Each note is <s> + its tokens, scored in windows of the model's training context (no overlap; each
 * window starts a fresh sequence), every text token predicted once. Perplexity is per token; bits per
 * character = total -log2 P / characters, which is comparable across tokenizers.
 * Ends with a JSON line {"perplexity", "ngram_perplexity", "untrained_perplexity", "bits_per_char", ...}.
 */
import type { LlamaModel, Token } from "node-llama-cpp";
import { FIXTURE_MODEL, FIXTURE_UNTRAINED } from "../train/run";
import { readClinicalCorpus } from "../train/corpus";
import { KneserNey } from "./kneserNey";

function argValue(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export interface Score {
  nll: number;
  tokens: number;
}

/** Sum of -ln P(token) over the notes' tokens, through node-llama-cpp's controlled evaluation. */
/** Sampling options that leave the distribution whole: the total logit weight then covers every token. */
const UNTRUNCATED = { temperature: 1, topK: 0, topP: 1, minP: 0 } as const;

export async function scoreModel(model: LlamaModel, docs: readonly Token[][], window: number, fullLogits = true): Promise<Score> {
  const context = await model.createContext({ contextSize: window, threads: 1, batchSize: window });
  const sequence = context.getSequence();
  let nll = 0;
  let tokens = 0;
  try {
    for (const doc of docs) {
      const ids: Token[] = [model.tokens.bos as Token, ...doc];
      for (let start = 0; start < ids.length - 1; start += window) {
        const chunk = ids.slice(start, Math.min(ids.length, start + window + 1));
        await sequence.clearHistory();
        const input = chunk.slice(0, -1).map((token, i) => [token, { generateNext: { logits: fullLogits ? true : { filter: { tokens: [chunk[i + 1] as Token], includeMax: true } }, totalLogitWeight: true, options: UNTRUNCATED } }] as const);
        const output = await sequence.controlledEvaluate(input.map(([t, o]) => [t, o]));
        output.forEach((result, i) => {
          const next = chunk[i + 1] as Token;
          const logits = result?.next.logits;
          const total = result?.next.totalLogitWeight;
          if (!logits || total === undefined) throw new Error("no logits from controlledEvaluate");
          const values = [...logits.values()];
          const max = Math.max(...values);
          const logit = logits.get(next);
          if (logit === undefined) throw new Error("missing logit of the next token");
          // With every logit at hand, the log-sum-exp is computed here (checks the total logit weight).
          const logTotal = fullLogits ? Math.log(values.reduce((sum, v) => sum + Math.exp(v - max), 0)) : Math.log(total);
          nll -= logit - max - logTotal;
          tokens++;
        });
      }
    }
  } finally {
    await context.dispose();
  }
  return { nll, tokens };
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
    const window = model.trainContextSize;
    const chars = heldout.reduce((s, n) => s + n.text.length, 0);
    const heldoutTokens = heldout.map((n) => model.tokenize(n.text));
    console.log(`lm: ${modelPath}\n  ${heldout.length} held-out notes (${chars} characters, ${heldoutTokens.reduce((s, d) => s + d.length, 0)} tokens), window ${window}`);

    const t0 = Date.now();
    const trained = await scoreModel(model, heldoutTokens, window);
    console.log(`  trained model scored in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

    const kn = new KneserNey({ order, vocabSize: model.fileInfo.metadata.tokenizer.ggml.tokens.length, startToken: model.tokens.bos as number });
    kn.train(corpus.trainNotes.map((n) => model.tokenize(n.text) as number[]));
    const ngram = heldoutTokens.reduce<Score>((acc, doc) => {
      const s = kn.negativeLogLikelihood(doc as number[]);
      return { nll: acc.nll + s.nll, tokens: acc.tokens + s.tokens };
    }, { nll: 0, tokens: 0 });
    await model.dispose();

    let untrained: Score | undefined;
    try {
      const u = await llama.loadModel({ modelPath: untrainedPath });
      untrained = await scoreModel(u, heldoutTokens, window);
      await u.dispose();
    } catch (error) {
      console.log(`  untrained model not scored (${untrainedPath}): ${error instanceof Error ? error.message : String(error)}`);
    }

    const ppl = (s: Score): number => Math.exp(s.nll / s.tokens);
    const bpc = (s: Score): number => s.nll / Math.LN2 / chars;
    const rows: [string, Score | undefined][] = [["trained model", trained], [`Kneser-Ney ${order}-gram (train notes)`, ngram], ["untrained model", untrained]];
    console.log("\n| model | tokens | perplexity (per token) | bits per character |\n|---|---|---|---|");
    for (const [name, s] of rows) if (s) console.log(`| ${name} | ${s.tokens} | ${ppl(s).toFixed(2)} | ${bpc(s).toFixed(3)} |`);
    const result = {
      perplexity: Number(ppl(trained).toFixed(3)),
      ngram_perplexity: Number(ppl(ngram).toFixed(3)),
      untrained_perplexity: untrained ? Number(ppl(untrained).toFixed(3)) : null,
      bits_per_char: Number(bpc(trained).toFixed(4)),
      ngram_bits_per_char: Number(bpc(ngram).toFixed(4)),
      untrained_bits_per_char: untrained ? Number(bpc(untrained).toFixed(4)) : null,
      ngram_order: order,
      heldout_notes: heldout.length,
      heldout_chars: chars,
      heldout_tokens: trained.tokens,
      model: modelPath,
    };
    console.log(JSON.stringify(result));
  } finally {
    await llama.dispose();
  }
}
