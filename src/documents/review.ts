/**
 * A draft as the clinician sees it: the template with the fields written so far, every fact in it the note
 * does not hold (newFacts.ts), and for patient documents the reading grade of what the model wrote
 * (Flesch-Kincaid, computed here; `syllable` counts syllables). Pure.
 */
import { syllable } from "syllable";
import { findNewFacts, NoteFacts, type NewFact } from "./newFacts";
import { composeDraft, type ComposedField, type DocumentTemplate, type FieldValue } from "./templates";
import { readingGrade } from "./textFacts";

export interface DraftReview {
  text: string;
  fields: ComposedField[];
  /** Facts in the fields' text that the note does not hold, in draft order (offsets into `text`). */
  flags: NewFact[];
  /** Flesch-Kincaid grade of the fields' text, for patient documents with enough text to grade. */
  grade?: number;
}

export function reviewDraft(note: NoteFacts | string, template: DocumentTemplate, values: Readonly<Record<string, FieldValue>>): DraftReview {
  const facts = typeof note === "string" ? new NoteFacts(note) : note;
  const composed = composeDraft(template, values);
  const inField = (f: NewFact): boolean => composed.fields.some((c) => f.start < c.end && f.end > c.start);
  // The template's own words (headings, "Dear colleague") are not the model's facts.
  const flags = findNewFacts(facts, composed.text, { allowedText: composed.templateText }).filter(inField);
  const review: DraftReview = { text: composed.text, fields: composed.fields, flags };
  if (template.audience === "patient") {
    const written = composed.fields
      .map((f) => composed.text.slice(f.start, f.end))
      .filter((t) => t.trim())
      .map((t) => (/[.!?]$/.test(t.trim()) ? t : `${t}.`))
      .join("\n");
    const grade = readingGrade(written, syllable);
    if (grade !== undefined && written.split(/\s+/).length >= 10) review.grade = grade;
  }
  return review;
}
