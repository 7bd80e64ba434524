/**
 * Optional online PubMed search (NCBI E-utilities: esearch, then efetch), off by default. What leaves the
 * machine is built here and nowhere else: the question's keywords after the PHI detector has taken out
 * every identifier it finds (src/privacy/phiDetector.ts), with the words that label identifiers and long
 * numbers dropped as well. The user sees exactly that text and the host before anything is sent
 * (onlinePubMedCommand.ts). No vscode import: unit-tested as it is.
 *
 * The request uses the global fetch; inside VS Code's extension host that fetch follows `http.proxy`
 * (VS Code's `http.fetchAdditionalSupport`, on by default).
 */
import { countByCategory, detectPhi, PHI_LABELS, type PhiCategory, type PhiSpan } from "../../privacy/phiDetector";
import type { LiteratureRecord } from "../library";
import { parsePubmedXml } from "../import/pubmedXml";

export const DEFAULT_EUTILS_BASE = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/";

/** Where records found online say they came from (the Literature view groups and removes by it). */
export const ONLINE_ORIGIN = "PubMed online search";

/** Most keywords sent; a question is short, and PubMed ANDs every word. */
const MAX_WORDS = 16;

/**
 * Words that carry no search meaning (English stop words, question words) or that label an identifier
 * ("MRN", "phone", "Mrs"): dropped so that neither the label nor PubMed's AND of it narrows the search.
 */
const DROPPED_WORDS = new Set(
  (
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these they this to was will with " +
    "what which who whom whose when where why how does do did can could should would may might must shall has have had been being am " +
    "i me my we our you your he she his her him them its any some about than vs versus there's what's is it's " +
    "mr mrs ms mx miss dr prof patient patients pt pts name named mrn dob ssn acct account record number no phone tel telephone fax cell mobile " +
    "call called email e-mail address street seen admitted today yesterday tomorrow"
  ).split(/\s+/),
);

/** A capitalised word shaped like a name part: Jane, Doe, O'Neil, Smith-Jones, McDonald. */
const NAME_PART = /^(?:\p{Lu}['’])?(?:\p{Lu}\p{Ll}+)+(?:-(?:\p{Lu}\p{Ll}+)+)?$/u;

/** Nouns after which capitalised words are an eponym, not a person ("Guillain Barre syndrome"). */
const EPONYM_NOUNS = new Set(
  (
    "disease diseases syndrome syndromes disorder lymphoma sarcoma tumor tumour palsy sign signs test tests criteria score scale " +
    "classification phenomenon ulcer fracture reaction procedure operation maneuver manoeuvre law rule rules index equation formula " +
    "virus catheter block node nodes cell cells type grade stage method approach technique protocol trial study"
  ).split(/\s+/),
);

/**
 * Indexes of the words in runs of two or three capitalised name-shaped words ("for Jane Doe"): a person the
 * identifier detector had no title or label to recognise. Dropped for online search only (a literature
 * question rarely needs them; an eponym has "disease", "syndrome", ... after or in it and is kept).
 */
function nameLikeRuns(words: readonly RegExpMatchArray[], text: string): Set<number> {
  const dropped = new Set<number>();
  // Only spaces between two words (no punctuation, no line break).
  const adjacent = (a: RegExpMatchArray, b: RegExpMatchArray | undefined): boolean => b !== undefined && /^[ \t]+$/.test(text.slice(a.index! + a[0].length, b.index));
  let i = 0;
  while (i < words.length) {
    // A question word or a title starting the run is not part of the name ("Is Jane Doe ...").
    if (!NAME_PART.test(words[i]![0]) || DROPPED_WORDS.has(words[i]![0].toLowerCase())) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < words.length && j - i < 3 && NAME_PART.test(words[j]![0]) && adjacent(words[j - 1]!, words[j])) j++;
    const next = words[j];
    const eponym = (adjacent(words[j - 1]!, next) && EPONYM_NOUNS.has(next![0].toLowerCase())) || words.slice(i, j).some((w) => EPONYM_NOUNS.has(w[0].toLowerCase()));
    if (j - i >= 2 && !eponym) for (let k = i; k < j; k++) dropped.add(k);
    i = j;
  }
  return dropped;
}

export interface OnlineQueryPreview {
  /** The question as the user asked it (never sent). */
  question: string;
  /** Exactly the text that would be sent as the PubMed search term; empty when nothing is left to send. */
  sent: string;
  /** Identifiers the detector found and removed. */
  removed: PhiSpan[];
  /** Numbers of five digits or more dropped as possible identifiers the detector did not recognise. */
  droppedNumbers: number;
  /** Capitalised words dropped as a possible name the detector did not recognise ("Jane Doe"). */
  droppedNameWords: number;
}

/** The search term for a question: identifiers removed, then its meaningful words (lower case, at most 16). */
export function prepareOnlineQuery(question: string): OnlineQueryPreview {
  const removed = detectPhi(question);
  let text = "";
  let at = 0;
  for (const span of removed) {
    text += `${question.slice(at, span.start)} `;
    at = Math.max(at, span.end);
  }
  text = (text + question.slice(at)).normalize("NFKC");
  const words = [...text.matchAll(/[\p{L}\p{N}]+(?:[-'’][\p{L}\p{N}]+)*/gu)];
  const nameLike = nameLikeRuns(words, text);
  const kept: string[] = [];
  let droppedNumbers = 0;
  for (const [index, [raw]] of words.entries()) {
    if (nameLike.has(index)) continue;
    const word = raw.toLowerCase();
    if (/^\d{5,}$/.test(word.replace(/[-']/g, "")) || /\d{5,}/.test(word)) {
      droppedNumbers++;
      continue;
    }
    if (DROPPED_WORDS.has(word) || kept.includes(word)) continue;
    kept.push(word);
    if (kept.length >= MAX_WORDS) break;
  }
  return { question, sent: kept.join(" "), removed, droppedNumbers, droppedNameWords: nameLike.size };
}

/** "1 name, 1 record or account number, 1 phone or fax number", for the confirmation. */
export function describeRemoved(preview: OnlineQueryPreview): string {
  const counts = countByCategory(preview.removed);
  const parts = (Object.keys(counts) as PhiCategory[]).map((c) => `${counts[c]} ${PHI_LABELS[c]}${counts[c] === 1 ? "" : "s"}`);
  if (preview.droppedNumbers) parts.push(`${preview.droppedNumbers} long number${preview.droppedNumbers === 1 ? "" : "s"}`);
  if (preview.droppedNameWords) parts.push(`${preview.droppedNameWords} capitalised word${preview.droppedNameWords === 1 ? "" : "s"} that may be a name`);
  return parts.join(", ");
}

/** The E-utilities base URL from the setting: http(s) only, ending in a slash. Throws on anything else. */
export function eutilsBase(setting: string | undefined): URL {
  const value = setting?.trim() || DEFAULT_EUTILS_BASE;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`bedside.literature.onlinePubMed.baseUrl is not a URL: ${value}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error(`bedside.literature.onlinePubMed.baseUrl must be an http(s) URL, not ${url.protocol}`);
  if (url.username || url.password) throw new Error("bedside.literature.onlinePubMed.baseUrl must not carry a user name or password");
  url.search = "";
  url.hash = "";
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  return url;
}

/** esearch: PMIDs for a term, most relevant first, as JSON. */
export function esearchUrl(base: URL, term: string, maxResults: number): URL {
  const url = new URL("esearch.fcgi", base);
  url.search = new URLSearchParams({
    db: "pubmed",
    term,
    retmode: "json",
    retmax: String(Math.max(1, Math.min(200, Math.floor(maxResults)))),
    sort: "relevance",
    tool: "bedside",
  }).toString();
  return url;
}

/** efetch: the PubMed XML (PubmedArticleSet) of these PMIDs. */
export function efetchUrl(base: URL, pmids: readonly string[]): URL {
  const url = new URL("efetch.fcgi", base);
  url.search = new URLSearchParams({ db: "pubmed", id: pmids.join(","), retmode: "xml", tool: "bedside" }).toString();
  return url;
}

/** The PMIDs of an esearch JSON answer. Throws with NCBI's own message when it reports an error. */
export function parseEsearch(body: unknown): { count: number; pmids: string[] } {
  const result = (body as { esearchresult?: { count?: unknown; idlist?: unknown; ERROR?: unknown; errorlist?: unknown } } | null)?.esearchresult;
  if (!result || typeof result !== "object") {
    const error = (body as { error?: unknown } | null)?.error;
    throw new Error(`PubMed's search answered without results${typeof error === "string" ? `: ${error}` : ""}.`);
  }
  if (typeof result.ERROR === "string") throw new Error(`PubMed's search failed: ${result.ERROR}`);
  const pmids = Array.isArray(result.idlist) ? result.idlist.filter((id): id is string => typeof id === "string" && /^\d{1,9}$/.test(id)) : [];
  const count = Number(result.count);
  return { count: Number.isFinite(count) ? count : pmids.length, pmids };
}

export interface OnlineSearchOptions {
  base: URL;
  maxResults: number;
  signal?: AbortSignal;
  /** For tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

export interface OnlineSearchResult {
  /** Hits PubMed reports for the term (more than it returned). */
  count: number;
  pmids: string[];
  records: LiteratureRecord[];
}

async function get(url: URL, options: OnlineSearchOptions, accept: string): Promise<string> {
  const doFetch = options.fetch ?? fetch;
  const response = await doFetch(url, { headers: { accept }, signal: options.signal ?? null, redirect: "error" });
  if (!response.ok) throw new Error(`PubMed (${url.host}) answered ${response.status} ${response.statusText}`.trim() + ".");
  return response.text();
}

/**
 * Searches PubMed for `term` (a preview's `sent`, nothing else) and fetches the records found, parsed by
 * the PubMed XML importer. Two requests: esearch, then efetch when anything was found.
 */
export async function searchPubMed(term: string, options: OnlineSearchOptions): Promise<OnlineSearchResult> {
  if (!term.trim()) throw new Error("Nothing to search for.");
  const found = parseEsearch(JSON.parse(await get(esearchUrl(options.base, term, options.maxResults), options, "application/json")) as unknown);
  if (found.pmids.length === 0) return { count: found.count, pmids: [], records: [] };
  const xml = await get(efetchUrl(options.base, found.pmids), options, "application/xml");
  const records: LiteratureRecord[] = [];
  async function* once(): AsyncGenerator<string> {
    yield xml;
  }
  for await (const record of parsePubmedXml(once(), ONLINE_ORIGIN)) records.push({ ...record, origin: ONLINE_ORIGIN });
  return { count: found.count, pmids: found.pmids, records };
}
