/**
 * Faithful re-implementations of two peers' inline-completion strategies, for the completion replay
 * (completion.eval.ts). Each is an InlineProvider (test/support/typingReplay.ts): VS Code calls it on every
 * keystroke with a cancellation signal, exactly as it calls Bedside's provider. Both run on the same engine
 * worker, model and threads as Bedside, on the same completion lane (a llama-server slot keeps its KV
 * cache the same way: `cache_prompt: true`, `id_slot: 0`).
 *
 * llama.vscode, release v0.0.63 (github.com/ggml-org/llama.vscode, tag v0.0.63, commit 3938fb3568b9):
 * - src/configuration.ts:33 `debounce_ms = 0`; :39-50 `n_prefix = 256`, `n_suffix = 64`, `n_predict = 128`,
 *   `t_max_prompt_ms = 500`, `t_max_predict_ms = 2500`, `max_line_suffix = 8`, `max_cache_keys = 250`,
 *   `ring_n_chunks = 16`, `ring_chunk_size = 64`, `ring_scope = 1024`, `ring_update_ms = 1000`;
 *   :156 `DELAY_BEFORE_COMPL_REQUEST = 150`.
 * - src/completion.ts:44-50: no abort. A call waits, polling every 150 ms, while an earlier request is in
 *   progress, and gives up only if its own token was cancelled; the running request always finishes.
 *   :62 skips a cursor with more than 8 characters after it on the line; :52-76 prefix = the 256 lines
 *   above the cursor line + "\n", prompt = the cursor line's text before the cursor ("" if only blanks),
 *   suffix = rest of the line + "\n" + the 64 lines below + "\n"; :79-81 and :160-178 an LRU cache of 250
 *   keys (prefix|suffix|prompt), also looked up with shorter prompts when the suggestion starts with what was
 *   typed since; :91 the request; :104-121 discards a blank suggestion; :124 caches it; :128-137 after
 *   answering (request no longer "in progress"), unless cancelled by then, asks the server once more for
 *   the continuation after the suggestion's first line and caches it (`cacheFutureSuggestion`), and puts
 *   the rest of a multi-line suggestion in the cache for the next line (`cacheFutureAcceptLineSuggestion`).
 * - src/llama-server.ts:121-127 `top_k: 40, top_p: 0.99, samplers: ["top_k", "top_p", "infill"],
 *   cache_prompt: true` (no temperature sampler: llama.cpp's common/sampling.cpp:344-399 then samples from
 *   the distribution at temperature 1; the replay uses temperature 1, top-k 40, top-p 0.99 and a fixed
 *   seed per request; llama.cpp's `infill` sampler is not available through node-llama-cpp and is left out);
 *   :200-214 `/infill` with `input_prefix`, `input_suffix`, `input_extra` (the ring buffer), `prompt`,
 *   `n_predict`, `t_max_prompt_ms`, `t_max_predict_ms`.
 * - llama-server (llama.cpp as node-llama-cpp 3.22 bundles it, commit de3ff815ea7d):
 *   tools/server/server-task.h:67 `t_max_prompt_ms ... // TODO: implement` (no effect);
 *   tools/server/server-context.cpp:1944 stops generation at a new line once generation has run longer than
 *   `t_max_predict_ms` (the replay does the same on the streamed text); tools/server/server-common.cpp:1713-1800
 *   `format_prompt_infill`: prefix tokens capped at 3*(n_batch/4) = 1536, suffix at n_batch/4 - 2 - prompt,
 *   the extra context gets n_ctx - n_batch - 2*n_predict tokens, which is 0 for any context up to
 *   2048 + 256 tokens (n_batch 2048), so the ring buffer of 16 chunks of 64 lines reaches the model only
 *   with larger contexts; the replay keeps the ring buffer (src/extra-context.ts:45-63: chunks from
 *   `ring_scope` lines above the prefix and below the suffix, picked when the cursor moved more than 32 lines)
 *   and the same budget, so for this model's 384-token context it adds nothing, as the server would.
 *   Prefix and prompt are sent together as the infill prefix (the server tokenizes them apart and joins
 *   them; the text is the same). node-llama-cpp fits the infill into the model's context by dropping the
 *   prefix's start, as llama-server's context shift would.
 *
 * Continue, release v2.1.0-vscode (github.com/continuedev/continue, tag v2.1.0-vscode, commit b238c1f11f26;
 * core/autocomplete is unchanged from v1.2.24-vscode):
 * - core/util/parameters.ts:5-9 `maxPromptTokens: 1024`, `prefixPercentage: 0.3`, `maxSuffixPercentage: 0.2`,
 *   `debounceDelay: 350`, `modelTimeout: 150`.
 * - core/autocomplete/CompletionProvider.ts:177-182 every call first waits the 350 ms debounce
 *   (util/AutocompleteDebouncer.ts: only the most recent call proceeds; the token is not checked while
 *   waiting); :89 temperature 0.01; :221-223 the cache is looked up after the debounce with the pruned prefix
 *   (util/AutocompleteLruCache.ts:25 capacity 1000, :94-120 the longest cached prefix the query starts with,
 *   when the cached completion starts with what was typed since); :293-294 stores the answer.
 * - util/HelperVars.ts:85-110 prefix pruned from the top to 1024 * 0.3 tokens, suffix from the bottom to
 *   min(1024 - prefix tokens, 0.2 * 1024) (llm/countTokens.ts:282-309, counting each line's tokens and one
 *   per line break; the replay counts with the model's own tokenizer); templating/index.ts:79 an empty
 *   suffix becomes "\n"; the FIM prompt is the model's template around prefix and suffix (the replay uses the
 *   model's own FIM tokens through infill).
 * - generation/CompletionStreamer.ts and GeneratorReuseManager.ts: a request keeps streaming in the
 *   background after its caller's token is cancelled (extensions/vscode/src/autocomplete/completionProvider.ts:
 *   211-220 only stops reading); it is cancelled when a newer request starts a new generation, and reused
 *   instead when the new prefix is the old prefix plus a start of what it has generated.
 *   generation/utils.ts: the stream is stopped for good once it has run longer than modelTimeout * 2.5 =
 *   375 ms, checked every 10 chunks. maxTokens is llm/constants.ts:1 DEFAULT_MAX_TOKENS = 4096.
 * - templating/getStopTokens.ts: stops "/src/", "#- coding: utf-8", "```"; multi-line is allowed
 *   (classification/shouldCompleteMultiline.ts: a language without a rule completes multi-line).
 * - postprocessing/index.ts:100-113 drops blank and whitespace-only answers, :192-194 drops a leading space
 *   after a prefix ending in a space. Not replayed: snippets from other files (the replay has one note open),
 *   the line-repetition filters of the stream pipeline and postprocessing's repetition checks.
 */
import type { Engine } from "../../src/engine/engine";
import type { GenerationResult } from "../../src/engine/protocol";
import { sleep, type InlineProvider, type ProviderAnswer } from "../support/typingReplay";

export type ReplayEngine = Pick<Engine, "complete" | "infill" | "tokenize">;

/** Where a strategy reports each answer a request turned into (for the wasted-token count). */
export type Produced = (text: string, result: GenerationResult) => void;

export interface PeerSampling {
  /** Use greedy decoding instead of the peer's own sampling (to compare strategies apart from sampling). */
  greedy: boolean;
  /**
   * Not the peers' behaviour, a diagnostic: with nothing but line breaks after the cursor, send the prefix as
   * a plain continuation instead of a fill-in-the-middle prompt (as Bedside does), to tell the strategies
   * apart from how well the model fills in the middle.
   */
  continuation: boolean;
}

/** The peer's FIM request, or with `continuation` and a blank suffix the same prefix as a plain completion. */
function generate(engine: ReplayEngine, sampling: PeerSampling, request: Parameters<Engine["infill"]>[0], options: Parameters<Engine["infill"]>[1]): Promise<GenerationResult> {
  if (sampling.continuation && request.suffix.trim() === "") {
    const { suffix: _suffix, prefix, ...rest } = request;
    return engine.complete({ ...rest, prompt: prefix }, options);
  }
  return engine.infill(request, options);
}

// ---------------------------------------------------------------- llama.vscode v0.0.63

export const LLAMA_VSCODE = {
  debounceMs: 0,
  nPrefix: 256,
  nSuffix: 64,
  nPredict: 128,
  tMaxPromptMs: 500,
  tMaxPredictMs: 2500,
  maxLineSuffix: 8,
  maxCacheKeys: 250,
  ringNChunks: 16,
  ringChunkSize: 64,
  ringScope: 1024,
  delayBeforeComplRequestMs: 150,
  maxLastPickLineDistance: 32,
  topK: 40,
  topP: 0.99,
  /** llama-server's default logical batch (common/common.h:451). */
  serverBatch: 2048,
} as const;

/** llama.vscode's src/lru-cache.ts: least recently used keys dropped past the capacity. */
class LruCache<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly capacity: number) {}
  get(key: string): V | undefined {
    const value = this.map.get(key);
    if (value === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }
  put(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!);
  }
}

/** Extra-context tokens llama-server gives the ring buffer (format_prompt_infill's n_extra_take, before capping at what there is). */
export function serverExtraBudget(contextSize: number, nBatch: number, nPredict: number): number {
  return Math.max(0, contextSize - nBatch - 2 * nPredict);
}

export class LlamaVscodeReplay {
  private inProgress = false;
  private readonly cache = new LruCache<string[]>(LLAMA_VSCODE.maxCacheKeys);
  private readonly chunks: string[] = [];
  private lastLinePick = -9999;
  private seed = 1;
  /** Requests still running (the future suggestions run after the call has answered). */
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly engine: ReplayEngine,
    private readonly contextSize: number,
    private readonly sampling: PeerSampling,
    private readonly produced: Produced,
  ) {}

  readonly provide: InlineProvider = async (document, signal) => {
    const asked = Date.now();
    while (this.inProgress) {
      await sleep(LLAMA_VSCODE.delayBeforeComplRequestMs);
      if (signal.aborted) return undefined;
    }
    const queueMs = Date.now() - asked;
    this.inProgress = true;
    try {
      const lines = document.split("\n");
      const line = lines.length - 1;
      const linePrefix = lines[line]!;
      const lineSuffix = ""; // the cursor is at the end of the note
      if (lineSuffix.length > LLAMA_VSCODE.maxLineSuffix) return undefined;
      const prefixLines = lines.slice(Math.max(0, line - LLAMA_VSCODE.nPrefix), line);
      const suffixLines: string[] = [];
      const onlyBlanks = /^[ \t]*$/.test(linePrefix);
      const prompt = onlyBlanks ? "" : linePrefix;
      const spacesToRemove = onlyBlanks ? linePrefix.length : 0;
      const inputPrefix = prefixLines.join("\n") + "\n";
      const inputSuffix = lineSuffix + "\n" + suffixLines.join("\n") + "\n";
      let completions = this.cached(inputPrefix, inputSuffix, prompt);
      const fromCache = completions !== undefined;
      if (!completions) {
        if (signal.aborted) return undefined;
        const raw = await this.request(inputPrefix, inputSuffix, prompt);
        completions = [raw.text];
        this.produced(trimTrailingBlankLines(raw.text), raw);
      }
      const kept: string[] = [];
      let firstLines: string[] = [];
      for (const completion of completions) {
        const suggestionLines = completion.split(/\r?\n/);
        while (suggestionLines.length > 0 && suggestionLines.at(-1)!.trim() === "") suggestionLines.pop();
        // shouldDiscardSuggestion: empty, or one blank line; the cursor is on the note's last line, so no more.
        if (suggestionLines.length === 0 || (suggestionLines.length === 1 && suggestionLines[0]!.trim() === "")) continue;
        kept.push(suggestionLines.join("\n"));
        if (firstLines.length === 0) firstLines = suggestionLines;
      }
      if (kept.length === 0) return undefined;
      if (!fromCache) this.cache.put(this.key(inputPrefix, inputSuffix, prompt), kept);
      // After answering, in the background (setTimeout 0 in the original): the future suggestion and the ring buffer.
      setTimeout(() => {
        if (signal.aborted) return;
        const future = this.cacheFutureSuggestion(inputPrefix, inputSuffix, prompt, firstLines).catch(() => undefined);
        this.running.add(future);
        void future.finally(() => this.running.delete(future));
        this.cacheFutureAcceptLineSuggestion(inputPrefix, inputSuffix, prompt, firstLines);
        this.addFimContextChunks(lines);
      }, 0);
      const answer: ProviderAnswer = { text: removeLeadingSpaces(kept[0]!, spacesToRemove), fromCache, debounceMs: LLAMA_VSCODE.debounceMs, queueMs };
      return answer;
    } finally {
      this.inProgress = false;
    }
  };

  /** The note is closed: waits for the background requests (they are never aborted). */
  async close(): Promise<void> {
    await sleep(10);
    await Promise.allSettled([...this.running]);
  }

  private key(inputPrefix: string, inputSuffix: string, prompt: string): string {
    return `${inputPrefix}|${inputSuffix}|${prompt}`;
  }

  /** completion.ts getCachedCompletion: the exact key, else shorter prompts whose cached suggestion starts with the rest. */
  private cached(inputPrefix: string, inputSuffix: string, prompt: string): string[] | undefined {
    const exact = this.cache.get(this.key(inputPrefix, inputSuffix, prompt));
    if (exact) return exact;
    for (let i = prompt.length; i >= 0; i--) {
      const result = this.cache.get(this.key(inputPrefix, inputSuffix, prompt.slice(0, i)));
      if (!result) continue;
      const cut = prompt.slice(i);
      const completions = result.filter((c) => c && c.startsWith(cut)).map((c) => c.slice(cut.length));
      if (completions.length > 0) return completions;
    }
    return undefined;
  }

  /** The /infill request as llama-server would run it: budgets, extra context, sampling, t_max_predict_ms. */
  private async request(inputPrefix: string, inputSuffix: string, prompt: string): Promise<GenerationResult> {
    const extraBudgetTokens = serverExtraBudget(this.contextSize, LLAMA_VSCODE.serverBatch, LLAMA_VSCODE.nPredict);
    // Extra context goes before the prefix, up to its token budget (chars at 3 per token: within a token or two).
    const extra = extraBudgetTokens > 0 ? this.chunks.join("").slice(-extraBudgetTokens * 3) : "";
    let generationStarted: number | undefined;
    const timeLimit = new AbortController();
    const seed = this.seed++;
    return generate(
      this.engine,
      this.sampling,
      {
        prefix: extra + inputPrefix + prompt,
        suffix: inputSuffix,
        maxTokens: LLAMA_VSCODE.nPredict,
        lane: "completion",
        ...(this.sampling.greedy ? { temperature: 0 } : { temperature: 1, topK: LLAMA_VSCODE.topK, topP: LLAMA_VSCODE.topP, seed }),
      },
      {
        signal: timeLimit.signal,
        onText: (text) => {
          generationStarted ??= Date.now();
          if (text.includes("\n") && Date.now() - generationStarted > LLAMA_VSCODE.tMaxPredictMs) timeLimit.abort();
        },
      },
    );
  }

  private async cacheFutureSuggestion(inputPrefix: string, inputSuffix: string, prompt: string, suggestionLines: string[]): Promise<void> {
    let futureInputPrefix = inputPrefix;
    let futurePrompt = prompt + suggestionLines[0]!;
    if (suggestionLines.length > 1) {
      futureInputPrefix = inputPrefix + prompt + suggestionLines.slice(0, -1).join("\n") + "\n";
      futurePrompt = suggestionLines.at(-1)!;
      const futureLines = futureInputPrefix.slice(0, -1).split(/\r?\n/);
      if (futureLines.length > LLAMA_VSCODE.nPrefix) futureInputPrefix = futureLines.slice(futureLines.length - LLAMA_VSCODE.nPrefix).join("\n") + "\n";
    }
    const key = this.key(futureInputPrefix, inputSuffix, futurePrompt);
    if (this.cache.get(key) !== undefined) return;
    const result = await this.request(futureInputPrefix, inputSuffix, futurePrompt);
    if (result.text.trim() === "") return;
    const suggestion = trimTrailingBlankLines(result.text);
    this.produced(suggestion, result);
    this.cache.put(key, [suggestion]);
  }

  private cacheFutureAcceptLineSuggestion(inputPrefix: string, inputSuffix: string, prompt: string, suggestionLines: string[]): void {
    if (suggestionLines.length <= 1) return;
    const key = this.key(inputPrefix + prompt + suggestionLines[0]! + "\n", inputSuffix, "");
    if (this.cache.get(key) === undefined) this.cache.put(key, [suggestionLines.slice(1).join("\n")]);
  }

  /** extra-context.ts addFimContextChunks + pickChunk (queue and ring in one: the replay promotes at once). */
  private addFimContextChunks(lines: string[]): void {
    const line = lines.length - 1;
    if (Math.abs(line - this.lastLinePick) <= LLAMA_VSCODE.maxLastPickLineDistance) return;
    const span = (from: number, to: number): string[] => (to >= from ? lines.slice(from, to + 1) : []);
    const last = lines.length - 1;
    for (const chunk of [
      span(Math.max(0, line - LLAMA_VSCODE.ringScope), Math.max(0, line - LLAMA_VSCODE.nPrefix)),
      span(Math.min(last, line + LLAMA_VSCODE.nSuffix), Math.min(last, line + LLAMA_VSCODE.nSuffix + LLAMA_VSCODE.ringChunkSize)),
    ]) {
      if (chunk.length < 3) continue; // "don't pick very small chunks"
      const picked = chunk.length + 1 < LLAMA_VSCODE.ringChunkSize ? chunk : chunk.slice(0, LLAMA_VSCODE.ringChunkSize / 2);
      this.chunks.push(picked.join("\n") + "\n");
      while (this.chunks.length > LLAMA_VSCODE.ringNChunks) this.chunks.shift();
    }
    this.lastLinePick = line;
  }
}

function trimTrailingBlankLines(text: string): string {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines.at(-1)!.trim() === "") lines.pop();
  return lines.join("\n");
}

/** completion.ts removeLeadingSpaces (with its operator precedence: a leading tab is always removed). */
function removeLeadingSpaces(text: string, n: number): string {
  let i = 0;
  while ((i < text.length && i < n && text[i] === " ") || text[i] === "\t") i++;
  return text.slice(i);
}

// ---------------------------------------------------------------- Continue v2.1.0-vscode

export const CONTINUE = {
  maxPromptTokens: 1024,
  prefixPercentage: 0.3,
  maxSuffixPercentage: 0.2,
  debounceDelayMs: 350,
  modelTimeoutMs: 150,
  /** generation/utils.ts: stopAfterMaxProcessingTime(modelTimeout * 2.5), checked every 10 chunks. */
  processingTimeFactor: 2.5,
  checkEveryChunks: 10,
  temperature: 0.01,
  maxTokens: 4096,
  cacheCapacity: 1000,
  stop: ["/src/", "#- coding: utf-8", "```"],
} as const;

/** A generation streaming in the background (ListenableGenerator), shared by requests that can reuse it. */
interface PendingGeneration {
  prefix: string;
  text: string;
  done: Promise<GenerationResult | undefined>;
  controller: AbortController;
}

export class ContinueReplay {
  private debounceTimer: NodeJS.Timeout | undefined;
  private currentRequestId = 0;
  private nextRequestId = 1;
  private readonly cache = new Map<string, string>();
  private generation: PendingGeneration | undefined;
  private readonly lineTokens = new Map<string, number>();
  private seed = 1;

  constructor(
    private readonly engine: ReplayEngine,
    private readonly sampling: PeerSampling,
    private readonly produced: Produced,
  ) {}

  readonly provide: InlineProvider = async (document, signal) => {
    const asked = Date.now();
    if (await this.delayAndShouldDebounce(CONTINUE.debounceDelayMs)) return undefined;
    const debounceMs = Date.now() - asked;
    const prefix = await this.pruneLinesFromTop(document, CONTINUE.maxPromptTokens * CONTINUE.prefixPercentage);
    const suffix = "\n"; // the note's suffix is empty; templating/index.ts:79 makes it "\n"
    const cached = this.cacheGet(prefix);
    if (cached) return { text: cached, fromCache: true, debounceMs };
    const generation = this.generatorFor(prefix, suffix);
    const aborted = new Promise<"aborted">((resolve) => {
      if (signal.aborted) resolve("aborted");
      signal.addEventListener("abort", () => resolve("aborted"), { once: true });
    });
    const outcome = await Promise.race([generation.done, aborted]);
    if (outcome === "aborted" || signal.aborted) return undefined;
    // GeneratorReuseManager: the characters typed since the generation began are not shown again.
    let completion = generation.text;
    let typed = prefix.slice(generation.prefix.length);
    while (completion.length && typed.length && completion[0] === typed[0]) {
      completion = completion.slice(1);
      typed = typed.slice(1);
    }
    const processed = postprocess(completion, prefix);
    if (!processed) return undefined;
    if (outcome) this.produced(processed, outcome);
    this.cachePut(prefix, processed);
    return { text: processed, fromCache: false, debounceMs };
  };

  /** util/AutocompleteDebouncer.ts: true when a newer call came during the delay. */
  private delayAndShouldDebounce(delayMs: number): Promise<boolean> {
    const requestId = this.nextRequestId++;
    this.currentRequestId = requestId;
    clearTimeout(this.debounceTimer);
    return new Promise((resolve) => {
      this.debounceTimer = setTimeout(() => resolve(this.currentRequestId !== requestId), delayMs);
    });
  }

  /** llm/countTokens.ts pruneLinesFromTop, counting with the model's tokenizer. */
  private async pruneLinesFromTop(text: string, maxTokens: number): Promise<string> {
    const lines = text.split("\n");
    const counts: number[] = [];
    for (const line of lines) {
      let count = this.lineTokens.get(line);
      if (count === undefined) {
        count = line === "" ? 0 : (await this.engine.tokenize(line)).count;
        this.lineTokens.set(line, count);
      }
      counts.push(count);
    }
    let total = counts.reduce((a, b) => a + b, 0) + Math.max(0, lines.length - 1);
    let start = 0;
    while (total > maxTokens && start < lines.length) {
      total -= counts[start]!;
      if (lines.length - start > 1) total--;
      start++;
    }
    return lines.slice(start).join("\n");
  }

  /** GeneratorReuseManager.getGenerator: reuse the running generation when the prefix extends into it; else cancel it and start anew. */
  private generatorFor(prefix: string, suffix: string): PendingGeneration {
    const current = this.generation;
    if (current && (current.prefix + current.text).startsWith(prefix) && current.prefix.length <= prefix.length) return current;
    current?.controller.abort();
    const controller = new AbortController();
    const started = Date.now();
    let chunks = 0;
    const generation: PendingGeneration = { prefix, text: "", controller, done: Promise.resolve(undefined) };
    generation.done = generate(
      this.engine,
      this.sampling,
      {
        prefix,
        suffix,
        maxTokens: CONTINUE.maxTokens,
        stop: [...CONTINUE.stop],
        lane: "completion",
        ...(this.sampling.greedy ? { temperature: 0 } : { temperature: CONTINUE.temperature, seed: this.seed++ }),
      },
      {
        signal: controller.signal,
        onText: (text) => {
          generation.text += text;
          chunks++;
          if (chunks % CONTINUE.checkEveryChunks === 0 && Date.now() - started > CONTINUE.modelTimeoutMs * CONTINUE.processingTimeFactor) controller.abort();
        },
      },
    ).then(
      (result) => {
        generation.text = result.text;
        return result;
      },
      () => undefined,
    );
    this.generation = generation;
    return generation;
  }

  /** util/AutocompleteLruCache.ts get: the longest cached prefix the query starts with, if its completion starts with what was typed since. */
  private cacheGet(prefix: string): string | undefined {
    let best: string | undefined;
    for (const key of this.cache.keys()) if (prefix.startsWith(key) && (best === undefined || key.length > best.length)) best = key;
    if (best === undefined) return undefined;
    const value = this.cache.get(best)!;
    const typed = prefix.slice(best.length);
    if (!value.startsWith(typed)) return undefined;
    this.cache.delete(best);
    this.cache.set(best, value);
    const rest = value.slice(typed.length);
    return rest || undefined;
  }

  private cachePut(prefix: string, completion: string): void {
    this.cache.delete(prefix);
    this.cache.set(prefix, completion);
    while (this.cache.size > CONTINUE.cacheCapacity) this.cache.delete(this.cache.keys().next().value!);
  }

  async close(): Promise<void> {
    clearTimeout(this.debounceTimer);
    this.generation?.controller.abort();
    await this.generation?.done;
  }
}

/** postprocessing/index.ts: blank answers dropped; a leading space dropped after a prefix ending in one. */
function postprocess(completion: string, prefix: string): string | undefined {
  if (completion.trim().length === 0) return undefined;
  if (prefix.endsWith(" ") && completion.startsWith(" ")) return completion.slice(1);
  return completion;
}
