/**
 * The prompt of a literature answer: numbered sources, then the question, fitted into the model's
 * context (Meditron-7B: 2,048 tokens) by dropping the weakest sources and shortening passages, and
 * the JSON shape the answer must take (each sentence with the numbers of the sources it rests on). Pure.
 */
import type { LiteratureSource } from "../library";

export interface FittedPrompt {
  prompt: string;
  /** The sources in the prompt, in their numbered order ([1] first). */
  sources: LiteratureSource[];
  /** Estimated prompt tokens. */
  promptTokens: number;
}

export interface FitOptions {
  contextTokens: number;
  /** Tokens kept free for the answer. */
  answerTokens: number;
  /** Tokens a text takes; default ~4 characters per token (rounded up, with a margin). */
  countTokens?: (text: string) => number;
}

export const estimateTokens = (text: string): number => Math.ceil(text.length / 3.5) + 1;

function sourceBlock(source: LiteratureSource, number: number, passage: string): string {
  const facts = [source.journal, source.year, source.pmid ? `PMID ${source.pmid}` : undefined].filter(Boolean).join(", ");
  return `[${number}] ${source.title}${facts ? ` (${facts})` : ""}\n${passage}\n`;
}

function shorten(passage: string, chars: number): string {
  if (passage.length <= chars) return passage;
  const cut = passage.slice(0, chars);
  const end = Math.max(cut.lastIndexOf(". "), cut.lastIndexOf("; "));
  return `${end > chars / 2 ? cut.slice(0, end + 1) : cut} …`;
}

export function buildAnswerPrompt(question: string, sources: readonly LiteratureSource[], options: FitOptions): FittedPrompt {
  const count = options.countTokens ?? estimateTokens;
  const head =
    "You answer a clinician's question using only the numbered sources below. Every sentence of the answer cites the sources it rests on by number. If the sources do not answer the question, say so.\n\nSources:\n";
  const tail = `\nQuestion: ${question.trim()}\nAnswer as JSON, each sentence with the numbers of its sources:\n`;
  const budget = options.contextTokens - options.answerTokens - count(head) - count(tail);
  let kept = [...sources];
  let passageChars = 1200;
  for (;;) {
    const blocks = kept.map((s, i) => sourceBlock(s, i + 1, shorten(s.passage, passageChars)));
    const tokens = blocks.reduce((sum, b) => sum + count(b), 0);
    if (tokens <= budget || kept.length === 0) {
      const prompt = `${head}${blocks.join("\n")}${tail}`;
      return { prompt, sources: kept.map((s, i) => ({ ...s, passage: shorten(s.passage, passageChars), rank: i + 1 })), promptTokens: count(prompt) };
    }
    if (passageChars > 400 || (kept.length === 1 && passageChars > 150)) passageChars = Math.floor(passageChars * 0.75);
    else kept = kept.slice(0, -1);
  }
}

/**
 * The JSON schema of an answer with `sourceCount` sources (citations limited to 1..sourceCount).
 * Each sentence names its sources before its text, so even an answer cut at the token limit has
 * its citations.
 */
export function answerSchema(sourceCount: number): object {
  return {
    type: "object",
    properties: {
      sentences: {
        type: "array",
        minItems: 1,
        maxItems: 6,
        items: {
          type: "object",
          properties: {
            sources: { type: "array", minItems: 1, maxItems: 3, items: { type: "integer", enum: Array.from({ length: sourceCount }, (_, i) => i + 1) } },
            text: { type: "string", minLength: 1, maxLength: 240 },
          },
          required: ["sources", "text"],
        },
      },
    },
    required: ["sentences"],
  };
}

/** Sentences as far as a (possibly unfinished) JSON answer has written them, for streaming. */
export function partialSentences(json: string): Array<{ text: string; citations: number[] }> {
  const out: Array<{ text: string; citations: number[] }> = [];
  const re = /"sources"\s*:\s*\[([\d,\s]*)\]?(?:\s*,\s*"text"\s*:\s*"((?:[^"\\]|\\.)*))?/g;
  for (const match of json.matchAll(re)) {
    const raw = (match[2] ?? "").replace(/\\(u[0-9a-fA-F]{0,3})?$/, "");
    let text: string;
    try {
      text = JSON.parse(`"${raw}"`) as string;
    } catch {
      text = raw;
    }
    out.push({
      text,
      citations: match[1]
        .split(",")
        .map((n) => Number(n.trim()))
        .filter((n) => Number.isInteger(n) && n > 0),
    });
  }
  return out.filter((s) => s.text.length > 0);
}

/** Sentences of a finished JSON answer; undefined when it is not the expected shape. */
export function parseAnswer(value: unknown): Array<{ text: string; citations: number[] }> | undefined {
  if (typeof value !== "object" || value === null || !Array.isArray((value as { sentences?: unknown }).sentences)) return undefined;
  return (value as { sentences: unknown[] }).sentences
    .filter((s): s is { text: string; sources?: unknown } => typeof s === "object" && s !== null && typeof (s as { text?: unknown }).text === "string")
    .map((s) => ({ text: s.text, citations: Array.isArray(s.sources) ? s.sources.filter((n): n is number => typeof n === "number") : [] }));
}

/**
 * The sources worth answering from: relevant enough on their own (the query-coverage threshold) and
 * close to the best one (at least `relativeScore` of its score). Empty: the library has nothing relevant.
 */
export function selectAnswerSources(sources: readonly LiteratureSource[], threshold: number, relativeScore = 0.5): LiteratureSource[] {
  const best = sources[0];
  if (!best || best.relevance < threshold) return [];
  return sources.filter((s) => s.relevance >= threshold && s.score >= best.score * relativeScore);
}
