/**
 * The training and held-out text of the trained clinical model (issue 19), built from ../shared/data:
 * MTSamples dev notes (deduplicated by content, then split into train and held-out by a hash of the
 * content, so a transcription filed under several specialties never lands on both sides) and PubMed /
 * BEIR abstracts (training only).
 *
 * Deterministic: the split depends only on each note's text, not on file order or a random seed.
 * Pure apart from reading the shared data; imports neither vscode nor node-llama-cpp.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readSampleNotes, sharedDataDir, type SampleNote } from "../support/sharedData";

/** Per mille of the deduplicated notes held out (by content hash). */
export const HELDOUT_PER_MILLE = 50;

export interface ClinicalCorpus {
  /** Rows in notes_dev.jsonl with a transcription. */
  readonly notesRead: number;
  /** Distinct transcriptions after deduplication by content (whitespace-collapsed text). */
  readonly notesUnique: number;
  readonly trainNotes: readonly SampleNote[];
  readonly heldoutNotes: readonly SampleNote[];
  /** Abstract texts ("title. text"), training only. */
  readonly abstracts: readonly string[];
  readonly abstractSources: Readonly<Record<string, number>>;
}

/** The key two transcriptions are the same note under: whitespace collapsed. */
export function noteContentKey(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/** True when this note (by content) is in the held-out share. */
export function isHeldout(text: string): boolean {
  const digest = createHash("sha256").update(noteContentKey(text)).digest();
  return digest.readUInt32BE(0) % 1000 < HELDOUT_PER_MILLE;
}

/** Keeps the first note of each content key, in file order. */
export function deduplicateNotes(notes: readonly SampleNote[]): SampleNote[] {
  const seen = new Set<string>();
  const unique: SampleNote[] = [];
  for (const note of notes) {
    const key = noteContentKey(note.text);
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(note);
  }
  return unique;
}

const ABSTRACT_SOURCES = ["pubmedqa/corpus.jsonl", "beir/nfcorpus/corpus.jsonl", "beir/scifact/corpus.jsonl"] as const;

function readAbstracts(dir: string, source: string): string[] {
  const path = join(dir, source);
  if (!existsSync(path)) return [];
  const texts: string[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (!line.trim()) continue;
    const row = JSON.parse(line) as { title?: string; text?: string };
    const text = (row.text ?? "").trim();
    if (text.length < 200) continue;
    const title = (row.title ?? "").trim();
    texts.push(title ? `${title}.\n${text}` : text);
  }
  return texts;
}

/** Reads and splits the corpus; undefined when ../shared/data (or BEDSIDE_SHARED_DATA) is absent. */
export function readClinicalCorpus(): ClinicalCorpus | undefined {
  const dir = sharedDataDir();
  if (!dir || !existsSync(join(dir, "mtsamples", "notes_dev.jsonl"))) return undefined;
  const all = readSampleNotes();
  const unique = deduplicateNotes(all);
  const trainNotes: SampleNote[] = [];
  const heldoutNotes: SampleNote[] = [];
  for (const note of unique) (isHeldout(note.text) ? heldoutNotes : trainNotes).push(note);
  const abstracts: string[] = [];
  const abstractSources: Record<string, number> = {};
  for (const source of ABSTRACT_SOURCES) {
    const texts = readAbstracts(dir, source);
    abstractSources[source] = texts.length;
    abstracts.push(...texts);
  }
  return { notesRead: all.length, notesUnique: unique.length, trainNotes, heldoutNotes, abstracts, abstractSources };
}
