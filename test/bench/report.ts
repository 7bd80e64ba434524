/**
 * Benchmark output: a readable table, then one JSON line `{"suite", "settings", "metrics"}` last on stdout.
 * `settings` says what was measured under (model, threads, flash attention, batch sizes, context, sizes,
 * repetitions, ...), so a figure can be reproduced and two figures compared only when their settings match.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";

export type Metrics = Record<string, number | string | boolean>;
/** What a benchmark ran with; the machine's logical CPU count and load average are added by reportMetrics. */
export type Settings = Record<string, number | string | boolean>;

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

/** Prints the final JSON line (suite, settings, metrics) and keeps a copy under bench-results/ (gitignored). */
export function reportMetrics(suite: string, settings: Settings, metrics: Metrics, details: unknown = {}): void {
  const dir = resolve(__dirname, "..", "..", "bench-results");
  mkdirSync(dir, { recursive: true });
  const all: Settings = { ...settings, machine_logical_cpus: cpus().length, machine_load_avg_1m: Number(loadavg()[0]!.toFixed(2)) };
  writeFileSync(join(dir, `${suite}.json`), JSON.stringify({ suite, settings: all, metrics, details, at: new Date().toISOString() }, null, 2));
  console.log(JSON.stringify({ suite, settings: all, metrics }));
}
