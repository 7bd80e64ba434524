/**
 * KV reuse across a jump of the completion window. While a clinician types, each prompt extends the last
 * and the completion lane evaluates only the new tokens. When the window's start jumps forward (the note
 * outgrew the budget), the new prompt is a *later part* of what the lane already holds, possibly after a
 * kept head (the BOS token, the section header). Instead of re-reading the whole window, the lane erases
 * the dropped middle from its KV cache and shifts the rest back (llama.cpp's K-shift), so only what was
 * typed since is evaluated. Pure: works on token ids.
 *
 * Kept tokens were computed while the erased text was still visible to them, so the model's view is a
 * superset of a cold read of the window (the StreamingLLM approximation), not bit-identical to it.
 */

export interface TokenRange {
  start: number;
  end: number;
}

/** Tokens of the new prompt that must follow the kept head in the cache for the jump to be worth it. */
export const MIN_SLIDE_OVERLAP = 16;

/**
 * The range of `cached` to erase so that it becomes a prefix-compatible start of `prompt`, or undefined when
 * the prompt simply extends the cache (nothing to do) or does not continue it at all (a cold read).
 */
export function findWindowSlide(cached: readonly number[], prompt: readonly number[], minOverlap = MIN_SLIDE_OVERLAP): TokenRange | undefined {
  let head = 0;
  while (head < cached.length && head < prompt.length && cached[head] === prompt[head]) head++;
  // The prompt extends the cache, or diverges only at its end: ordinary prefix reuse handles it.
  if (head === cached.length || prompt.length - head < minOverlap) return undefined;
  const probe = prompt.slice(head, head + minOverlap);
  for (let at = head + 1; at + probe.length <= cached.length; at++) {
    let matches = true;
    for (let i = 0; i < probe.length; i++) {
      if (cached[at + i] !== probe[i]) {
        matches = false;
        break;
      }
    }
    if (matches) return { start: head, end: at };
  }
  return undefined;
}
