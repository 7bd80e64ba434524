/**
 * Bedside's inline-completion strategy, shared by the VS Code provider and the benchmark: the typed-ahead
 * cache first; otherwise abort the stale request, wait an adaptive debounce, build the context, ask the
 * completion lane (whose KV cache follows the note) within a token and time budget, and shape the text.
 * Pure: talks to the Engine interface only.
 */
import type { CompletionSettings } from "../config/sections";
import type { Engine } from "../engine/engine";
import type { GenerationResult } from "../engine/protocol";
import { AdaptiveDebounce } from "./adaptiveDebounce";
import { buildContext, promptWindowTokens, type CompletionContext, type SectionHeaderLine } from "./contextWindow";
import { DIGIT_TEXTS, shapeSuggestion, stopStrings } from "./suggestionShape";
import { TypedAheadCache } from "./typedAheadCache";

export type { CompletionSettings };

export interface SuggestInput {
  documentKey: string;
  /** The text before the cursor from document offset `prefixStart` (see ContextInput). */
  prefix: string;
  prefixStart?: number;
  /** The current section's header when it lies before `prefixStart`. */
  header?: SectionHeaderLine;
  suffix: string;
  infillSupported: boolean;
}

export interface Suggestion {
  text: string;
  fromCache: boolean;
  result?: GenerationResult;
  context?: CompletionContext;
}

export type CompletionEngine = Pick<Engine, "complete" | "infill">;

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

export class CompletionSession {
  readonly debounce: AdaptiveDebounce;
  readonly cache = new TypedAheadCache();
  private inFlight: AbortController | undefined;
  private busy = 0;

  constructor(
    private readonly engine: CompletionEngine,
    private readonly settings: () => CompletionSettings,
    private readonly onBusyChange: (busy: boolean) => void = () => undefined,
    debounce?: AdaptiveDebounce,
    /** The loaded model's context size in tokens, when one is loaded: the prompt window is kept within it. */
    private readonly modelContextTokens: () => number | undefined = () => undefined,
  ) {
    this.debounce = debounce ?? new AdaptiveDebounce();
  }

  /** Tokens the prompt window may use: the setting, capped to what the loaded model's context holds. */
  promptBudgetTokens(): number {
    const settings = this.settings();
    return promptWindowTokens(settings.contextTokens, this.modelContextTokens(), settings.maxTokens);
  }

  /** Stops the request in flight, if any (the clinician typed on, or completions were turned off). */
  abortInFlight(): void {
    this.inFlight?.abort();
    this.inFlight = undefined;
  }

  /** Evaluates the note's prompt into the completion lane's KV cache, so the first suggestion is quick. */
  async warmUp(input: SuggestInput, signal?: AbortSignal): Promise<GenerationResult | undefined> {
    const context = buildContext({ ...input, suffix: "", budgetTokens: this.promptBudgetTokens(), infillSupported: false });
    if (!context.prompt.trim()) return undefined;
    // Never in the way of a suggestion: skip while one runs; the next keystroke's suggestion aborts a
    // warm-up still running (what it evaluated stays cached).
    if (this.inFlight) return undefined;
    const controller = new AbortController();
    this.inFlight = controller;
    const requestSignal = signal ? AbortSignal.any([signal, controller.signal]) : controller.signal;
    try {
      return await this.engine.complete({ prompt: context.prompt, maxTokens: 1, lane: "completion", temperature: 0 }, { signal: requestSignal });
    } finally {
      if (this.inFlight === controller) this.inFlight = undefined;
    }
  }

  async suggest(input: SuggestInput, signal: AbortSignal): Promise<Suggestion | undefined> {
    const cached = this.cache.lookup(input.documentKey, input.prefix, input.prefixStart);
    if (cached !== undefined) return { text: cached, fromCache: true };

    this.abortInFlight();
    const controller = new AbortController();
    this.inFlight = controller;
    const onCallerAbort = (): void => controller.abort();
    signal.addEventListener("abort", onCallerAbort, { once: true });
    if (signal.aborted) controller.abort();
    try {
      if (!(await sleep(this.debounce.delayMs, controller.signal))) return undefined;
      const settings = this.settings();
      // Fill-in-the-middle only when the setting asks for it and the model can (the provider says which).
      const context = buildContext({ ...input, infillSupported: input.infillSupported && settings.fillInTheMiddle, budgetTokens: this.promptBudgetTokens() });
      const limits = {
        maxTokens: settings.maxTokens,
        stop: stopStrings(context.inList),
        temperature: 0,
        lane: "completion" as const,
        ...(settings.allowNumbers ? {} : { bannedTexts: DIGIT_TEXTS }),
      };
      // The time budget stops generation and keeps what was written so far.
      const timedOut = new AbortController();
      const budget = setTimeout(() => timedOut.abort(), settings.timeoutMs);
      const requestSignal = AbortSignal.any([controller.signal, timedOut.signal]);
      const started = Date.now();
      this.setBusy(+1);
      let result: GenerationResult;
      try {
        result =
          context.mode === "infill"
            ? await this.engine.infill({ prefix: context.prompt, suffix: context.suffix, ...limits }, { signal: requestSignal })
            : await this.engine.complete({ prompt: context.prompt, ...limits }, { signal: requestSignal });
      } finally {
        clearTimeout(budget);
        this.setBusy(-1);
      }
      if (controller.signal.aborted) return undefined;
      this.debounce.record(Date.now() - started);
      const text = shapeSuggestion(result.text, {
        linePrefix: context.linePrefix,
        lineSuffix: context.lineSuffix,
        before: input.prefix.slice(-2000),
        after: input.suffix.slice(0, 2000),
        inList: context.inList,
        allowDigits: settings.allowNumbers,
      });
      if (text === undefined) return undefined;
      this.cache.remember(input.documentKey, input.prefix, text, input.prefixStart);
      return { text, fromCache: false, result, context };
    } finally {
      signal.removeEventListener("abort", onCallerAbort);
      if (this.inFlight === controller) this.inFlight = undefined;
    }
  }

  private setBusy(delta: number): void {
    const was = this.busy > 0;
    this.busy += delta;
    if (was !== this.busy > 0) this.onBusyChange(this.busy > 0);
  }
}
