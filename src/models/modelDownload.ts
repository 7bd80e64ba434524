/**
 * Downloads a model file so that a clinician on hospital Wi-Fi gets it in the end: resumes with HTTP
 * Range requests after a cancel, a dropped connection or a restart of VS Code (the partial file and what
 * the server said about it live next to the destination, nothing in memory); checks free disk space
 * first; reports speed and time left; verifies SHA-256 and the GGUF header, and deletes a file that fails.
 *
 * Node's http/https modules on purpose: inside VS Code the extension host routes them through the proxy
 * from VS Code's settings (http.proxy, http.proxySupport), and an explicit agent can be passed too.
 * node-llama-cpp's downloader (ipull) must stay in the worker (only the worker loads node-llama-cpp) and is
 * ESM-only. Pure Node: no vscode.
 */
import { createHash, type Hash } from "node:crypto";
import { promises as fs } from "node:fs";
import type * as http from "node:http";
import { dirname } from "node:path";
import { cancelled, DownloadError } from "./downloadErrors";
import { finishPartial, hashExisting, partPath, recordPartInfo, resumePoint, resumeState } from "./downloadResume";
import { catchEarlyErrors, delay, open, receiveBody, SpeedMeter, type Opened } from "./downloadTransfer";
import { verifyDownload } from "./downloadVerify";
import { formatBytes } from "./hardwareFit";

export { DownloadError, type DownloadErrorKind } from "./downloadErrors";
export { partialBytes, partPath } from "./downloadResume";

export interface DownloadProgress {
  receivedBytes: number;
  totalBytes: number;
  /** Bytes already on disk from an earlier attempt when this one started. */
  resumedFromBytes: number;
  bytesPerSecond: number;
  /** Undefined until the speed is known. */
  etaSeconds: number | undefined;
}

export interface DownloadOptions {
  url: string;
  dest: string;
  /** Lower-case hex; a file that does not match is deleted. null/undefined: computed and returned. */
  expectedSha256?: string | null;
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
  /** Automatic resumes after a dropped connection before giving up (the partial file is kept). */
  retries?: number;
  retryDelayMs?: number;
  /** For https URLs; absent: Node's global agent (which VS Code routes through its proxy settings). */
  agent?: http.Agent;
  headers?: Record<string, string>;
  /** Skip the GGUF header check (for non-model files). */
  skipGgufCheck?: boolean;
}

export interface DownloadResult {
  path: string;
  sha256: string;
  bytes: number;
  /** Requests made, including resumes. */
  attempts: number;
  /** Bytes taken from an earlier partial download. */
  resumedBytes: number;
}

export async function freeDiskBytes(dir: string): Promise<number> {
  const s = await fs.statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
}

/** What the attempts of one download share. */
interface DownloadRun {
  options: DownloadOptions;
  retries: number;
  attempts: number;
  /** Bytes on disk when the first attempt started (-1 until then). */
  resumedBytes: number;
  meter: SpeedMeter;
  lastReport: number;
}

/** An attempt's outcome: the whole file is in the partial file, or try again now ("again") or after a pause ("wait"). */
type AttemptOutcome = { total: number; hash: Hash } | "again" | "wait";

/**
 * Downloads `url` to `dest`, resuming any partial download left by an earlier call. Throws a
 * DownloadError whose message says what happened and what to do; a cancel or a network failure keeps
 * the partial file, a checksum or format failure deletes it.
 */
export async function downloadModelFile(options: DownloadOptions): Promise<DownloadResult> {
  const { dest } = options;
  await fs.mkdir(dirname(dest), { recursive: true });
  const run: DownloadRun = { options, retries: options.retries ?? 3, attempts: 0, resumedBytes: -1, meter: new SpeedMeter(), lastReport: 0 };
  for (;;) {
    if (options.signal?.aborted) throw cancelled();
    const outcome = await attempt(run);
    if (outcome === "again") continue;
    if (outcome === "wait") {
      await delay(options.retryDelayMs ?? 1000, options.signal);
      continue;
    }
    const { bytes, sha256 } = await verifyDownload(dest, outcome.total, outcome.hash.digest("hex"), options);
    await finishPartial(dest);
    return { path: dest, sha256, bytes, attempts: run.attempts, resumedBytes: Math.max(0, run.resumedBytes) };
  }
}

/** One request: continue the partial file where it stops (or start it), and receive the rest. */
async function attempt(run: DownloadRun): Promise<AttemptOutcome> {
  const { options } = run;
  const { url, dest } = options;
  const resume = await resumeState(dest, url, options.headers);
  if (run.resumedBytes < 0) run.resumedBytes = resume.have;
  run.attempts++;
  const mayRetry = (): boolean => run.attempts <= run.retries;
  let opened: Opened;
  try {
    opened = await open(url, resume.headers, options);
  } catch (error) {
    if (error instanceof DownloadError && error.kind === "network" && mayRetry()) return "wait";
    throw error;
  }
  const { response } = opened;
  // Listen at once: the connection can drop while the file is being prepared below.
  const earlyError = catchEarlyErrors(response);
  const point = await resumePoint(response, resume, dest, url, mayRetry());
  if (typeof point === "string") return point;
  const { start, total } = point;
  await ensureFreeSpace(opened, dest, total - start);
  await recordPartInfo(dest, url, total, response);

  const hash = createHash("sha256");
  if (start > 0) await hashExisting(partPath(dest), hash, start);
  else await fs.writeFile(partPath(dest), "");
  let received = start;
  const report = (force: boolean): void => {
    const now = Date.now();
    if (!force && now - run.lastReport < 100) return;
    run.lastReport = now;
    run.meter.add(received, now);
    const speed = run.meter.bytesPerSecond();
    options.onProgress?.({ receivedBytes: received, totalBytes: total, resumedFromBytes: run.resumedBytes, bytesPerSecond: speed, etaSeconds: speed > 0 ? (total - received) / speed : undefined });
  };
  report(true);

  const handle = await fs.open(partPath(dest), "r+");
  let failure: DownloadError | undefined;
  try {
    await receiveBody(response, {
      handle,
      hash,
      dest,
      start,
      total,
      signal: options.signal,
      onWritten: (bytes) => {
        received = bytes;
        report(false);
      },
      earlyError,
    });
  } catch (error) {
    failure = error instanceof DownloadError ? error : new DownloadError("network", String(error));
  } finally {
    await handle.close();
  }
  if (failure) {
    if (failure.kind === "network" && mayRetry() && !options.signal?.aborted) return "wait";
    throw failure;
  }
  report(true);
  return { total, hash };
}

/** Free space for what is still to come (the partial file already holds the rest). */
async function ensureFreeSpace(opened: Opened, dest: string, needed: number): Promise<void> {
  const free = await freeDiskBytes(dirname(dest));
  if (needed > free) {
    opened.response.resume();
    opened.request.destroy();
    throw new DownloadError("noSpace", `Not enough disk space in ${dirname(dest)}: the model needs ${formatBytes(needed)} more and ${formatBytes(free)} is free. Free some space or set "bedside.models.folder" to a folder on a larger disk.`);
  }
}
