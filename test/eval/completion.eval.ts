/**
 * `npm run eval -- completion [--model FILE] [--notes N] [--words N] [--char-ms MS] [--pause-every N]
 * [--pause-timeout-ms MS] [--opening-chars N] [--threads N] [--greedy-peers] [--peers-continuation]
 * [--context-tokens N] [--strategies a,b] [--middle]`: the typing replay a clinician lives in (issue 19,
 * item 3). `--greedy-peers` and `--peers-continuation` are diagnostics, not the peers' behaviour: greedy
 * decoding for the peers, and plain continuation instead of fill-in-the-middle when nothing but line
 * breaks follows the cursor (completionPeers.ts PeerSampling).
 *
 * The prompt-construction choices (item 5): `--context-tokens N` replays another
 * bedside.completion.contextTokens (capped to the model's context as the product caps it); `--middle` types
 * the words inside the note, the rest of the note staying after the cursor (inserting into a written note),
 * where `--strategies bedside,bedside_fim` compares the prefix alone (the default) with fill-in-the-middle
 * (bedside.completion.fillInTheMiddle on).
 *
 * Held-out MTSamples notes (test/train/corpus.ts: deduplicated by content, split by content hash; the
 * trained model never saw them; `--notes` of them, evenly spaced over the held-out list, which is in the
 * data's specialty order) are typed character by character at the end of the note: the note's first
 * `--opening-chars` (to the next word start) are already written, then `--words` words are typed, one
 * character every `--char-ms`. Every keystroke calls the strategy's inline-completion provider the way VS
 * Code does (test/support/typingReplay.ts EditorReplay: the previous call's token is cancelled, an answer is
 * shown only if its call was not cancelled by then). Every `--pause-every` words the clinician pauses at a
 * word start and waits for the ghost text (up to `--pause-timeout-ms`): latency is measured there.
 *
 * Strategies, all on the same engine worker (dist/worker.mjs), model, threads and completion lane, run one
 * after another on each note, their order rotating per note so machine load hits all alike:
 * - bedside: the product's provider path: textAroundCursor over the note (as noteCompletionProvider reads a
 *   document), CompletionSession (typed-ahead cache, abort of the stale request, adaptive debounce, context
 *   window, digit ban and shaping) with package.json's bedside.completion.* defaults, and the warm-up the
 *   product runs when a note is opened.
 * - llama_vscode, continue: the peers' strategies re-implemented from named releases, with their defaults,
 *   abort and cutoff rules (completionPeers.ts cites each).
 *
 * At each word start (the cursor after a space or line break; completionScoring.ts defines every measure):
 * - next_word_match: share of word starts where the ghost text on screen begins with the note's next word;
 *   none on screen counts as a miss (the clinician gets nothing). `next_word_match_at_pauses`: the same at
 *   pauses only, where every strategy was waited for: suggestion quality apart from speed.
 * - chars_accepted_mean: mean longest common prefix of ghost text and the note's next text.
 * - chars_saved_per_100: a simulated clinician accepts the whole matching words of the ghost text at each
 *   word start (word-accept, one keystroke per word), skips what was accepted and types on; characters
 *   inserted minus accept keystrokes, per 100 characters typed in the replay.
 * - digit_withheld_share: share of word starts whose next word holds a digit: Bedside's digit guard
 *   (bedside.completion.allowNumbers off) never suggests those; `digit_suggested_share`: share of shown
 *   ghost texts with a digit in their first word.
 * Latency, at pauses where ghost text came (a pause that timed out counts at the timeout): keystroke to
 * ghost text p50/p95; `debounce_share` = total debounce wait / total latency; `queue_share` = waiting for an
 * earlier request to finish (llama.vscode does not abort); model_p50_ms = latency less both.
 * Wasted tokens: generated tokens (aborted requests' partial output included) of requests whose answer was
 * never on screen, neither when it came nor later from a cache, per 100 characters typed.
 *
 * Ends with a readable table and one JSON line {"bedside": {...}, "llama_vscode": {...}, "continue": {...},
 * "settings": {...}}. Timing figures depend on the machine and its load; ratios within one run compare.
 */
import { statSync } from "node:fs";
import { AdaptiveDebounce } from "../../src/completion/adaptiveDebounce";
import { CompletionSession } from "../../src/completion/completionSession";
import { stringLineReader, textAroundCursor } from "../../src/completion/textAroundCursor";
import type { CompletionRequest, Engine, InfillRequest, RequestOptions } from "../../src/engine/engine";
import type { GenerationResult, ModelInfo, TokenizeResult } from "../../src/engine/protocol";
import { chooseThreads, readMachineCpus } from "../../src/engine/threads";
import { median, percentile, printTable } from "../bench/report";
import { cpuChoice, startTestEngine } from "../support/engineFixture";
import { defaultCompletionSettings, EditorReplay, sleep, type InlineProvider, type Shown } from "../support/typingReplay";
import { readClinicalCorpus } from "../train/corpus";
import { FIXTURE_MODEL } from "../train/run";
import { charsAccepted, nextWordMatches, per100, simulateWordAccept, wordStarts, wordUnits, type ShownAt } from "./completionScoring";
import { ContinueReplay, LlamaVscodeReplay, type ReplayEngine } from "./completionPeers";

interface Plan {
  model: string;
  notes: number;
  words: number;
  charMs: number;
  pauseEvery: number;
  pauseTimeoutMs: number;
  openingChars: number;
  threads: number;
  greedyPeers: boolean;
  peersContinuation: boolean;
  /** Bedside's bedside.completion.contextTokens for this run (default: package.json's). */
  contextTokens?: number;
  /** Type inside the note: the rest of the note stays after the cursor (peers' replays type at the end only). */
  middle: boolean;
  strategies: readonly StrategyName[];
}

const STRATEGIES = ["bedside", "llama_vscode", "continue", "bedside_fim"] as const;
type StrategyName = (typeof STRATEGIES)[number];
/** Run by default: Bedside and the two peers. `bedside_fim` is Bedside with bedside.completion.fillInTheMiddle on (`--strategies`). */
const DEFAULT_STRATEGIES: readonly StrategyName[] = ["bedside", "llama_vscode", "continue"];

/** The engine as a strategy sees it, counting every token generated and crediting those that reached the screen. */
class GenerationLedger implements ReplayEngine {
  generated = 0;
  requests = 0;
  /** Prompt tokens of each request that evaluated one (0: aborted while queued). */
  readonly promptTokens: number[] = [];
  emptyPrompts = 0;
  private readonly answers: { text: string; tokens: number; credited: boolean }[] = [];
  credited = 0;

  constructor(private readonly engine: Pick<Engine, "complete" | "infill" | "tokenize">) {}

  complete = async (request: CompletionRequest, options?: RequestOptions): Promise<GenerationResult> => this.count(await this.engine.complete(request, options));
  infill = async (request: InfillRequest, options?: RequestOptions): Promise<GenerationResult> => this.count(await this.engine.infill(request, options));
  tokenize = (text: string): Promise<TokenizeResult> => this.engine.tokenize(text);

  private count(result: GenerationResult): GenerationResult {
    this.requests++;
    this.generated += result.generatedTokens;
    if (result.promptTokens > 0) this.promptTokens.push(result.promptTokens);
    // Nothing of the note in the prompt: at most BOS and the three FIM tokens.
    if (result.promptTokens > 0 && result.promptTokens <= 4) this.emptyPrompts++;
    return result;
  }

  /** A request's answer became this text (shown or not). */
  produced = (text: string, result: GenerationResult): void => {
    this.answers.push({ text, tokens: result.generatedTokens, credited: false });
    if (this.answers.length > 500) this.answers.shift();
  };

  /** Text on screen: credits the latest answer it is (or, from a cache, the rest of). */
  shown(text: string): void {
    for (let i = this.answers.length - 1; i >= 0; i--) {
      const answer = this.answers[i]!;
      if (!answer.text.endsWith(text)) continue;
      if (!answer.credited) {
        answer.credited = true;
        this.credited += answer.tokens;
      }
      return;
    }
  }
}

interface Strategy {
  provider: InlineProvider;
  open(note: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Bedside's provider path. `after`: the note's text after the cursor (empty at the note's end), read with
 * the rest as noteCompletionProvider reads a document; `fillInTheMiddle` replays
 * bedside.completion.fillInTheMiddle on (the prompt-construction choice; off by default).
 */
function bedside(ledger: GenerationLedger, key: string, info: ModelInfo, contextTokens: number | undefined, after: string, fillInTheMiddle: boolean): Strategy {
  // `--context-tokens N` replays another bedside.completion.contextTokens (the prompt-window choice); the
  // session caps it to the model's context as the product does (registerCompletions passes the same).
  const settings = { ...defaultCompletionSettings(), ...(contextTokens ? { contextTokens } : {}), ...(fillInTheMiddle ? { fillInTheMiddle } : {}) };
  const session = new CompletionSession(
    ledger,
    () => settings,
    undefined,
    new AdaptiveDebounce(),
    () => info.contextSize,
  );
  const infillSupported = info.infillSupported;
  return {
    // noteCompletionProvider.provideInlineCompletionItems: read around the cursor, suggest, show.
    provider: async (document, signal) => {
      const around = textAroundCursor(stringLineReader(document + after), document.length, session.promptBudgetTokens());
      const debounceMs = session.debounce.delayMs;
      const suggestion = await session.suggest({ documentKey: key, ...around, infillSupported }, signal);
      if (!suggestion) return undefined;
      if (suggestion.result) ledger.produced(suggestion.text, suggestion.result);
      return { text: suggestion.text, fromCache: suggestion.fromCache, debounceMs: suggestion.fromCache ? 0 : debounceMs };
    },
    // registerCompletions' warm-up when a note is opened.
    async open(note) {
      const around = textAroundCursor(stringLineReader(note + after), note.length, session.promptBudgetTokens());
      await session.warmUp({ documentKey: key, ...around, suffix: "", infillSupported: false });
    },
    async close() {
      session.abortInFlight();
    },
  };
}

interface PauseRecord {
  latencyMs: number;
  debounceMs: number;
  queueMs: number;
  censored: boolean;
}

interface NoteRun {
  typedChars: number;
  points: ShownAt[];
  pauseOffsets: number[];
  pauses: PauseRecord[];
  pausesEmpty: number;
}

/**
 * The note split into the part already written, the text to type (whole words) and, with `--middle`, the
 * rest of the note, which stays after the cursor (at least 200 characters of it).
 */
function typingScript(text: string, plan: Plan): { opening: string; typed: string; after: string } | undefined {
  const starts = wordStarts(text);
  const first = starts.findIndex((s) => s >= plan.openingChars);
  if (first < 0 || first + plan.words >= starts.length) return undefined;
  const cut = starts[first]!;
  const end = starts[first + plan.words]!;
  if (plan.middle && text.length - end < 200) return undefined;
  return { opening: text.slice(0, cut), typed: text.slice(cut, end), after: plan.middle ? text.slice(end) : "" };
}

async function replayNote(strategy: Strategy, ledger: GenerationLedger, opening: string, typed: string, plan: Plan): Promise<NoteRun> {
  const editor = new EditorReplay(strategy.provider, (shown: Shown) => ledger.shown(shown.text));
  await strategy.open(opening);
  const starts = new Set(wordStarts(typed, opening.at(-1) ?? " "));
  const run: NoteRun = { typedChars: typed.length, points: [], pauseOffsets: [], pauses: [], pausesEmpty: 0 };
  let word = 0;
  editor.keystroke(opening);
  await sleep(plan.charMs);
  for (let i = 0; i < typed.length; i++) {
    if (starts.has(i)) {
      word++;
      if (word % plan.pauseEvery === 0) {
        const answer = await editor.settle(plan.pauseTimeoutMs);
        run.pauseOffsets.push(i);
        if (answer === "timeout") {
          run.pauses.push({ latencyMs: plan.pauseTimeoutMs, debounceMs: 0, queueMs: 0, censored: true });
        } else if (answer) {
          run.pauses.push({ latencyMs: answer.latencyMs, debounceMs: answer.debounceMs, queueMs: answer.queueMs ?? 0, censored: false });
        } else {
          run.pausesEmpty++;
        }
      }
      const visible = editor.visible();
      run.points.push({ offset: i, text: visible?.text });
    }
    editor.keystroke(opening + typed.slice(0, i + 1));
    await sleep(plan.charMs);
  }
  await editor.close();
  await strategy.close();
  return run;
}

interface Summary {
  next_word_match: number;
  next_word_match_at_pauses: number;
  next_word_match_when_shown: number;
  chars_accepted_mean: number;
  chars_saved_per_100: number;
  accepted_words: number;
  shown_share: number;
  p50_ms: number;
  p95_ms: number;
  debounce_share: number;
  queue_share: number;
  model_p50_ms: number;
  pauses: number;
  pauses_timed_out: number;
  pauses_empty: number;
  wasted_tokens_per_100: number;
  wasted_share: number;
  generated_tokens: number;
  requests: number;
  prompt_tokens_p50: number;
  prompt_tokens_max: number;
  /** Requests whose prompt held nothing of the note (Continue prunes whole lines: a paragraph over its budget leaves nothing). */
  empty_prompt_requests: number;
  digit_withheld_share: number;
  digit_suggested_share: number;
  word_starts: number;
  typed_chars: number;
}

function round(n: number, digits = 3): number {
  return Number.isFinite(n) ? Number(n.toFixed(digits)) : 0;
}

function summarise(runs: { run: NoteRun; typed: string }[], ledger: GenerationLedger): Summary {
  const points = runs.flatMap(({ run, typed }) => run.points.map((p) => ({ ...p, actual: typed.slice(p.offset) })));
  const pausePoints = runs.flatMap(({ run, typed }) =>
    run.pauseOffsets.map((offset) => ({ offset, actual: typed.slice(offset), text: run.points.find((p) => p.offset === offset)?.text })),
  );
  const shown = points.filter((p) => p.text !== undefined);
  const matches = (list: { text: string | undefined; actual: string }[]): number => list.filter((p) => p.text !== undefined && nextWordMatches(p.text, p.actual)).length;
  const typedChars = runs.reduce((n, r) => n + r.run.typedChars, 0);
  const saved = runs.reduce((n, { run, typed }) => n + simulateWordAccept(typed, run.points).savedChars, 0);
  const acceptedWords = runs.reduce((n, { run, typed }) => n + simulateWordAccept(typed, run.points).acceptedWords, 0);
  const pauses = runs.flatMap((r) => r.run.pauses);
  const latencies = pauses.map((p) => p.latencyMs);
  const total = latencies.reduce((a, b) => a + b, 0);
  const digit = /[0-9]/;
  const wasted = Math.max(0, ledger.generated - ledger.credited);
  return {
    next_word_match: round(matches(points) / Math.max(1, points.length)),
    next_word_match_at_pauses: round(matches(pausePoints) / Math.max(1, pausePoints.length)),
    next_word_match_when_shown: round(matches(shown) / Math.max(1, shown.length)),
    chars_accepted_mean: round(points.reduce((n, p) => n + (p.text ? charsAccepted(p.text, p.actual) : 0), 0) / Math.max(1, points.length)),
    chars_saved_per_100: round(per100(saved, typedChars), 2),
    accepted_words: acceptedWords,
    shown_share: round(shown.length / Math.max(1, points.length)),
    p50_ms: latencies.length ? Math.round(median(latencies)) : 0,
    p95_ms: latencies.length ? Math.round(percentile(latencies, 95)) : 0,
    debounce_share: round(pauses.reduce((a, p) => a + p.debounceMs, 0) / Math.max(1e-9, total)),
    queue_share: round(pauses.reduce((a, p) => a + p.queueMs, 0) / Math.max(1e-9, total)),
    model_p50_ms: pauses.length ? Math.round(median(pauses.map((p) => Math.max(0, p.latencyMs - p.debounceMs - p.queueMs)))) : 0,
    pauses: pauses.length + runs.reduce((n, r) => n + r.run.pausesEmpty, 0),
    pauses_timed_out: pauses.filter((p) => p.censored).length,
    pauses_empty: runs.reduce((n, r) => n + r.run.pausesEmpty, 0),
    wasted_tokens_per_100: round(per100(wasted, typedChars), 2),
    wasted_share: round(wasted / Math.max(1, ledger.generated)),
    generated_tokens: ledger.generated,
    requests: ledger.requests,
    prompt_tokens_p50: ledger.promptTokens.length ? median(ledger.promptTokens) : 0,
    prompt_tokens_max: ledger.promptTokens.length ? Math.max(...ledger.promptTokens) : 0,
    empty_prompt_requests: ledger.emptyPrompts,
    digit_withheld_share: round(points.filter((p) => digit.test(wordUnits(p.actual)[0] ?? "")).length / Math.max(1, points.length)),
    digit_suggested_share: round(shown.filter((p) => digit.test(wordUnits(p.text!)[0] ?? "")).length / Math.max(1, shown.length)),
    word_starts: points.length,
    typed_chars: typedChars,
  };
}

function argValue(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export async function run(args: string[]): Promise<void> {
  const corpus = readClinicalCorpus();
  if (!corpus) throw new Error("No MTSamples notes (../shared/data/mtsamples); set BEDSIDE_SHARED_DATA.");
  const model = argValue(args, "--model") ?? FIXTURE_MODEL;
  const number = (name: string, fallback: number): number => Number(argValue(args, name) ?? fallback);
  const plan: Plan = {
    model,
    notes: number("--notes", 6),
    words: number("--words", 30),
    charMs: number("--char-ms", 150),
    pauseEvery: number("--pause-every", 4),
    pauseTimeoutMs: number("--pause-timeout-ms", 5000),
    openingChars: number("--opening-chars", 800),
    threads: chooseThreads(number("--threads", 0), readMachineCpus(), statSync(model).size),
    greedyPeers: args.includes("--greedy-peers"),
    peersContinuation: args.includes("--peers-continuation"),
    middle: args.includes("--middle"),
    strategies: argValue(args, "--strategies")
      ? argValue(args, "--strategies")!
          .split(",")
          .map((name) => {
            if (!(STRATEGIES as readonly string[]).includes(name)) throw new Error(`--strategies: ${name} is not one of ${STRATEGIES.join(", ")}`);
            return name as StrategyName;
          })
      : DEFAULT_STRATEGIES,
    ...(argValue(args, "--context-tokens") ? { contextTokens: number("--context-tokens", 384) } : {}),
  };
  const eligible = corpus.heldoutNotes
    .map((note) => ({ note, script: typingScript(note.text, plan) }))
    .filter((s): s is { note: typeof s.note; script: NonNullable<typeof s.script> } => s.script !== undefined);
  const count = Math.min(plan.notes, eligible.length);
  const scripts = Array.from({ length: count }, (_, i) => eligible[Math.floor((i * eligible.length) / count)]!);
  console.log(
    `completion replay: ${scripts.length} held-out notes (of ${corpus.heldoutNotes.length}), ${plan.words} words each, a character every ${plan.charMs} ms, a pause every ${plan.pauseEvery} words; ${model}, ${plan.threads} thread(s)`,
  );

  const { engine } = startTestEngine();
  engine.configure(cpuChoice(model, { threads: plan.threads, contextSize: 2048 }));
  const info = await engine.ensureReady();
  if (plan.middle && plan.strategies.some((s) => s === "llama_vscode" || s === "continue")) {
    throw new Error("--middle replays Bedside only (the peers' replays type at a note's end): add --strategies bedside,bedside_fim");
  }
  const chosen = plan.strategies;
  const ledgers = Object.fromEntries(STRATEGIES.map((s) => [s, new GenerationLedger(engine)])) as Record<StrategyName, GenerationLedger>;
  const runs: Record<StrategyName, { run: NoteRun; typed: string }[]> = { bedside: [], llama_vscode: [], continue: [], bedside_fim: [] };
  const sampling = { greedy: plan.greedyPeers, continuation: plan.peersContinuation };
  try {
    for (const [n, { note, script }] of scripts.entries()) {
      const order = chosen.map((_, i) => chosen[(i + n) % chosen.length]!);
      for (const name of order) {
        const ledger = ledgers[name];
        const strategy: Strategy =
          name === "bedside" || name === "bedside_fim"
            ? bedside(ledger, `note-${n}`, info, plan.contextTokens, script.after, name === "bedside_fim")
            : name === "llama_vscode"
              ? peer(new LlamaVscodeReplay(ledger, info.contextSize, sampling, ledger.produced))
              : peer(new ContinueReplay(ledger, sampling, ledger.produced));
        const started = Date.now();
        const run = await replayNote(strategy, ledger, script.opening, script.typed, plan);
        runs[name].push({ run, typed: script.typed });
        const s = summarise([{ run, typed: script.typed }], new GenerationLedger(engine));
        console.log(
          `  note ${n + 1}/${scripts.length} (${note.specialty.trim()}) ${name}: next word ${s.next_word_match}, saved/100 ${s.chars_saved_per_100}, p50 ${s.p50_ms} ms (${Math.round((Date.now() - started) / 1000)} s)`,
        );
      }
    }
  } finally {
    await engine.dispose();
  }

  const summaries = Object.fromEntries(chosen.map((s) => [s, summarise(runs[s], ledgers[s])])) as Partial<Record<StrategyName, Summary>>;
  printTable(
    ["strategy", "next word", "at pauses", "chars acc.", "saved/100", "shown", "p50 ms", "p95 ms", "debounce", "queue", "model p50", "wasted tok/100", "requests", "digit sugg."],
    chosen.map((s) => {
      const m = summaries[s]!;
      return [
        s,
        m.next_word_match,
        m.next_word_match_at_pauses,
        m.chars_accepted_mean,
        m.chars_saved_per_100,
        m.shown_share,
        m.p50_ms,
        m.p95_ms,
        m.debounce_share,
        m.queue_share,
        m.model_p50_ms,
        m.wasted_tokens_per_100,
        m.requests,
        m.digit_suggested_share,
      ];
    }),
  );
  const settings = {
    model,
    notes: scripts.length,
    words_per_note: plan.words,
    char_ms: plan.charMs,
    pause_every_words: plan.pauseEvery,
    pause_timeout_ms: plan.pauseTimeoutMs,
    opening_chars: plan.openingChars,
    typed_at: plan.middle ? "inside the note (the rest of it after the cursor)" : "the note's end",
    threads: plan.threads,
    engine_context_size: info.contextSize,
    flash_attention: info.flashAttention,
    bedside_completion: { ...defaultCompletionSettings(), ...(plan.contextTokens ? { contextTokens: plan.contextTokens } : {}) },
    peers_sampling: plan.greedyPeers ? "greedy (diagnostic)" : "own (llama.vscode: T=1 top-k 40 top-p 0.99; Continue: T=0.01)",
    peers_prompt: plan.peersContinuation ? "plain continuation when the suffix is blank (diagnostic)" : "own (fill-in-the-middle)",
    eligible_notes: eligible.length,
    heldout_notes: corpus.heldoutNotes.length,
  };
  console.log(JSON.stringify({ ...summaries, settings }));
}

function peer(replay: LlamaVscodeReplay | ContinueReplay): Strategy {
  return {
    provider: replay.provide,
    async open() {},
    close: () => replay.close(),
  };
}
