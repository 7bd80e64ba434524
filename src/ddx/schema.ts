/**
 * The JSON schemas the model writes the differential in. Each one is both the grammar that constrains
 * generation (llama.cpp's JSON-schema subset: enums, bounded strings and arrays, no numbers that could
 * overflow) and the contract the answer is validated against (ajv) before anything is shown: one source
 * of truth. Findings are enums of the note's own phrases, so the model can only quote the note.
 * Pure: no vscode.
 */
import Ajv, { type ValidateFunction } from "ajv";

export const LIKELIHOODS = ["high", "moderate", "low"] as const;
export type Likelihood = (typeof LIKELIHOODS)[number];

/** How much one answer may hold. Smaller limits fit smaller context windows (see fitting.ts). */
export interface DdxLimits {
  diagnoses: number;
  nameChars: number;
  findingsFor: number;
  findingsAgainst: number;
  nextSteps: number;
  nextStepChars: number;
  /** Key findings kept per section when a long note is read section by section. */
  keyFindingsPerSection: number;
}

export const DEFAULT_LIMITS: DdxLimits = {
  diagnoses: 5,
  nameChars: 48,
  findingsFor: 3,
  findingsAgainst: 2,
  nextSteps: 2,
  nextStepChars: 60,
  keyFindingsPerSection: 4,
};

/** The smallest useful answer; below this the note is read section by section instead. */
export const MINIMUM_LIMITS: DdxLimits = {
  diagnoses: 2,
  nameChars: 24,
  findingsFor: 1,
  findingsAgainst: 0,
  nextSteps: 1,
  nextStepChars: 24,
  keyFindingsPerSection: 2,
};

/** Shape of the first answer: the ranked list. */
export interface RankedDiagnosis {
  name: string;
  likelihood: Likelihood;
  cantMiss: boolean;
}
export interface RankedList {
  diagnoses: RankedDiagnosis[];
}

/** Shape of the second answer, one per diagnosis: the evidence and next steps. */
export interface DiagnosisEvidence {
  findingsFor: string[];
  findingsAgainst: string[];
  nextSteps: string[];
}

export interface KeyFindings {
  findings: string[];
}

/** A JSON schema in the subset both llama.cpp's grammar and ajv understand. */
export type DdxSchema = Record<string, unknown>;

const boundedString = (maxLength: number): DdxSchema => ({ type: "string", minLength: 1, maxLength });

/** An enum of the phrases, or, with none to choose from, an array that must stay empty. */
function phraseArray(phrases: readonly string[], minItems: number, maxItems: number): DdxSchema {
  if (phrases.length === 0 || maxItems === 0) return { type: "array", items: { type: "string", maxLength: 1 }, maxItems: 0 };
  const max = Math.min(maxItems, phrases.length);
  return { type: "array", items: { enum: [...phrases] }, minItems: Math.min(minItems, max), maxItems: max };
}

function object(properties: Record<string, DdxSchema>): DdxSchema {
  return { type: "object", properties, required: Object.keys(properties), additionalProperties: false };
}

export function rankedListSchema(limits: DdxLimits): DdxSchema {
  return object({
    diagnoses: {
      type: "array",
      minItems: 1,
      maxItems: limits.diagnoses,
      items: object({ name: boundedString(limits.nameChars), likelihood: { enum: [...LIKELIHOODS] }, cantMiss: { type: "boolean" } }),
    },
  });
}

export function evidenceSchema(phrases: readonly string[], limits: DdxLimits): DdxSchema {
  return object({
    findingsFor: phraseArray(phrases, 1, limits.findingsFor),
    findingsAgainst: phraseArray(phrases, 0, limits.findingsAgainst),
    nextSteps: { type: "array", minItems: 1, maxItems: limits.nextSteps, items: boundedString(limits.nextStepChars) },
  });
}

export function keyFindingsSchema(phrases: readonly string[], limits: DdxLimits): DdxSchema {
  return object({ findings: phraseArray(phrases, 1, limits.keyFindingsPerSection) });
}

/** Compiled validators live as long as their schema: each differential builds new schemas from its note's phrases. */
const validators = new WeakMap<DdxSchema, ValidateFunction>();

/** Problems with `value` under `schema`, as readable lines; empty when it is valid. */
export function schemaErrors(schema: DdxSchema, value: unknown): string[] {
  let validate = validators.get(schema);
  if (!validate) {
    // One Ajv per schema: an Ajv instance keeps every schema it compiled, with its generated code and the
    // values it refers to (the note's phrases), for the instance's life (~30 KB a schema, several a
    // differential, all day long; found by `npm run test:soak`). Alone, the instance goes with its validator.
    // Our schemas are built here, so they are not checked against the JSON Schema meta-schema.
    validate = new Ajv({ allErrors: true, strict: false, meta: false, validateSchema: false }).compile(schema);
    validators.set(schema, validate);
  }
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || "(answer)"} ${e.message ?? "is invalid"}`);
}

export function isValid<T>(schema: DdxSchema, value: unknown): value is T {
  return schemaErrors(schema, value).length === 0;
}

/**
 * An upper bound on the characters (and so tokens: every token is at least one character) an answer can
 * take under `schema`, as the grammar lays it out: the longest value of each part, four spaces of indent
 * per level and a newline before each element. Escapes in free strings (\uXXXX) can exceed it; the
 * caller leaves the rest of the context as slack for those.
 */
export function worstCaseChars(schema: DdxSchema, depth = 0): number {
  const s = schema as {
    type?: string;
    enum?: readonly unknown[];
    maxLength?: number;
    maxItems?: number;
    items?: DdxSchema;
    properties?: Record<string, DdxSchema>;
  };
  const gap = 1 + 4 * (depth + 1);
  if (s.enum) return Math.max(...s.enum.map((v) => JSON.stringify(v).length));
  if (s.type === "string") return 2 + (s.maxLength ?? 256);
  if (s.type === "boolean") return 5;
  if (s.type === "array") {
    const items = s.maxItems ?? 8;
    return 2 + 1 + 4 * depth + items * (gap + 1 + (s.items ? worstCaseChars(s.items, depth + 1) : 8));
  }
  if (s.type === "object" && s.properties) {
    const entries = Object.entries(s.properties);
    return 2 + 1 + 4 * depth + entries.reduce((sum, [key, value]) => sum + gap + key.length + 4 + 1 + worstCaseChars(value, depth + 1), 0);
  }
  return 16;
}
