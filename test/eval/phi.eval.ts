/**
 * `npm run eval -- phi`: precision and recall of the PHI detector per category on the labelled synthetic
 * notes (test/fixtures/phi), exact ranges and overlap; `--mistakes` lists every miss and false alarm.
 * The last line is JSON, like the benchmarks.
 */
import { detectPhi } from "../../src/privacy/phiDetector";
import { formatScores, loadLabelledNotes, scoreDetector } from "../fixtures/phi/labelledNotes";

export async function run(args: string[]): Promise<void> {
  const round = (x: number): number => Math.round(x * 1000) / 1000;
  const summary: Record<string, unknown> = { task: "phi" };
  for (const set of ["notes", "heldout"] as const) {
    const notes = loadLabelledNotes(set);
    const { scores, mistakes } = scoreDetector(notes, detectPhi);
    const spans = notes.reduce((n, note) => n + note.spans.length, 0);
    const title = set === "notes" ? "development set (rules were written against it)" : "held-out set (written after the rules were frozen)";
    console.log(`\nPHI detector, ${title}: ${notes.length} synthetic notes, ${spans} identifiers\n`);
    console.log(formatScores(scores));
    if (args.includes("--mistakes") || mistakes.length <= 20) {
      console.log(mistakes.length ? "mistakes:" : "no mistakes");
      for (const m of mistakes) console.log(`  ${m.note}: ${m.kind} ${m.category} ${JSON.stringify(m.text)}`);
    }
    summary[set] = {
      notes: notes.length,
      ...Object.fromEntries(scores.map((s) => [s.category, { precision: round(s.precision), recall: round(s.recall), expected: s.expected }])),
    };
  }
  console.log(JSON.stringify(summary));
}
