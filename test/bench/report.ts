/** Benchmark output: a readable table, then one JSON line `{"suite", "metrics"}` last on stdout. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export type Metrics = Record<string, number | string | boolean>;

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function printTable(headers: string[], rows: (string | number)[][]): void {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === "number" ? formatNumber(c) : c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? "").length)));
  for (const [n, row] of cells.entries()) {
    console.log(row.map((c, i) => String(c).padStart(widths[i]!)).join("  "));
    if (n === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
  }
}

function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toFixed(3);
}

/** Prints the final JSON line and keeps a copy under bench-results/ (gitignored). */
export function reportMetrics(suite: string, metrics: Metrics, details: unknown = {}): void {
  const dir = resolve(__dirname, "..", "..", "bench-results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${suite}.json`), JSON.stringify({ suite, metrics, details, at: new Date().toISOString() }, null, 2));
  console.log(JSON.stringify({ suite, metrics }));
}
