/**
 * The evaluation data beside the project (../shared/data), never copied into it. Benchmarks and
 * evaluations read it from there, or from BEDSIDE_SHARED_DATA, and say clearly when it is absent.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

export function sharedDataDir(): string | undefined {
  const dir = process.env.BEDSIDE_SHARED_DATA ?? resolve(__dirname, "..", "..", "..", "shared", "data");
  return existsSync(dir) ? dir : undefined;
}

export interface SampleNote {
  id: string;
  specialty: string;
  text: string;
}

/** MTSamples transcriptions with their flattened ",SECTION:," breaks turned back into lines. */
export function readSampleNotes(limit = Infinity): SampleNote[] {
  const dir = sharedDataDir();
  if (!dir) return [];
  const notes: SampleNote[] = [];
  for (const line of readFileSync(join(dir, "mtsamples", "notes_dev.jsonl"), "utf8").split("\n")) {
    if (!line.trim()) continue;
    const row = JSON.parse(line) as { note_id: string; medical_specialty: string; transcription?: string };
    if (!row.transcription) continue;
    const text = row.transcription
      .replace(/,\s*([A-Z][A-Z /&]+):\s*,?/g, "\n$1:\n")
      .replace(/\s+\n/g, "\n")
      .trim();
    notes.push({ id: row.note_id, specialty: row.medical_specialty, text });
    if (notes.length >= limit) break;
  }
  return notes;
}
