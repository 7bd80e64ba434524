/**
 * Writes the corpus the Python trainer reads (one JSON string per line) and a summary:
 *   npx tsx test/train/prepare.ts OUT_DIR
 * OUT_DIR/notes_train.jsonl, notes_heldout.jsonl, abstracts.jsonl, corpus.json
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readClinicalCorpus, HELDOUT_PER_MILLE } from "./corpus";

export interface CorpusSummary {
  notesRead: number;
  notesUnique: number;
  notesTrain: number;
  notesHeldout: number;
  heldoutPerMille: number;
  trainNoteChars: number;
  heldoutNoteChars: number;
  abstracts: number;
  abstractChars: number;
  abstractSources: Record<string, number>;
}

export function prepareCorpus(outDir: string): CorpusSummary {
  const corpus = readClinicalCorpus();
  if (!corpus) throw new Error("No MTSamples notes (../shared/data/mtsamples); set BEDSIDE_SHARED_DATA.");
  mkdirSync(outDir, { recursive: true });
  const lines = (texts: readonly string[]): string => texts.map((t) => JSON.stringify(t)).join("\n") + "\n";
  writeFileSync(join(outDir, "notes_train.jsonl"), lines(corpus.trainNotes.map((n) => n.text)));
  writeFileSync(join(outDir, "notes_heldout.jsonl"), lines(corpus.heldoutNotes.map((n) => n.text)));
  writeFileSync(join(outDir, "abstracts.jsonl"), lines(corpus.abstracts));
  const chars = (texts: readonly string[]): number => texts.reduce((s, t) => s + t.length, 0);
  const summary: CorpusSummary = {
    notesRead: corpus.notesRead,
    notesUnique: corpus.notesUnique,
    notesTrain: corpus.trainNotes.length,
    notesHeldout: corpus.heldoutNotes.length,
    heldoutPerMille: HELDOUT_PER_MILLE,
    trainNoteChars: chars(corpus.trainNotes.map((n) => n.text)),
    heldoutNoteChars: chars(corpus.heldoutNotes.map((n) => n.text)),
    abstracts: corpus.abstracts.length,
    abstractChars: chars(corpus.abstracts),
    abstractSources: { ...corpus.abstractSources },
  };
  writeFileSync(join(outDir, "corpus.json"), JSON.stringify(summary, null, 2) + "\n");
  return summary;
}

if (require.main === module) {
  const out = process.argv[2];
  if (!out) {
    console.error("usage: prepare.ts OUT_DIR");
    process.exit(2);
  }
  console.log(JSON.stringify(prepareCorpus(out)));
}
