/**
 * Shared pieces of the benchmarks and evaluations that replay a clinician typing a note against the real
 * engine worker (test/bench/completion.bench.ts, test/bench/warmstart.bench.ts, test/eval/completion.eval.ts).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { CompletionSettings } from "../../src/completion/completionSession";

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), ms)))]).finally(() => clearTimeout(timer));
}

/** bedside.completion.* defaults as package.json declares them (what a fresh install runs with). */
export function defaultCompletionSettings(): CompletionSettings {
  const manifest = JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8")) as {
    contributes: { configuration: { properties: Record<string, { default?: unknown }> } };
  };
  const setting = <T>(key: string): T => manifest.contributes.configuration.properties[`bedside.completion.${key}`]!.default as T;
  return {
    contextTokens: setting<number>("contextTokens"),
    maxTokens: setting<number>("maxTokens"),
    timeoutMs: setting<number>("timeoutMs"),
    allowNumbers: setting<boolean>("allowNumbers"),
    fillInTheMiddle: setting<boolean>("fillInTheMiddle"),
  };
}

/** What an inline-completion provider answered for one call. */
export interface ProviderAnswer {
  text: string;
  fromCache: boolean;
  /** Time the provider spent in a debounce wait before asking the model (0 for a cache answer). */
  debounceMs: number;
  /** Time spent waiting for an earlier request to finish before starting its own (a queue, not a debounce). */
  queueMs?: number;
}

/** An inline-completion provider: the document's text with the cursor at its end, and VS Code's cancellation. */
export type InlineProvider = (document: string, signal: AbortSignal) => Promise<ProviderAnswer | undefined>;

/** Ghost text on screen: a provider's answer that came back before its call was cancelled. */
export interface Shown extends ProviderAnswer {
  /** Keystroke to ghost text. */
  latencyMs: number;
}

/**
 * VS Code's side of inline completions, as the replays need it: every keystroke cancels the previous call's
 * token and calls the provider again; an answer is shown only if its call was not cancelled by then.
 */
export class EditorReplay {
  private controller: AbortController | undefined;
  private current: { promise: Promise<Shown | undefined>; shown?: Shown } | undefined;

  constructor(
    private readonly provider: InlineProvider,
    private readonly onShown: (shown: Shown) => void = () => undefined,
  ) {}

  keystroke(document: string): void {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    const typedAt = performance.now();
    const call: { promise: Promise<Shown | undefined>; shown?: Shown } = { promise: Promise.resolve(undefined) };
    call.promise = this.provider(document, controller.signal).then(
      (answer) => {
        if (!answer || controller.signal.aborted) return undefined;
        call.shown = { ...answer, latencyMs: performance.now() - typedAt };
        this.onShown(call.shown);
        return call.shown;
      },
      () => undefined,
    );
    this.current = call;
  }

  /** The ghost text on screen now (the current call's answer if it has come). */
  visible(): Shown | undefined {
    return this.current?.shown;
  }

  /** Waits for the current call's answer (the clinician pauses and looks). */
  settle(timeoutMs: number): Promise<Shown | undefined | "timeout"> {
    return withTimeout(this.current?.promise ?? Promise.resolve(undefined), timeoutMs);
  }

  /** Cancels the current call (the note is closed) and waits for it to return. */
  async close(): Promise<void> {
    this.controller?.abort();
    await this.current?.promise;
  }
}
