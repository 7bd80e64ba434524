/**
 * What the differential panel's host and its webview say to each other. The webview gets a view of the
 * differential (text only: it renders everything as text nodes) and answers with what the clinician
 * clicked. Pure: shared by src/ddx/differentialPanel.ts and src/ddx/webview/main.ts.
 */
import type { DifferentialResult } from "./differential";
import type { Likelihood } from "./schema";
import { partialJsonStrings } from "../engine/partialJson";

export interface PanelFinding {
  id: string;
  /** The note's own words at the finding's range. */
  text: string;
}

export interface PanelDiagnosis {
  name: string;
  likelihood: Likelihood;
  cantMiss: boolean;
  findingsFor: PanelFinding[];
  findingsAgainst: PanelFinding[];
  nextSteps: string[];
  citations: Array<{ id: string; title: string; url?: string }>;
  evidenceMissing?: string;
}

export interface PanelView {
  noteName: string;
  running: boolean;
  cancelled: boolean;
  stale: boolean;
  mode?: "whole" | "keyFindings";
  keyFindings: PanelFinding[];
  diagnoses: PanelDiagnosis[];
  /** Findings the model quoted that the note does not contain (left out). */
  dropped: number;
  quoted: number;
  error?: string;
  /** Whether a literature library was there to cite from. */
  literature: boolean;
}

export interface PanelProgress {
  message: string;
  step: number;
  steps: number;
  /** What the model is writing now, as a clinician reads it: the diagnoses' names parsed so far, never raw JSON. */
  tail: string;
}

/**
 * The readable part of a streamed answer: while ranking, the diagnoses' names written so far; while writing
 * evidence, the findings and next steps so far. Raw JSON (braces, keys, likelihood codes) is never shown.
 */
export function readableProgress(raw: string): string {
  const strings = partialJsonStrings(raw);
  const names = strings.filter((s) => s.key === "name" && s.value.trim());
  if (names.length > 0) return `Diagnoses so far: ${names.map((s) => s.value.trim() + (s.complete ? "" : "…")).join(", ")}`;
  const items = strings.filter((s) => s.key !== "likelihood" && s.value.trim());
  return items.length > 0 ? items.map((s) => s.value.trim() + (s.complete ? "" : "…")).join(" · ") : "";
}

export type HostMessage =
  | { type: "view"; view: PanelView }
  | { type: "progress"; progress: PanelProgress }
  /** Tests drive the webview's own click handlers with this: the element with data-id=id is clicked. */
  | { type: "click"; id: string };

export type PanelMessage =
  | { type: "ready" }
  | { type: "reveal"; id: string }
  | { type: "insert" }
  | { type: "cancel" }
  | { type: "rerun" }
  | { type: "openCitation"; url: string }
  /** After each render: the diagnoses and finding texts now on screen (tests compare them with the note). */
  | { type: "rendered"; diagnoses: string[]; findings: Array<{ id: string; text: string }>; citations: string[]; stale: boolean; running: boolean };

export function findingId(diagnosis: number, side: "for" | "against", index: number): string {
  return `d${diagnosis}-${side}-${index}`;
}

export function keyFindingId(index: number): string {
  return `k${index}`;
}

/** The panel's view of a result. */
export function panelView(result: DifferentialResult | undefined, extra: Pick<PanelView, "noteName" | "running" | "stale" | "literature"> & { error?: string }): PanelView {
  const text = (f: { quote: string; noteText?: string }): string => f.noteText ?? f.quote;
  return {
    ...extra,
    cancelled: result?.cancelled ?? false,
    ...(result ? { mode: result.mode } : {}),
    keyFindings: (result?.keyFindings ?? []).map((f, i) => ({ id: keyFindingId(i), text: text(f) })),
    diagnoses: (result?.diagnoses ?? []).map((d, i) => ({
      name: d.name,
      likelihood: d.likelihood,
      cantMiss: d.cantMiss,
      findingsFor: d.findingsFor.map((f, j) => ({ id: findingId(i, "for", j), text: text(f) })),
      findingsAgainst: d.findingsAgainst.map((f, j) => ({ id: findingId(i, "against", j), text: text(f) })),
      nextSteps: d.nextSteps,
      citations: d.citations,
      ...(d.evidenceMissing ? { evidenceMissing: d.evidenceMissing } : {}),
    })),
    dropped: result?.droppedFindings.length ?? 0,
    quoted: result?.quotedFindings ?? 0,
  };
}

/** The finding a panel id names, in a result. */
export function findingById(result: DifferentialResult, id: string): { quote: string; range?: { start: number; end: number } } | undefined {
  const key = /^k(\d+)$/.exec(id);
  if (key) return result.keyFindings[Number(key[1])];
  const match = /^d(\d+)-(for|against)-(\d+)$/.exec(id);
  if (!match) return undefined;
  const diagnosis = result.diagnoses[Number(match[1])];
  const list = match[2] === "for" ? diagnosis?.findingsFor : diagnosis?.findingsAgainst;
  return list?.[Number(match[3])];
}
