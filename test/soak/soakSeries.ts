/**
 * The figures of a soak run, from its time series: how much the extension host's and the engine worker's
 * resident memory (and open descriptors) grew from the first quarter of the measured day to the last.
 * Pure: no vscode, no /proc; test/soak/run.ts reads the series the suite wrote and calls this.
 *
 * growth = median of the samples in the last quarter of the measured window / median of those in the first
 * quarter. The measured window starts after the warm-up (model load, library import, first notes: memory
 * that is allocated once). Worker samples taken from a kill until `settleMs` after the new worker answered
 * are left out: a fresh worker is still loading its model and filling its caches there. The worker's growth
 * is taken per life (normalised per worker lifetime); see docs/soak.md for why.
 */

export interface ProcessReading {
  pid: number;
  /** VmRSS in bytes. */
  rss: number;
  /** Entries of /proc/PID/fd. */
  fds: number;
}

export interface HostReading extends ProcessReading {
  /** process.getActiveResourcesInfo().length: timers, sockets, pipes, child processes Node holds open. */
  handles: number;
  /** V8 heap in use after the sample's garbage collection, bytes. */
  heapUsed: number;
}

export interface SoakSample {
  /** Milliseconds since the day started. */
  t: number;
  host: HostReading;
  /** Undefined while no worker runs (between a kill and the restart). */
  worker?: ProcessReading;
}

export interface SoakKill {
  /** When the worker was killed (ms since start). */
  t: number;
  pid: number;
  /** When the new worker answered a completion, or undefined when it never did. */
  recoveredAt?: number;
  newPid?: number;
}

export interface SoakError {
  t: number;
  step: string;
  message: string;
}

export interface SoakSeries {
  settings: Record<string, string | number | boolean>;
  warmUpMs: number;
  /** Worker samples this long after a recovery are still left out. */
  settleMs: number;
  durationMs: number;
  samples: SoakSample[];
  kills: SoakKill[];
  errors: SoakError[];
  counts: Record<string, number>;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface Growth {
  /** Median of the first quarter's values. */
  first: number;
  /** Median of the last quarter's values. */
  last: number;
  /** last / first; NaN when a quarter has no sample. */
  growth: number;
  firstSamples: number;
  lastSamples: number;
}

/** Last quarter's median over the first quarter's, of the points in [from, to]. */
export function quarterGrowth(points: ReadonlyArray<{ t: number; value: number }>, from: number, to: number): Growth {
  const quarter = (to - from) / 4;
  const first = points.filter((p) => p.t >= from && p.t < from + quarter).map((p) => p.value);
  const last = points.filter((p) => p.t >= to - quarter && p.t <= to).map((p) => p.value);
  const a = median(first);
  const b = median(last);
  return { first: a, last: b, growth: first.length > 0 && last.length > 0 ? b / a : Number.NaN, firstSamples: first.length, lastSamples: last.length };
}

/** Whether a worker sample at `t` falls in a kill's recovery (from the kill to `settleMs` after the recovery). */
export function inRecovery(t: number, kills: readonly SoakKill[], settleMs: number): boolean {
  return kills.some((k) => t >= k.t && (k.recoveredAt === undefined || t < k.recoveredAt + settleMs));
}

export interface SoakFigures {
  host_rss_growth: number;
  /**
   * The largest growth of one worker over its own life (that life's first and last quarters, recovery left
   * out), from lives with at least 8 samples: a leak accumulates within a life, and a restart hides it.
   */
  worker_rss_growth: number;
  /**
   * The day's last quarter (the last worker) over its first (the first worker). Reported, not judged: a
   * worker's RSS rises and falls with what it did last (a differential gives back ~15 MB that completions
   * and chat take again), so two lives compared at different moments differ by that much without a leak.
   */
  worker_rss_growth_across_lives: number;
  host_fds_growth: number;
  worker_fds_growth: number;
  host_handles_growth: number;
  host_heap_growth: number;
  host_rss_mb: { first: number; last: number };
  worker_rss_mb: { first: number; last: number };
  host_fds: { first: number; last: number };
  worker_fds: { first: number; last: number };
  host_handles: { first: number; last: number };
  samples: number;
  worker_samples_used: number;
  kills: number;
  recovered: number;
  errors: number;
}

const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export function soakFigures(series: SoakSeries): SoakFigures {
  const from = series.warmUpMs;
  const to = series.durationMs;
  const hostPoints = (pick: (h: HostReading) => number) => series.samples.map((s) => ({ t: s.t, value: pick(s.host) }));
  const workerSamples = series.samples.filter(
    (s): s is SoakSample & { worker: ProcessReading } => s.worker !== undefined && s.t >= from && !inRecovery(s.t, series.kills, series.settleMs),
  );
  const workerPoints = (pick: (w: ProcessReading) => number) => workerSamples.map((s) => ({ t: s.t, value: pick(s.worker) }));

  const hostRss = quarterGrowth(
    hostPoints((h) => h.rss),
    from,
    to,
  );
  const hostFds = quarterGrowth(
    hostPoints((h) => h.fds),
    from,
    to,
  );
  const hostHandles = quarterGrowth(
    hostPoints((h) => h.handles),
    from,
    to,
  );
  const hostHeap = quarterGrowth(
    hostPoints((h) => h.heapUsed),
    from,
    to,
  );
  const workerRss = quarterGrowth(
    workerPoints((w) => w.rss),
    from,
    to,
  );
  const workerFds = quarterGrowth(
    workerPoints((w) => w.fds),
    from,
    to,
  );

  // Each worker's own life, from its first kept sample to its last; lives shorter than 8 samples say nothing.
  let perLife = Number.NaN;
  for (const pid of new Set(workerSamples.map((s) => s.worker.pid))) {
    const life = workerSamples.filter((s) => s.worker.pid === pid);
    if (life.length < 8) continue;
    const g = quarterGrowth(
      life.map((s) => ({ t: s.t, value: s.worker.rss })),
      life[0]!.t,
      life[life.length - 1]!.t,
    ).growth;
    if (Number.isNaN(perLife) || g > perLife) perLife = g;
  }

  return {
    host_rss_growth: round3(hostRss.growth),
    worker_rss_growth: round3(perLife),
    worker_rss_growth_across_lives: round3(workerRss.growth),
    host_fds_growth: round3(hostFds.growth),
    worker_fds_growth: round3(workerFds.growth),
    host_handles_growth: round3(hostHandles.growth),
    host_heap_growth: round3(hostHeap.growth),
    host_rss_mb: { first: mb(hostRss.first), last: mb(hostRss.last) },
    worker_rss_mb: { first: mb(workerRss.first), last: mb(workerRss.last) },
    host_fds: { first: hostFds.first, last: hostFds.last },
    worker_fds: { first: workerFds.first, last: workerFds.last },
    host_handles: { first: hostHandles.first, last: hostHandles.last },
    samples: series.samples.length,
    worker_samples_used: workerSamples.length,
    kills: series.kills.length,
    recovered: series.kills.filter((k) => k.recoveredAt !== undefined).length,
    errors: series.errors.length,
  };
}

/** The run fails on any error, and on any growth at or above `limit` (NaN, a quarter with no sample, fails too). */
export function soakVerdict(figures: SoakFigures, limit = 1.05): string[] {
  const problems: string[] = [];
  if (figures.errors > 0) problems.push(`${figures.errors} step(s) failed`);
  for (const key of ["host_rss_growth", "worker_rss_growth", "host_fds_growth", "worker_fds_growth"] as const) {
    const value = figures[key];
    if (!(value < limit)) problems.push(`${key} ${value} is not below ${limit}`);
  }
  if (figures.recovered < figures.kills) problems.push(`${figures.kills - figures.recovered} engine kill(s) without recovery`);
  return problems;
}
