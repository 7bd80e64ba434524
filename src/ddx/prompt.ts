/**
 * Prompts for the differential. Meditron-7B is a base model, not an instruction follower, so each prompt
 * is the start of a document whose natural continuation is the answer; the grammar does the rest. The
 * ranked-list and evidence prompts share their beginning (the note), so the engine's KV cache reads the
 * note once and each later answer evaluates only its last lines. Pure.
 */

const PREAMBLE = "A clinical note and the differential diagnosis a physician wrote for it, quoting the note's findings word for word.";

/** The part every differential prompt starts with. */
export function notePrefix(noteText: string, mode: "whole" | "keyFindings"): string {
  const heading = mode === "whole" ? "CLINICAL NOTE:" : "KEY FINDINGS FROM THE CLINICAL NOTE:";
  return `${PREAMBLE}\n\n${heading}\n${noteText.trim()}\n\n`;
}

export function rankedListPrompt(prefix: string): string {
  return `${prefix}DIFFERENTIAL DIAGNOSIS, most likely first (likelihood high, moderate or low; cantMiss: must not be missed), as JSON:\n`;
}

export function evidencePrompt(prefix: string, diagnosis: string): string {
  return `${prefix}EVIDENCE FOR ${diagnosis.toUpperCase()}: findings for and against it, quoted from the note, and next steps (tests, exams), as JSON:\n`;
}

export function keyFindingsPrompt(section: string, text: string): string {
  const name = section || "NOTE";
  return (
    "The following is one section of a clinical note, followed by the findings in it that matter for a differential diagnosis, " +
    `quoted word for word.\n\n${name}:\n${text.trim()}\n\nKEY FINDINGS IN ${name}, as JSON:\n`
  );
}

/** Phrases of the note, one per line under their section headers: the note text the model reads. */
export function phrasesText(phrases: ReadonlyArray<{ section: string; text: string }>): string {
  const lines: string[] = [];
  let section: string | undefined;
  for (const phrase of phrases) {
    if (phrase.section !== section) {
      section = phrase.section;
      if (section) lines.push(`${section}:`);
    }
    lines.push(`- ${phrase.text}`);
  }
  return lines.join("\n");
}
