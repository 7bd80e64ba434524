/**
 * Prompt building for chat. A model with a chat template in its GGUF gets role messages, which the
 * engine formats with that template; a base model such as Meditron-7B gets a few-shot "User:/Assistant:"
 * transcript and stop strings, so it answers once instead of writing both sides. Pure.
 */
import type { ChatMessage } from "../engine/protocol";
import type { ChatTurn } from "./chatTypes";
import type { LiteraturePassage } from "./literatureSource";

/** Text the model is given about the note: one block per context chip. */
export interface NoteContext {
  label: string;
  text: string;
}

export const CHAT_INSTRUCTION =
  "You are Bedside, an assistant for a clinician writing notes. Answer briefly and accurately in plain clinical English. " +
  "Use only the note text you are given as the patient's facts; if something is not in it, say so. The clinician reviews and signs everything.";

/** Marks where a context block was cut to fit the context window. */
export const TRIM_MARK = "[… part of this text was left out to fit the model's context …]";

export function contextBlock(contexts: readonly NoteContext[]): string {
  return contexts.map((c) => `--- ${c.label} ---\n${c.text.trim()}\n--- end of ${c.label} ---`).join("\n\n");
}

export function libraryBlock(passages: readonly LiteraturePassage[]): string {
  if (passages.length === 0) return "";
  const lines = passages.map((p, i) => `[${i + 1}] ${p.title}${p.year ? ` (${p.year})` : ""}${p.id ? `, PMID ${p.id}` : ""}\n${p.text.trim()}`);
  return `Sources from the clinician's literature library. Cite them as [1], [2] where you use them; cite nothing else.\n\n${lines.join("\n\n")}`;
}

/** The system text: the instruction, then the note context, then any library sources. */
export function systemText(contexts: readonly NoteContext[], passages: readonly LiteraturePassage[] = []): string {
  const parts = [CHAT_INSTRUCTION];
  if (contexts.length > 0) parts.push(`The clinician shared this text:\n\n${contextBlock(contexts)}`);
  const library = libraryBlock(passages);
  if (library) parts.push(library);
  return parts.join("\n\n");
}

/** The conversation as role messages: system first, then the turns in order (errors and empty replies left out). */
export function chatMessages(system: string, turns: readonly ChatTurn[]): ChatMessage[] {
  const messages: ChatMessage[] = [{ role: "system", text: system }];
  for (const turn of turns) {
    if (turn.role === "assistant" && (turn.error || turn.text.trim() === "")) continue;
    messages.push({ role: turn.role, text: turn.text });
  }
  return messages;
}

/** Worked examples that teach a base model the transcript format: short, and no patient of their own. */
export const FEW_SHOT_EXAMPLES: readonly ChatMessage[] = [
  { role: "user", text: "What does BID mean on a prescription?" },
  { role: "assistant", text: "Twice a day (from the Latin bis in die)." },
  { role: "user", text: 'Rephrase for a patient letter: "Pt to cont. current meds, f/u in clinic."' },
  { role: "assistant", text: "Please keep taking your current medicines. We will see you again in clinic." },
];

export const USER_LABEL = "User:";
export const ASSISTANT_LABEL = "Assistant:";

/** Stop strings for the transcript: the model starting the next speaker's line. */
export const FEW_SHOT_STOPS: readonly string[] = [`\n${USER_LABEL}`, `\n${ASSISTANT_LABEL}`, "\nUSER:", "\n### User", "</s>"];

/**
 * A base model's prompt: the system text, the examples, the conversation, and an open "Assistant:" line.
 * A line inside a message that starts with a speaker label is indented, so the
 * transcript cannot be spoofed by a line in the note or a question that starts with "Assistant:".
 */
export function fewShotPrompt(messages: readonly ChatMessage[]): { prompt: string; stop: string[] } {
  const system = messages.filter((m) => m.role === "system").map((m) => m.text.trim());
  const turns = messages.filter((m) => m.role !== "system");
  const line = (m: ChatMessage): string => `${m.role === "user" ? USER_LABEL : ASSISTANT_LABEL} ${escapeSpeakerLines(m.text.trim())}`;
  const parts = [...system, "Example conversation:", FEW_SHOT_EXAMPLES.map(line).join("\n\n"), "Conversation:", turns.map(line).join("\n\n")];
  return { prompt: `${parts.join("\n\n")}\n\n${ASSISTANT_LABEL}`, stop: [...FEW_SHOT_STOPS] };
}

/** Lines in a message that look like a speaker label are indented so they do not start a new turn. */
export function escapeSpeakerLines(text: string): string {
  return text.replace(/\n(?=(User|Assistant|USER|ASSISTANT)\s*:)/g, "\n ");
}

/** A reply as shown and stored: without leading/trailing blank space. */
export function cleanReply(text: string): string {
  return text.replace(/^\s+/, "").replace(/\s+$/, "");
}
