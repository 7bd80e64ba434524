/**
 * How long to wait after a keystroke before asking the model. A fast model (a GPU, a tiny model) answers
 * quickly, so waiting little makes suggestions feel instant; a slow one (a 7B on a laptop CPU) pays for every
 * started request, so waiting a little longer saves requests that the next keystroke would abort anyway.
 * The delay follows a moving average of measured suggestion latency. Pure.
 */
export interface DebounceOptions {
  minMs: number;
  maxMs: number;
  /** Delay as a fraction of the average latency. */
  factor: number;
}

export class AdaptiveDebounce {
  private averageMs: number | undefined;

  constructor(private readonly options: DebounceOptions = { minMs: 25, maxMs: 350, factor: 0.25 }) {}

  get delayMs(): number {
    if (this.averageMs === undefined) return this.options.minMs;
    return Math.round(Math.min(this.options.maxMs, Math.max(this.options.minMs, this.averageMs * this.options.factor)));
  }

  /** A suggestion took this long from request to text. */
  record(latencyMs: number): void {
    if (!Number.isFinite(latencyMs) || latencyMs < 0) return;
    this.averageMs = this.averageMs === undefined ? latencyMs : this.averageMs * 0.7 + latencyMs * 0.3;
  }
}
