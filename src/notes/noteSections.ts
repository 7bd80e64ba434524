/**
 * Sections of a clinical note: a header line such as "HPI:", "PHYSICAL EXAMINATION:" or "PLAN" in capitals,
 * optionally with text after the colon ("ASSESSMENT: Stable."). Pure: no vscode.
 */

/** Headers clinicians write; any capitalised line ending in a colon counts too. */
export const KNOWN_SECTION_NAMES = [
  "CHIEF COMPLAINT",
  "CC",
  "SUBJECTIVE",
  "HPI",
  "HISTORY OF PRESENT ILLNESS",
  "PAST MEDICAL HISTORY",
  "PMH",
  "PAST SURGICAL HISTORY",
  "MEDICATIONS",
  "ALLERGIES",
  "SOCIAL HISTORY",
  "FAMILY HISTORY",
  "ROS",
  "REVIEW OF SYSTEMS",
  "OBJECTIVE",
  "VITAL SIGNS",
  "VITALS",
  "EXAM",
  "PHYSICAL EXAM",
  "PHYSICAL EXAMINATION",
  "LABS",
  "LABORATORY DATA",
  "IMAGING",
  "ASSESSMENT",
  "PLAN",
  "ASSESSMENT AND PLAN",
  "A/P",
  "IMPRESSION",
  "DIAGNOSIS",
  "DISPOSITION",
  "HOSPITAL COURSE",
  "DISCHARGE DIAGNOSES",
  "DISCHARGE MEDICATIONS",
  "FOLLOW-UP",
  "FOLLOW UP",
  "INTERVAL HISTORY",
] as const;

const KNOWN = new Set<string>(KNOWN_SECTION_NAMES);
/** "HEADER:" (optionally followed by text) where HEADER is capitals, spaces and & / ( ) - . */
const HEADER_WITH_COLON = /^\s*([A-Z][A-Z0-9 &/()'-]{0,60}[A-Z)])\s*:(.*)$/;
/** A header written inside a line, as MTSamples flattens them: "... pain. ASSESSMENT: ..." */
export const INLINE_HEADER = /(?:^|\s)[A-Z][A-Z&/ -]{2,40}:(?=\s|$)/;

export interface NoteSection {
  name: string;
  /** Zero-based line of the header. */
  line: number;
  /** Last line of the section (inclusive). */
  endLine: number;
}

/** The section name a line starts, or undefined when it is not a header. */
export function sectionHeaderName(line: string): string | undefined {
  const withColon = HEADER_WITH_COLON.exec(line);
  if (withColon) return withColon[1]!.trim();
  const bare = line.trim();
  return KNOWN.has(bare) ? bare : undefined;
}

export function isSectionHeader(line: string): boolean {
  return sectionHeaderName(line) !== undefined;
}

export function findSections(lines: readonly string[]): NoteSection[] {
  const sections: NoteSection[] = [];
  lines.forEach((line, index) => {
    const name = sectionHeaderName(line);
    if (name === undefined) return;
    const previous = sections[sections.length - 1];
    if (previous) previous.endLine = index - 1;
    sections.push({ name, line: index, endLine: lines.length - 1 });
  });
  return sections;
}

/** The section the given line belongs to, if any header comes at or before it. */
export function sectionAt(lines: readonly string[], line: number): NoteSection | undefined {
  return findSections(lines.slice(0, line + 1)).pop();
}

/** A list item: "- ", "* ", "• " or "1. " / "2) ". */
export const LIST_ITEM = /^\s*(?:[-*•]|\d+[.)])\s+/;

export function isListItem(line: string): boolean {
  return LIST_ITEM.test(line);
}
