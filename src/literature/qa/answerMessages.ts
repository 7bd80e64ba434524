/** Messages between the answer panel's host side and its webview. Pure types. */
import type { CheckedAnswer } from "./citationCheck";
import type { SupportedSentence } from "./citationSupport";

export interface SourceCard {
  number: number;
  title: string;
  journal?: string;
  year?: number;
  pmid?: string;
  doi?: string;
  /** https link: PubMed for a PMID, else doi.org. */
  url?: string;
  authors: string;
  passage: string;
}

export interface AnswerView {
  question: string;
  status: "retrieving" | "writing" | "done" | "noSource" | "error" | "cancelled";
  sources: SourceCard[];
  /** Sentences so far while writing; the checked answer when done (with the support check of each cited sentence). */
  answer?: Omit<CheckedAnswer, "sentences"> & { sentences: SupportedSentence[] };
  message?: string;
}

export type HostMessage = { type: "view"; view: AnswerView } | { type: "click"; selector: string };

export interface RenderedReport {
  status: AnswerView["status"];
  /** Source numbers the rendered answer links to. */
  citedNumbers: number[];
  /** PMIDs of the source cards, in order. */
  cardPmids: string[];
  uncitedSentences: number;
  /** Cited sentences marked "source may not support this". */
  unsupportedSentences: number;
  sentences: number;
}

export type PanelMessage =
  { type: "ready" } | { type: "openUrl"; url: string } | { type: "copyCitation"; number: number } | { type: "cancel" } | ({ type: "rendered" } & RenderedReport);
