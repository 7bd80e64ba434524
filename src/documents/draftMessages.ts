/**
 * What the draft view's host and its webview say to each other. The webview gets the draft as runs of text
 * (each marked with the field it belongs to and the flag over it, if any) and renders every run as a text
 * node; it answers with what the clinician clicked. Pure: shared by draftPanel.ts and webview/main.ts.
 */
import type { FactKind, NewFact } from "./newFacts";
import type { FieldState } from "./draft";
import type { DraftReview } from "./review";

export interface DraftRun {
  text: string;
  /** The field this text was written into (absent for the template's own text). */
  field?: string;
  state?: FieldState;
  /** Index into DraftView.flags of the flag over this text. */
  flag?: number;
  /** Shown in place of a field not written yet ("Writing reason…"); not part of the draft's text. */
  placeholder?: boolean;
}

export interface DraftFlag {
  id: string;
  kind: FactKind;
  text: string;
  message: string;
  /** Whether the note has a near match to show. */
  near: boolean;
  checked: boolean;
}

export interface DraftView {
  title: string;
  noteName: string;
  audience: "patient" | "clinician";
  running: boolean;
  cancelled: boolean;
  stale: boolean;
  error?: string;
  /** The step the run is at ("Writing next steps"), while it runs. */
  step?: { message: string; step: number; steps: number };
  mode: "whole" | "keyFacts";
  runs: DraftRun[];
  flags: DraftFlag[];
  grade?: number;
  /** Fields that failed, with why. */
  failed: Array<{ field: string; error: string }>;
  /** The draft has text to insert. */
  hasText: boolean;
}

export type DraftHostMessage = { type: "view"; view: DraftView } | { type: "click"; id: string };

export type DraftPanelMessage =
  | { type: "ready" }
  | { type: "cancel" }
  | { type: "rerun" }
  | { type: "insert" }
  | { type: "save" }
  | { type: "showInNote"; index: number }
  | { type: "toggleChecked"; index: number }
  /** After each render: the draft's text as shown, the flags listed and the marked words (tests read it). */
  | { type: "rendered"; text: string; flags: Array<{ id: string; message: string }>; marked: string[]; running: boolean; grade?: string };

export const flagId = (index: number): string => `flag-${index}`;

/** The draft's text in runs: split wherever a field or a flag begins or ends. */
export function draftRuns(review: DraftReview, states: Readonly<Record<string, FieldState>>): DraftRun[] {
  const cuts = new Set<number>([0, review.text.length]);
  for (const f of review.fields) cuts.add(f.start).add(f.end);
  for (const f of review.flags) cuts.add(f.start).add(f.end);
  const points = [...cuts].sort((a, b) => a - b);
  const runs: DraftRun[] = [];
  const placeholderDone = new Set<number>();
  for (let i = 0; i < points.length; i++) {
    const at = points[i]!;
    // A field not written yet: its placeholder, where its text will go.
    review.fields.forEach((f, index) => {
      if (f.start !== at || f.end !== at || placeholderDone.has(index)) return;
      const state = states[f.name] ?? "pending";
      placeholderDone.add(index);
      const label = f.name.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
      // A field written empty (a list the model left without items) says so, so a heading with nothing
      // under it is not read as "none"; the words are the view's, never part of the draft's text.
      const text =
        state === "done"
          ? `(nothing written for ${label}: add it from the note or remove the heading)`
          : state === "writing"
            ? `Writing ${label}…`
            : state === "failed"
              ? `(${label}: not written)`
              : state === "cancelled"
                ? `(${label}: cancelled)`
                : `(${label})`;
      runs.push({ text, field: f.name, state, placeholder: true });
    });
    const next = points[i + 1];
    if (next === undefined || next === at) continue;
    const field = review.fields.find((f) => f.start <= at && next <= f.end && f.end > f.start);
    const flag = review.flags.findIndex((f) => f.start <= at && next <= f.end);
    const run: DraftRun = { text: review.text.slice(at, next) };
    if (field) {
      run.field = field.name;
      run.state = states[field.name] ?? "done";
    }
    if (flag >= 0) run.flag = flag;
    runs.push(run);
  }
  return runs;
}

export function draftFlags(flags: readonly NewFact[], checked: ReadonlySet<string>): DraftFlag[] {
  return flags.map((f, i) => ({ id: flagId(i), kind: f.kind, text: f.text, message: f.message, near: f.near !== undefined, checked: checked.has(flagKey(f)) }));
}

/** A flag's identity across re-checks of the same draft: what it says, and where. */
export function flagKey(f: Pick<NewFact, "kind" | "text" | "start">): string {
  return `${f.kind}:${f.start}:${f.text}`;
}
