/**
 * Drafting a document from a note with any Engine (the local worker or a team server): each field of the
 * template is filled by its own short prompt under a JSON-schema grammar, and every answer is validated
 * against the schema that constrained it. Everything fits the model's context (Meditron-7B: 2,048 tokens):
 * the answer's longest possible length under the grammar is counted beside the prompt, and shrinks until it
 * fits. A note too long to read whole is first read section by section for its key facts (quoted word for
 * word: an enum of the section's own phrases), and the fields are written from those, as the differential
 * does. Cancelling keeps the fields already written. Pure: an Engine, no vscode.
 */
import type { Engine } from "../engine/engine";
import type { JsonResult } from "../engine/protocol";
import { partialJsonStrings } from "../engine/partialJson";
import { chunkPhrases, noteChunks, type CandidatePhrase } from "../ddx/candidates";
import { CONTEXT_MARGIN, type CountTokens } from "../ddx/fitting";
import { schemaErrors, worstCaseChars, type DdxSchema } from "../ddx/schema";
import type { DocumentTemplate, FieldValue, TemplateField } from "./templates";

export type FieldState = "pending" | "writing" | "done" | "cancelled" | "failed";

export interface FieldResult {
  name: string;
  state: FieldState;
  value: FieldValue;
  /** Why a field failed (the model's answer broke its schema, the prompt did not fit). */
  error?: string;
}

export interface DraftAnswer {
  field: string;
  schema: DdxSchema;
  value: unknown;
}

export interface DraftResult {
  template: DocumentTemplate;
  noteText: string;
  mode: "whole" | "keyFacts";
  /** The note's phrases the model chose as key facts (long notes only). */
  keyFacts: string[];
  fields: Record<string, FieldResult>;
  answers: DraftAnswer[];
  cancelled: boolean;
}

export type DraftProgress =
  | { kind: "step"; message: string; step: number; steps: number }
  /** A field's text as the model writes it (already parsed out of the JSON). */
  | { kind: "field"; field: FieldResult };

export interface DraftOptions {
  contextSize: number;
  signal?: AbortSignal;
  onProgress?: (progress: DraftProgress) => void;
  temperature?: number;
  seed?: number;
}

export class DraftError extends Error {
  override name = "DraftError";
}

/** How long an answer may be; smaller limits fit smaller contexts. */
export interface FieldLimits {
  textChars: number;
  items: number;
  itemChars: number;
}

export const FIELD_LIMIT_LADDER: readonly FieldLimits[] = [
  { textChars: 400, items: 6, itemChars: 120 },
  { textChars: 280, items: 5, itemChars: 100 },
  { textChars: 200, items: 4, itemChars: 80 },
  { textChars: 120, items: 3, itemChars: 60 },
];
const KEY_FACTS_PER_PART = 6;

/** Text cut to at most `max` characters (code points): at the last sentence end that fits, else the last word. */
export function clipText(text: string, max: number): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  const head = chars.slice(0, max).join("");
  const sentence = Math.max(head.lastIndexOf(". "), head.lastIndexOf("! "), head.lastIndexOf("? "));
  if (sentence > 0) return head.slice(0, sentence + 1);
  if (/[.!?]$/.test(head)) return head;
  const word = head.lastIndexOf(" ");
  return (word > 0 ? head.slice(0, word) : head).trimEnd();
}

/** A field's answer with every string over its schema's maxLength clipped (clipText) and every list over maxItems cut. */
export function clipToMaxLengths(schema: DdxSchema, value: unknown): unknown {
  if (typeof value === "string" && typeof schema.maxLength === "number") return clipText(value, schema.maxLength);
  if (Array.isArray(value)) {
    const items = (schema.items ?? {}) as DdxSchema;
    const kept = typeof schema.maxItems === "number" ? value.slice(0, schema.maxItems) : value;
    return kept.map((v: unknown) => clipToMaxLengths(items, v));
  }
  if (value && typeof value === "object" && schema.properties && typeof schema.properties === "object") {
    const properties = schema.properties as Record<string, DdxSchema>;
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, properties[k] ? clipToMaxLengths(properties[k], v) : v]));
  }
  return value;
}

export function fieldSchema(field: TemplateField, limits: FieldLimits): DdxSchema {
  const value = field.list
    ? { type: "array", minItems: 0, maxItems: limits.items, items: { type: "string", minLength: 1, maxLength: limits.itemChars } }
    : { type: "string", minLength: 1, maxLength: limits.textChars };
  return { type: "object", properties: { [field.list ? "items" : "text"]: value }, required: [field.list ? "items" : "text"], additionalProperties: false };
}

const PATIENT_STYLE = "written for the patient in plain language at a 6th to 8th grade reading level, short sentences, no jargon";
const CLINICIAN_STYLE = "written for a clinician, concise";

/** The part of every field's prompt before the field: who writes what, and the note. */
export function draftPrefix(template: DocumentTemplate, noteText: string, mode: "whole" | "keyFacts"): string {
  const style = template.audience === "patient" ? PATIENT_STYLE : CLINICIAN_STYLE;
  const heading = mode === "whole" ? "CLINICAL NOTE:" : "KEY FACTS FROM THE CLINICAL NOTE:";
  return (
    `A clinical note and the ${template.title} a physician wrote from it, ${style}. ` +
    `Every fact in the ${template.title} (each medicine, dose, number, date and allergy) is taken from the note; nothing is added.\n\n` +
    `${heading}\n${noteText.trim()}\n\n`
  );
}

export function fieldPrompt(prefix: string, template: DocumentTemplate, field: TemplateField): string {
  const label = field.name
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .replace(/[_-]+/g, " ")
    .toUpperCase();
  return `${prefix}${template.title.toUpperCase()}, ${label} (${field.instruction}), as JSON:\n`;
}

export function keyFactsPrompt(template: DocumentTemplate, section: string, text: string): string {
  const name = section || "NOTE";
  return (
    `One section of a clinical note, followed by the facts in it that a ${template.title} needs, quoted word for word.\n\n` +
    `${name}:\n${text.trim()}\n\nFACTS IN ${name} FOR THE ${template.title.toUpperCase()}, as JSON:\n`
  );
}

export function keyFactsSchema(phrases: readonly string[], limit = KEY_FACTS_PER_PART): DdxSchema {
  const max = Math.min(limit, phrases.length);
  return {
    type: "object",
    properties: { facts: { type: "array", items: { enum: [...phrases] }, minItems: Math.min(1, max), maxItems: max } },
    required: ["facts"],
    additionalProperties: false,
  };
}

type JsonEngine = Pick<Engine, "json" | "tokenize">;

interface FieldPlan {
  field: TemplateField;
  prompt: string;
  promptTokens: number;
  schema: DdxSchema;
}

/** For each field, its prompt and the largest answer that fits beside it; undefined if one cannot fit. */
async function planFields(template: DocumentTemplate, prefix: string, contextSize: number, countTokens: CountTokens): Promise<FieldPlan[] | undefined> {
  const plans: FieldPlan[] = [];
  for (const field of template.fields) {
    const prompt = fieldPrompt(prefix, template, field);
    const promptTokens = await countTokens(prompt);
    const limits = FIELD_LIMIT_LADDER.find((l) => promptTokens + worstCaseChars(fieldSchema(field, l)) + CONTEXT_MARGIN <= contextSize);
    if (!limits) return undefined;
    plans.push({ field, prompt, promptTokens, schema: fieldSchema(field, limits) });
  }
  return plans;
}

/** The note's phrases, every section included (a plan and its follow-up matter most to these documents). */
export function documentPhrases(note: string): CandidatePhrase[] {
  const seen = new Set<string>();
  return noteChunks(note, { includeConclusions: true }).flatMap((chunk) => chunkPhrases(note, chunk, seen));
}

export async function draftDocument(engine: JsonEngine, note: string, template: DocumentTemplate, options: DraftOptions): Promise<DraftResult> {
  const { contextSize, signal } = options;
  const progress = options.onProgress ?? ((): void => undefined);
  const countTokens: CountTokens = async (text) => (await engine.tokenize(text)).count;
  const fields: Record<string, FieldResult> = Object.fromEntries(template.fields.map((f) => [f.name, { name: f.name, state: "pending", value: undefined }]));
  const result: DraftResult = { template, noteText: note, mode: "whole", keyFacts: [], fields, answers: [], cancelled: false };
  if (!note.trim()) throw new DraftError("The note is empty: there is nothing to draft from.");

  const ask = async (what: string, prompt: string, promptTokens: number, schema: DdxSchema, onText?: (raw: string) => void): Promise<unknown> => {
    const maxTokens = contextSize - promptTokens - CONTEXT_MARGIN;
    if (maxTokens <= 0) throw new DraftError(`The prompt for ${what} does not fit the model's context (${contextSize} tokens).`);
    let raw = "";
    let answer: JsonResult;
    try {
      answer = await engine.json(
        { prompt, schema, maxTokens, lane: "general", asciiOnly: true, temperature: options.temperature ?? 0, ...(options.seed !== undefined ? { seed: options.seed } : {}) },
        {
          ...(signal ? { signal } : {}),
          onText: (text) => {
            raw += text;
            onText?.(raw);
          },
        },
      );
    } catch (error) {
      if (signal?.aborted) return undefined;
      throw error;
    }
    if (answer.stopReason === "aborted" || signal?.aborted) return undefined;
    // A server whose structured output does not hold to maxLength (seen with the vLLM- and Ollama-shaped
    // servers) still gives a usable field: its text is cut at the last sentence (else word) that fits.
    const value = clipToMaxLengths(schema, answer.value);
    const errors = schemaErrors(schema, value);
    if (errors.length > 0) throw new DraftError(`The model's ${what} did not follow its schema: ${errors.slice(0, 3).join("; ")}`);
    return value;
  };

  const cancel = (): DraftResult => {
    for (const f of Object.values(fields)) {
      if (f.state !== "pending" && f.state !== "writing") continue;
      // A field cut off mid-way is not kept: its text is unfinished.
      f.state = "cancelled";
      f.value = undefined;
    }
    result.cancelled = true;
    return result;
  };

  // 1. The whole note, or its key facts read section by section.
  let prefix = draftPrefix(template, note, "whole");
  let plans = await planFields(template, prefix, contextSize, countTokens);
  const stepsForFields = template.fields.length;
  if (!plans) {
    result.mode = "keyFacts";
    const parts = await planKeyFacts(template, documentPhrases(note), contextSize, countTokens);
    if (parts.length === 0) throw new DraftError("The note has no text to draft from.");
    const chosen: string[] = [];
    for (const [index, part] of parts.entries()) {
      progress({ kind: "step", message: `Reading ${part.section || "the note"} for the facts the ${template.title} needs`, step: index + 1, steps: parts.length + stepsForFields });
      const schema = keyFactsSchema(part.phrases);
      const value = (await ask(`key facts (${part.section || "note"})`, part.prompt, part.promptTokens, schema)) as { facts: string[] } | undefined;
      if (!value) return cancel();
      result.answers.push({ field: `keyFacts:${part.section}`, schema, value });
      for (const fact of value.facts) if (!chosen.includes(fact)) chosen.push(fact);
    }
    // Too many key facts for the context: keep the first ones (the note's order).
    let kept = chosen;
    while (kept.length > 0) {
      prefix = draftPrefix(template, kept.map((f) => `- ${f}`).join("\n"), "keyFacts");
      plans = await planFields(template, prefix, contextSize, countTokens);
      if (plans) break;
      kept = kept.slice(0, Math.min(kept.length - 1, Math.floor(kept.length * 0.8)));
    }
    result.keyFacts = kept;
    if (!plans) throw new DraftError(`The model's context (${contextSize} tokens) is too small to draft a ${template.title}.`);
  }

  // 2. Each field under its own schema.
  const offset = result.mode === "keyFacts" ? result.answers.length : 0;
  for (const [index, plan] of plans.entries()) {
    const field = fields[plan.field.name]!;
    progress({ kind: "step", message: `Writing ${plan.field.name.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase()}`, step: offset + index + 1, steps: offset + plans.length });
    field.state = "writing";
    progress({ kind: "field", field: { ...field } });
    let value: unknown;
    try {
      value = await ask(`"${plan.field.name}"`, plan.prompt, plan.promptTokens, plan.schema, (raw) => {
        const strings = partialJsonStrings(raw).filter((s) => s.key === (plan.field.list ? "items" : "text"));
        field.value = plan.field.list ? strings.map((s) => s.value) : (strings[0]?.value ?? "");
        progress({ kind: "field", field: { ...field } });
      });
    } catch (error) {
      field.state = "failed";
      field.error = (error as Error).message;
      field.value = undefined;
      progress({ kind: "field", field: { ...field } });
      continue;
    }
    if (value === undefined) return cancel();
    result.answers.push({ field: plan.field.name, schema: plan.schema, value });
    const v = value as { text?: string; items?: string[] };
    field.value = plan.field.list ? (v.items ?? []).map(tidy).filter((s) => s.length > 0) : tidy(v.text ?? "");
    field.state = "done";
    progress({ kind: "field", field: { ...field } });
  }
  return result;
}

const tidy = (text: string): string => text.replace(/[ \t]+/g, " ").trim();

interface KeyFactsPart {
  section: string;
  phrases: string[];
  prompt: string;
  promptTokens: number;
}

/** Key-fact requests that each fit: whole sections where they do, else halves of them. */
async function planKeyFacts(template: DocumentTemplate, phrases: readonly CandidatePhrase[], contextSize: number, countTokens: CountTokens): Promise<KeyFactsPart[]> {
  const bySection: CandidatePhrase[][] = [];
  for (const phrase of phrases) {
    const last = bySection[bySection.length - 1];
    if (last && last[0]!.section === phrase.section) last.push(phrase);
    else bySection.push([phrase]);
  }
  const parts: KeyFactsPart[] = [];
  const place = async (group: CandidatePhrase[]): Promise<void> => {
    const texts = group.map((p) => p.text);
    const section = group[0]!.section;
    const prompt = keyFactsPrompt(template, section, texts.join("\n"));
    const promptTokens = await countTokens(prompt);
    if (promptTokens + worstCaseChars(keyFactsSchema(texts)) + CONTEXT_MARGIN <= contextSize) {
      parts.push({ section, phrases: texts, prompt, promptTokens });
      return;
    }
    if (group.length === 1) return;
    const half = Math.ceil(group.length / 2);
    await place(group.slice(0, half));
    await place(group.slice(half));
  };
  for (const group of bySection) await place(group);
  return parts;
}

/** The field values of a result, for composing the draft's text. */
export function fieldValues(result: Pick<DraftResult, "fields">): Record<string, FieldValue> {
  return Object.fromEntries(Object.values(result.fields).map((f) => [f.name, f.value]));
}
