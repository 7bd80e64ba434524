/**
 * Document templates: markdown with named fields the model fills from the note. The syntax:
 *
 *     ---
 *     title: Work Note
 *     audience: patient          (patient: plain language, reading grade shown; clinician: the default)
 *     description: A note for an employer: dates off work and restrictions.
 *     ---
 *     # Work note
 *     {{reason: Why the patient was seen, in one plain sentence.}}
 *     ## Restrictions
 *     {{restrictions[]: Each restriction on work the note states, one per item.}}
 *
 * `{{name: instruction}}` is a field: a name (letters, digits, `_`, `-`) and the instruction the model is
 * given for it. `{{name[]: instruction}}` is a list, written one `- item` per line. A name used twice is filled
 * once and written in both places (the later one may leave out the instruction: `{{name}}`). `\{{` writes two
 * braces; `<!-- ... -->` comments are left out of drafts. Everything else is kept as written. Pure.
 */

export type Audience = "patient" | "clinician";

export interface TemplateField {
  name: string;
  instruction: string;
  list: boolean;
}

export interface DocumentTemplate {
  /** "builtin:after-visit-summary", or the file's path for the user's own. */
  id: string;
  title: string;
  audience: Audience;
  description: string;
  /** The body in parts: text as written, and field slots in order. */
  parts: TemplatePart[];
  /** Each field once, in the order it first appears. */
  fields: TemplateField[];
  source: "builtin" | "workspace" | "user";
}

export type TemplatePart = { kind: "text"; text: string } | { kind: "field"; name: string };

export class TemplateError extends Error {
  override name = "TemplateError";
}

const FIELD = /(\\?)\{\{\s*([A-Za-z][\w-]{0,40})(\[\])?\s*(?::\s*([\s\S]*?))?\s*\}\}/g;

/** Reads a template; throws TemplateError with a readable message when it cannot be used. */
export function parseTemplate(text: string, id: string, source: DocumentTemplate["source"], fallbackTitle = "Document"): DocumentTemplate {
  const front = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/.exec(text);
  const meta = new Map<string, string>();
  if (front) {
    for (const line of front[1]!.split(/\r?\n/)) {
      const m = /^\s*([A-Za-z]+)\s*:\s*(.*?)\s*$/.exec(line);
      if (m) meta.set(m[1]!.toLowerCase(), m[2]!);
    }
  }
  // HTML comments are notes for the template's author, never part of a draft.
  const body = (front ? text.slice(front[0].length) : text).replace(/<!--[\s\S]*?-->\r?\n?/g, "");
  const audience = (meta.get("audience") ?? "clinician").toLowerCase();
  if (audience !== "patient" && audience !== "clinician") throw new TemplateError(`audience must be patient or clinician, not "${audience}"`);
  const parts: TemplatePart[] = [];
  const fields: TemplateField[] = [];
  let last = 0;
  const pushText = (t: string): void => {
    if (!t) return;
    const previous = parts[parts.length - 1];
    if (previous?.kind === "text") previous.text += t;
    else parts.push({ kind: "text", text: t });
  };
  for (const m of body.matchAll(FIELD)) {
    pushText(body.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[1]) {
      pushText(m[0].slice(1));
      continue;
    }
    const name = m[2]!;
    const list = m[3] === "[]";
    const instruction = (m[4] ?? "").replace(/\s+/g, " ").trim();
    const known = fields.find((f) => f.name === name);
    if (known) {
      if (known.list !== list) throw new TemplateError(`field "${name}" is used both as a list and as text`);
      if (instruction && !known.instruction) known.instruction = instruction;
    } else fields.push({ name, instruction, list });
    parts.push({ kind: "field", name });
  }
  pushText(body.slice(last));
  for (const part of parts) if (part.kind === "text") part.text = part.text.replace(/\\\{\{/g, "{{");
  if (fields.length === 0) throw new TemplateError("the template has no fields ({{name: instruction}})");
  const missing = fields.find((f) => !f.instruction);
  if (missing) throw new TemplateError(`field "${missing.name}" has no instruction ({{${missing.name}: what to write}})`);
  return { id, title: meta.get("title") || fallbackTitle, audience, description: meta.get("description") ?? "", parts, fields, source };
}

/** What a field holds while a draft is written: nothing yet, text, or list items. */
export type FieldValue = string | readonly string[] | undefined;

export interface ComposedField {
  name: string;
  start: number;
  end: number;
}

export interface ComposedDraft {
  text: string;
  /** Where each field's value is in the text (a field used twice has two entries). */
  fields: ComposedField[];
  /** The template's own words, which the no-new-facts check allows. */
  templateText: string;
}

/** The draft's text: the template with each field's value in place (an empty string for one not filled yet). */
export function composeDraft(template: DocumentTemplate, values: Readonly<Record<string, FieldValue>>): ComposedDraft {
  let text = "";
  const fields: ComposedField[] = [];
  for (const part of template.parts) {
    if (part.kind === "text") {
      text += part.text;
      continue;
    }
    const field = template.fields.find((f) => f.name === part.name)!;
    const value = values[part.name];
    let written = "";
    if (Array.isArray(value)) {
      const lineStart = text.slice(text.lastIndexOf("\n") + 1);
      const bulletHere = /^\s*[-*]\s*$/.test(lineStart);
      written = value.map((item, i) => (i === 0 && bulletHere ? item : `- ${item}`)).join("\n");
      if (!bulletHere && lineStart.trim() && written) written = `\n${written}`;
    } else if (typeof value === "string") written = value;
    else if (field.list) written = "";
    fields.push({ name: part.name, start: text.length, end: text.length + written.length });
    text += written;
  }
  const templateText = template.parts.map((p) => (p.kind === "text" ? p.text : " ")).join("");
  return { text, fields, templateText };
}

/** A file name for a template's draft: "after-visit-summary". */
export function slug(title: string): string {
  return (
    title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "") || "document"
  );
}
