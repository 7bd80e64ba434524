/**
 * When the note changes after a run the differential no longer describes it: the panel says so, and a
 * finding is looked up again in the current text before the editor selects it. Pure.
 */
import { findInNote, type NoteRange } from "./grounding";

/** True when the note text differs from the text the differential was built from. */
export function isStale(runText: string, currentText: string): boolean {
  return runText !== currentText;
}

/**
 * Where a finding is in the note now: its original range when the note is unchanged there, else the
 * occurrence nearest its old place, else undefined (the words are gone).
 */
export function relocateFinding(runText: string, currentText: string, quote: string, range: NoteRange): NoteRange | undefined {
  const original = runText.slice(range.start, range.end);
  if (currentText.slice(range.start, range.end) === original) return range;
  const shift = currentText.length - runText.length;
  return findInNote(currentText, original, Math.max(0, range.start + Math.min(0, shift))) ?? findInNote(currentText, quote);
}
