/**
 * The figures `npm run test:resilience` prints: what was tried and what went wrong. Tests add to one
 * tally per process; the VS Code side writes its tally to BEDSIDE_RESILIENCE_TALLY for the runner to add.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";

export interface ResilienceTally {
  /** Malformed or hostile inputs fed to Bedside (protocol messages, files, notes). */
  badInputs: number;
  /** Faults injected (worker SIGKILLs, model files deleted or replaced). */
  faults: number;
  /** Operations that neither finished nor failed within their deadline. */
  hangs: number;
  /** Extension host crashes (VS Code side). */
  extensionHostCrashes: number;
  /** A note's text changed without an accepted edit, or an accepted edit was lost. */
  lostEdits: number;
  unexpectedEdits: number;
  /** Failures without a clear message for the clinician (a stack trace, an empty or internal error). */
  unclearMessages: number;
  /** Faults after which the next request did not work again. */
  notRecovered: number;
}

export const tally: ResilienceTally = {
  badInputs: 0,
  faults: 0,
  hangs: 0,
  extensionHostCrashes: 0,
  lostEdits: 0,
  unexpectedEdits: 0,
  unclearMessages: 0,
  notRecovered: 0,
};

/** Rows of the table, by area: what each test file tried. */
export const rows: { area: string; tried: string; count: number }[] = [];

export function record(area: string, tried: string, count: number): void {
  rows.push({ area, tried, count });
}

export function addTally(into: ResilienceTally, from: Partial<ResilienceTally>): void {
  for (const key of Object.keys(into) as (keyof ResilienceTally)[]) into[key] += from[key] ?? 0;
}

/** Extension host side: adds this run's tally and rows to the shared file. */
export function saveTallyTo(file: string | undefined): void {
  if (!file) return;
  const previous = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as { tally: ResilienceTally; rows: typeof rows }) : { tally: { ...tally, ...zero() }, rows: [] };
  addTally(previous.tally, tally);
  writeFileSync(file, JSON.stringify({ tally: previous.tally, rows: [...previous.rows, ...rows] }));
}

export function zero(): ResilienceTally {
  return { badInputs: 0, faults: 0, hangs: 0, extensionHostCrashes: 0, lostEdits: 0, unexpectedEdits: 0, unclearMessages: 0, notRecovered: 0 };
}

/** A clinician-facing message: says something, names no stack frame or internal error class. */
export function isClearMessage(message: string): boolean {
  return message.trim().length >= 20 && !/\n\s+at |TypeError|ReferenceError|undefined is not|Cannot read propert/.test(message);
}

/** Resolves with the promise's outcome, or "hang" after the deadline. */
export async function settle<T>(promise: Promise<T>, deadlineMs: number): Promise<{ kind: "ok"; value: T } | { kind: "error"; error: unknown } | { kind: "hang" }> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<{ kind: "hang" }>((r) => {
    timer = setTimeout(() => r({ kind: "hang" }), deadlineMs);
  });
  try {
    return await Promise.race([
      promise.then(
        (value) => ({ kind: "ok" as const, value }),
        (error: unknown) => ({ kind: "error" as const, error }),
      ),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits `delayMs`, then SIGKILLs the engine's worker if one runs (gone already still counts as a kill).
 * Returns the pid it killed, so the caller can wait for the client to see that worker go.
 */
export async function killWorkerAfter(engine: { readonly workerPid: number | undefined }, delayMs: number): Promise<number | undefined> {
  await new Promise((r) => setTimeout(r, delayMs));
  const pid = engine.workerPid;
  if (!pid) return undefined;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
  return pid;
}
