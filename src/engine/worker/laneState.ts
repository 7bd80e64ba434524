/**
 * A lane's state in the KV cache: the queue its requests run in, the window slide that keeps the cache when
 * the completion window jumps forward, and warm starts (saving and restoring the note a lane last read).
 */
import { findWindowSlide } from "../windowSlide";
import { ErrorCodes, type Lane, type RestoreStateResult, type SaveStateResult } from "../protocol";
import { commonPrefixLength } from "./noteStateCache";
import { EngineFault, MIN_RESTORE_TOKENS, type LaneState, type LoadedModel, type WorkerLog } from "./runtimeTypes";

/** Runs `job` after everything already queued on the lane. */
export function onLane<T>(loaded: LoadedModel, laneName: Lane, job: (lane: LaneState, loaded: LoadedModel) => Promise<T>): Promise<T> {
  const lane = loaded.lanes.get(laneName);
  if (!lane) throw new EngineFault(ErrorCodes.GenerationFailed, `Unknown lane ${laneName}.`);
  const run = lane.tail.then(() => job(lane, loaded));
  lane.tail = run.catch(() => undefined);
  return run;
}

/**
 * The tokens LlamaCompletion evaluates for `prompt`: the BOS token when the model adds one, then the text
 * tokenized without the leading space a SentencePiece tokenizer with `add_space_prefix` (Llama, Meditron)
 * puts before it (node-llama-cpp's "trimLeadingSpace"). Matching saved states or the cache against any
 * other tokenization finds nothing past the first token on such a model.
 */
export function completionPromptTokens(loaded: LoadedModel, prompt: string): number[] {
  const bos = loaded.model.tokens.bos;
  const withBos = bos !== null && loaded.model.tokens.shouldPrependBosToken;
  const body = loaded.model.tokenize(prompt, false, withBos ? "trimLeadingSpace" : undefined).map(Number);
  return withBos ? [Number(bos), ...body] : body;
}

/**
 * The completion window jumped forward: erase the part of the note that fell out of it from the lane's
 * KV cache and shift the rest back, instead of re-reading the window (see windowSlide.ts).
 */
export async function slideWindow(loaded: LoadedModel, lane: LaneState, prompt: string, log: WorkerLog): Promise<void> {
  const cached = lane.sequence.contextTokens;
  if (cached.length === 0) return;
  const slide = findWindowSlide(cached.map(Number), completionPromptTokens(loaded, prompt));
  if (!slide) return;
  try {
    await lane.sequence.eraseContextTokenRanges([slide]);
    log("debug", `Completion window moved: dropped ${slide.end - slide.start} cached tokens, kept ${cached.length - (slide.end - slide.start)}.`);
  } catch (error) {
    // The lane re-reads the prompt as usual.
    log("warn", `Could not shift the completion cache: ${(error as Error).message}`);
  }
}

/** Saves the lane's KV state (the note it last completed) to the state cache. */
export async function saveLaneState(loaded: LoadedModel, laneName: Lane, log: WorkerLog): Promise<SaveStateResult> {
  const lane = loaded.lanes.get(laneName);
  const tokens = lane ? lane.sequence.contextTokens.map(Number) : [];
  if (!loaded.stateCache || !lane) return { saved: false, tokens: 0, bytes: 0, reason: "no state cache folder" };
  if (tokens.length < MIN_RESTORE_TOKENS) return { saved: false, tokens: tokens.length, bytes: 0, reason: "too short to be worth saving" };
  const result = await loaded.stateCache.save(loaded.modelKey, tokens, async (path) => {
    await lane.sequence.saveStateToFile(path);
  });
  if (result.saved) log("info", `Saved a note state of ${tokens.length} tokens (${(result.bytes / 1e6).toFixed(1)} MB).`);
  return { ...result, tokens: tokens.length };
}

/** Restores the saved state that shares the longest prefix with `prompt` into the lane. */
export async function restoreLaneState(loaded: LoadedModel, lane: LaneState, prompt: string, log: WorkerLog): Promise<RestoreStateResult> {
  const cache = loaded.stateCache;
  if (!cache) return { restored: false, tokens: 0, reason: "no state cache folder" };
  const promptTokens = completionPromptTokens(loaded, prompt);
  const cached = commonPrefixLength(lane.sequence.contextTokens.map(Number), promptTokens);
  const match = await cache.bestMatch(loaded.modelKey, promptTokens, MIN_RESTORE_TOKENS);
  if (!match) return { restored: false, tokens: cached, reason: "no saved state for this note" };
  if (match.common <= cached + MIN_RESTORE_TOKENS / 4) return { restored: false, tokens: cached, reason: "the KV cache already holds this note" };
  if (!(await cache.verify(match))) return { restored: false, tokens: cached, reason: "the saved state was damaged and is deleted" };
  const started = performance.now();
  try {
    await lane.sequence.loadStateFromFile(match.statePath, { acceptRisk: true });
  } catch (error) {
    await lane.sequence.clearHistory().catch(() => undefined);
    await cache.remove(match.id);
    log("warn", `A saved note state was rejected (${(error as Error).message}); reading the note instead.`);
    return { restored: false, tokens: 0, reason: "the saved state was rejected" };
  }
  if (commonPrefixLength(lane.sequence.contextTokens.map(Number), match.entry.tokens) !== match.entry.tokens.length) {
    await lane.sequence.clearHistory().catch(() => undefined);
    await cache.remove(match.id);
    return { restored: false, tokens: 0, reason: "the saved state held other tokens" };
  }
  log("info", `Restored a note state of ${match.common} tokens in ${Math.round(performance.now() - started)} ms.`);
  return { restored: true, tokens: match.common };
}
