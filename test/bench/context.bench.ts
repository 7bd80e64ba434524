/**
 * `npm run bench -- context`: what preparing one inline-completion request costs on the extension host's
 * thread for a long note, reading the whole text before the cursor (as Bedside did) versus only the window
 * around it (prefixReadStart + findHeaderAbove, as the editor adapter does now). Both build the same context
 * (a unit property test checks that). Metric: whole_over_window_ms, measured in one run, interleaved.
 */
import { buildContext, findHeaderAbove, prefixReadStart } from "../../src/completion/contextWindow";
import { TypedAheadCache } from "../../src/completion/typedAheadCache";
import { median, printTable, reportMetrics } from "./report";

function note(lines: number): string[] {
  return Array.from({ length: lines }, (_, i) => (i % 50 === 0 ? `PROGRESS NOTE DAY ${i / 50}:` : `Vitals stable, afebrile. Continue current plan ${i % 7}.`));
}

export async function run(quick: boolean): Promise<void> {
  const budgetTokens = 384;
  const rows: (string | number)[][] = [];
  const metrics: Record<string, number> = {};
  for (const size of quick ? [20_000] : [2_000, 20_000, 200_000]) {
    const lines = [...note(size), "ASSESSMENT:", "The patient "];
    const text = lines.join("\n");
    const cursor = text.length;
    const lineStarts: number[] = [];
    for (let i = 0, offset = 0; i < lines.length; offset += lines[i]!.length + 1, i++) lineStarts.push(offset);
    const lineOf = (offset: number): number => {
      let lo = 0;
      let hi = lineStarts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (lineStarts[mid]! <= offset) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    };
    const wholeCache = new TypedAheadCache();
    const windowCache = new TypedAheadCache();
    wholeCache.remember("n", text.slice(0, cursor - 4), "patient is stable");
    const whole: number[] = [];
    const window: number[] = [];
    for (let round = 0; round < (quick ? 5 : 15); round++) {
      let t = performance.now();
      // Before: the whole text before the cursor, into the cache lookup and the context.
      const prefix = text.slice(0, cursor);
      wholeCache.lookup("n", prefix);
      buildContext({ prefix, suffix: "", budgetTokens, infillSupported: true });
      whole.push(performance.now() - t);

      t = performance.now();
      const startLine = lineOf(prefixReadStart(cursor, budgetTokens));
      const start = lineStarts[startLine]!;
      const found = startLine > 0 ? findHeaderAbove((n) => lines[n]!, startLine - 1) : undefined;
      const windowPrefix = text.slice(start, cursor);
      windowCache.lookup("n", windowPrefix, start);
      buildContext({
        prefix: windowPrefix,
        prefixStart: start,
        ...(found ? { header: { text: found.text, offset: lineStarts[found.line]! } } : {}),
        suffix: "",
        budgetTokens,
        infillSupported: true,
      });
      window.push(performance.now() - t);
    }
    const ratio = median(whole) / median(window);
    rows.push([size.toLocaleString("en"), (text.length / 1e6).toFixed(1), median(whole), median(window), ratio]);
    metrics[`whole_over_window_ms_${size}`] = Number(ratio.toFixed(1));
    metrics[`window_ms_${size}`] = Number(median(window).toFixed(3));
  }
  printTable(["note lines", "MB", "whole text ms (median)", "window ms (median)", "whole / window"], rows);
  reportMetrics("context", { budget_tokens: budgetTokens, note_lines: (quick ? [20_000] : [2_000, 20_000, 200_000]).join(","), quick }, metrics);
}
