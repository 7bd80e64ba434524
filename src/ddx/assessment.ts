/**
 * The differential written as an ASSESSMENT section of the note (what "Insert as Assessment" puts at the
 * cursor). Plain text the note language highlights, one diagnosis per numbered item, the note's own words
 * as findings, and a line saying where it came from. Pure.
 */
import type { DifferentialResult } from "./differential";

export interface AssessmentOptions {
  /** Text before the cursor on its line: a section must start on a line of its own. */
  linePrefix: string;
  /** Whether text follows the cursor (then a blank line separates the section from it). */
  textAfter: boolean;
}

const oneLine = (text: string): string => text.replace(/\s+/g, " ").trim();

export function formatAssessment(differential: DifferentialResult, options: AssessmentOptions = { linePrefix: "", textAfter: false }): string {
  const lines = ["ASSESSMENT:", "Differential diagnosis (Bedside, model-generated; verify before signing):"];
  differential.diagnoses.forEach((d, index) => {
    const flags = [`likelihood ${d.likelihood}`, ...(d.cantMiss ? ["can't miss"] : [])].join("; ");
    lines.push(`${index + 1}. ${oneLine(d.name)} (${flags})`);
    const quoted = (findings: typeof d.findingsFor): string => findings.map((f) => oneLine(f.noteText ?? f.quote)).join("; ");
    if (d.findingsFor.length > 0) lines.push(`   For: ${quoted(d.findingsFor)}`);
    if (d.findingsAgainst.length > 0) lines.push(`   Against: ${quoted(d.findingsAgainst)}`);
    if (d.nextSteps.length > 0) lines.push(`   Next steps: ${d.nextSteps.map(oneLine).join("; ")}`);
    if (d.citations.length > 0) lines.push(`   Sources: ${d.citations.map((c) => c.id).join(", ")}`);
  });
  const lead = options.linePrefix.trim().length > 0 ? "\n\n" : "";
  const tail = options.textAfter ? "\n\n" : "\n";
  return `${lead}${lines.join("\n")}${tail}`;
}
