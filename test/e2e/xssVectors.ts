// The XSS vectors of test/fixtures/xss/vectors.txt, numbered, with the trap server's URL filled in, and the
// texts the e2e suite makes a note, a model's reply and a library carry them in. Pure: no browser, no vscode.
import * as fs from "node:fs";
import * as path from "node:path";

export interface XssVector {
  /** 1-based; the vector sets window.__xss_<n> or requests <trap>/xss_<n>... when it runs. */
  n: number;
  text: string;
}

export const vectorsFile = path.resolve(__dirname, "..", "fixtures", "xss", "vectors.txt");

export function loadXssVectors(trap: string): XssVector[] {
  const lines = fs
    .readFileSync(vectorsFile, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith("#"));
  return lines.map((line, i) => ({ n: i + 1, text: line.replaceAll("{N}", String(i + 1)).replaceAll("{TRAP}", trap) }));
}

/** The marker every vector shows when it is rendered as text. */
export const marker = (n: number): string => `xss_${n}`;

/** The globals a vector that ran would have set, in whatever frame it ran. */
export const XSS_GLOBAL = /^__xss/;

/** A note with every vector, one per line, between real findings (the differential reads its phrases). */
export function payloadNote(vectors: readonly XssVector[]): string {
  const findings = ["Fever to 39.2 C since yesterday", "Neck stiffness and photophobia", "Petechial rash on both legs", "Confusion and drowsiness", "Headache worse lying down"];
  const lines = ["HPI:", "Patient pasted portal messages into the note (synthetic, for testing)."];
  vectors.forEach((v, i) => {
    lines.push(`- ${findings[i % findings.length]} ${v.text}`);
    if (i === Math.floor(vectors.length / 2)) lines.push("", "PHYSICAL EXAMINATION:");
  });
  lines.push("", "PLAN:", "Lumbar puncture after CT head.", "");
  return lines.join("\n");
}

/** The chat model's reply: every vector as its own paragraph. */
export function chatReply(vectors: readonly XssVector[]): string {
  return ["Portal messages, as received:", ...vectors.map((v) => v.text), "End of messages."].join("\n\n");
}

/**
 * The answer model's reply: the JSON an answer is (sentences citing source 1), each sentence's text a run
 * of vectors up to the schema's 240 characters, at most 6 sentences. Returns the JSON and the vectors in it.
 */
export function answerReply(vectors: readonly XssVector[]): { json: string; carried: XssVector[] } {
  const sentences: string[] = [];
  const carried: XssVector[] = [];
  let current = "";
  for (const v of vectors) {
    const next = current ? `${current} ${v.text}` : v.text;
    if (next.length <= 240) {
      current = next;
      carried.push(v);
      continue;
    }
    sentences.push(current);
    if (sentences.length === 6) {
      current = "";
      break;
    }
    if (v.text.length > 240) {
      current = "";
      continue;
    }
    current = v.text;
    carried.push(v);
  }
  if (current && sentences.length < 6) sentences.push(current);
  return { json: JSON.stringify({ sentences: sentences.map((text) => ({ sources: [1], text })) }), carried };
}

/** Library records in JSON Lines (BEIR corpus shape): titles and abstracts carry the vectors. */
export function libraryJsonl(vectors: readonly XssVector[]): { text: string; records: number } {
  const lines: string[] = [];
  const perRecord = 5;
  for (let i = 0; i < vectors.length; i += perRecord) {
    const group = vectors.slice(i, i + perRecord);
    const id = String(90000001 + i / perRecord);
    const title = `Bacterial meningitis in adults, series ${i / perRecord + 1} ${group[0]!.text}`;
    const abstract = group.map((v, k) => `Meningitis with fever and neck stiffness, case ${k + 1}: ${v.text}.`).join(" ");
    lines.push(JSON.stringify({ _id: id, title, text: abstract }));
  }
  return { text: `${lines.join("\n")}\n`, records: lines.length };
}
