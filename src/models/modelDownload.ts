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
import { createReadStream, promises as fs } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { dirname } from "node:path";
import { GgufFormatError, readGgufHeader } from "../engine/ggufHeader";
import { formatBytes } from "./hardwareFit";

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

export type DownloadErrorKind = "cancelled" | "network" | "http" | "noSpace" | "checksum" | "invalidFile";

export class DownloadError extends Error {
  constructor(
    readonly kind: DownloadErrorKind,
    message: string,
  ) {
    super(message);
    this.name = "DownloadError";
  }
}

interface PartInfo {
  url: string;
  totalBytes: number;
  etag?: string;
  lastModified?: string;
}

export const partPath = (dest: string): string => `${dest}.part`;
const partInfoPath = (dest: string): string => `${dest}.part.json`;

/** Bytes of a partial download of `dest` already on disk (0 when none). */
export async function partialBytes(dest: string): Promise<number> {
  try {
    return (await fs.stat(partPath(dest))).size;
  } catch {
    return 0;
  }
}

export async function freeDiskBytes(dir: string): Promise<number> {
  const s = await fs.statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
}

async function readPartInfo(dest: string): Promise<PartInfo | undefined> {
  try {
    const info = JSON.parse(await fs.readFile(partInfoPath(dest), "utf8")) as PartInfo;
    return typeof info.url === "string" && Number.isSafeInteger(info.totalBytes) ? info : undefined;
  } catch {
    return undefined;
  }
}

async function discardPartial(dest: string): Promise<void> {
  await fs.rm(partPath(dest), { force: true });
  await fs.rm(partInfoPath(dest), { force: true });
}

async function hashExisting(path: string, hash: Hash, bytes: number): Promise<void> {
  if (bytes === 0) return;
  await new Promise<void>((resolve, reject) => {
    createReadStream(path, { start: 0, end: bytes - 1 })
      .on("data", (chunk) => hash.update(chunk))
      .on("end", resolve)
      .on("error", reject);
  });
}

function cancelled(): DownloadError {
  return new DownloadError("cancelled", "Download cancelled. What was downloaded is kept; run Download Model again to continue where it stopped.");
}

interface Opened {
  response: http.IncomingMessage;
  request: http.ClientRequest;
  url: string;
}

/** GET with redirects (Hugging Face sends model files from a CDN), honouring the abort signal. */
function open(url: string, headers: Record<string, string>, options: DownloadOptions, redirects = 0): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const client = target.protocol === "http:" ? http : https;
    const request = client.get(target, { headers, ...(options.agent && target.protocol === "https:" ? { agent: options.agent } : {}) }, (response) => {
      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400 && response.headers.location) {
        response.resume();
        if (redirects >= 8) return reject(new DownloadError("http", `Too many redirects downloading ${url}.`));
        const next = new URL(response.headers.location, target).toString();
        const nextHeaders = { ...headers };
        if (new URL(next).host !== target.host) delete nextHeaders.authorization;
        open(next, nextHeaders, options, redirects + 1).then(resolve, reject);
        return;
      }
      resolve({ response, request, url });
    });
    request.setTimeout(30_000, () => request.destroy(new Error("no data for 30 seconds")));
    request.on("error", (error) => reject(options.signal?.aborted ? cancelled() : new DownloadError("network", `Network error downloading ${target.host}: ${error.message}`)));
    options.signal?.addEventListener("abort", () => request.destroy(), { once: true });
  });
}

class SpeedMeter {
  private samples: { at: number; bytes: number }[] = [];
  add(bytes: number, at = Date.now()): void {
    this.samples.push({ at, bytes });
    while (this.samples.length > 2 && at - this.samples[0]!.at > 5000) this.samples.shift();
  }
  bytesPerSecond(): number {
    if (this.samples.length < 2) return 0;
    const first = this.samples[0]!;
    const last = this.samples[this.samples.length - 1]!;
    const seconds = (last.at - first.at) / 1000;
    return seconds > 0 ? (last.bytes - first.bytes) / seconds : 0;
  }
}

/**
 * Downloads `url` to `dest`, resuming any partial download left by an earlier call. Throws a
 * DownloadError whose message says what happened and what to do; a cancel or a network failure keeps
 * the partial file, a checksum or format failure deletes it.
 */
export async function downloadModelFile(options: DownloadOptions): Promise<DownloadResult> {
  const { url, dest } = options;
  const retries = options.retries ?? 3;
  await fs.mkdir(dirname(dest), { recursive: true });
  let attempts = 0;
  let resumedBytes = -1;
  const meter = new SpeedMeter();
  let lastReport = 0;

  for (;;) {
    if (options.signal?.aborted) throw cancelled();
    let info = await readPartInfo(dest);
    let have = await partialBytes(dest);
    if (!info || info.url !== url) {
      await discardPartial(dest);
      info = undefined;
      have = 0;
    }
    if (resumedBytes < 0) resumedBytes = have;
    const headers: Record<string, string> = { "user-agent": "Bedside (VS Code extension)", ...options.headers };
    if (info && have > 0) {
      headers.range = `bytes=${have}-`;
      const validator = info.etag ?? info.lastModified;
      if (validator) headers["if-range"] = validator;
    }
    attempts++;
    let opened: Opened;
    try {
      opened = await open(url, headers, options);
    } catch (error) {
      if (error instanceof DownloadError && error.kind === "network" && attempts <= retries) {
        await delay(options.retryDelayMs ?? 1000, options.signal);
        continue;
      }
      throw error;
    }
    const { response } = opened;
    // Listen at once: the connection can drop while the file is being prepared below.
    let droppedEarly: Error | undefined;
    const onEarlyError = (error: Error): void => void (droppedEarly = error);
    response.on("error", onEarlyError);
    const status = response.statusCode ?? 0;
    let total: number;
    let start: number;
    if (status === 206 && info) {
      const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(response.headers["content-range"] ?? "");
      if (!range || Number(range[1]) !== have) {
        response.resume();
        await discardPartial(dest);
        continue; // The server answered a different range: start again from zero.
      }
      total = Number(range[3]);
      start = have;
    } else if (status === 416 && info && have === info.totalBytes) {
      response.resume();
      total = have;
      start = have;
    } else if (status === 200) {
      total = Number(response.headers["content-length"] ?? NaN);
      start = 0;
    } else {
      response.resume();
      if (status === 401 || status === 403) {
        throw new DownloadError("http", `The server refused the download (HTTP ${status}). This model's publisher may ask you to accept its licence on its website and sign in first.`);
      }
      if (status >= 500 && attempts <= retries) {
        await delay(options.retryDelayMs ?? 1000, options.signal);
        continue;
      }
      throw new DownloadError("http", `The server answered HTTP ${status} for ${new URL(url).host}${new URL(url).pathname}.`);
    }
    if (!Number.isSafeInteger(total) || total <= 0) {
      response.resume();
      throw new DownloadError("http", "The server did not say how big the file is, so the download cannot be checked or resumed.");
    }

    // Free space for what is still to come (the partial file already holds `start` bytes).
    const needed = total - start;
    const free = await freeDiskBytes(dirname(dest));
    if (needed > free) {
      response.resume();
      opened.request.destroy();
      throw new DownloadError("noSpace", `Not enough disk space in ${dirname(dest)}: the model needs ${formatBytes(needed)} more and ${formatBytes(free)} is free. Free some space or set "bedside.models.folder" to a folder on a larger disk.`);
    }

    const etag = response.headers.etag;
    const lastModified = response.headers["last-modified"];
    const newInfo: PartInfo = { url, totalBytes: total, ...(etag && !etag.startsWith("W/") ? { etag } : {}), ...(lastModified ? { lastModified } : {}) };
    await fs.writeFile(partInfoPath(dest), JSON.stringify(newInfo));

    const hash = createHash("sha256");
    if (start > 0) await hashExisting(partPath(dest), hash, start);
    else await fs.writeFile(partPath(dest), "");
    let received = start;
    const report = (force: boolean): void => {
      const now = Date.now();
      if (!force && now - lastReport < 100) return;
      lastReport = now;
      meter.add(received, now);
      const speed = meter.bytesPerSecond();
      options.onProgress?.({ receivedBytes: received, totalBytes: total, resumedFromBytes: resumedBytes, bytesPerSecond: speed, etaSeconds: speed > 0 ? (total - received) / speed : undefined });
    };
    report(true);

    const handle = await fs.open(partPath(dest), "r+");
    let failure: DownloadError | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        let writing = Promise.resolve();
        let ended = false;
        const onAbort = (): void => reject(cancelled());
        options.signal?.addEventListener("abort", onAbort, { once: true });
        response.on("data", (chunk: Buffer) => {
          response.pause();
          const at = received;
          received += chunk.length;
          hash.update(chunk);
          writing = writing
            .then(() => writeFully(handle, chunk, at))
            .then(() => {
              report(false);
              if (!ended) response.resume();
            })
            .catch((error: NodeJS.ErrnoException) => {
              // Reject before destroying: destroy() emits "aborted" at once, which would report a network drop.
              setImmediate(() => response.destroy());
              reject(
                error.code === "ENOSPC"
                  ? new DownloadError("noSpace", `The disk filled up while downloading (${formatBytes(at)} of ${formatBytes(total)} saved in ${dirname(dest)}). Free some space and run Download Model again: it continues where it stopped.`)
                  : new DownloadError("network", `Could not write the model file: ${error.message}`),
              );
            });
        });
        response.on("end", () => {
          ended = true;
          void writing.then(() => (received >= total ? resolve() : reject(new DownloadError("network", `The connection closed after ${formatBytes(received)} of ${formatBytes(total)}.`))));
        });
        response.on("error", (error) => reject(options.signal?.aborted ? cancelled() : new DownloadError("network", `The connection dropped: ${error.message}`)));
        response.on("aborted", () => reject(options.signal?.aborted ? cancelled() : new DownloadError("network", "The connection dropped.")));
        response.on("close", () => {
          if (!ended && received < total) reject(options.signal?.aborted ? cancelled() : new DownloadError("network", `The connection closed after ${formatBytes(received)} of ${formatBytes(total)}.`));
        });
        response.off("error", onEarlyError);
        if (droppedEarly || (response.destroyed && !response.complete)) {
          reject(options.signal?.aborted ? cancelled() : new DownloadError("network", `The connection dropped: ${droppedEarly?.message ?? "closed early"}.`));
        } else if (start === total) response.emit("end");
      });
    } catch (error) {
      failure = error instanceof DownloadError ? error : new DownloadError("network", String(error));
    } finally {
      await handle.close();
    }
    if (failure) {
      if (failure.kind === "network" && attempts <= retries && !options.signal?.aborted) {
        await delay(options.retryDelayMs ?? 1000, options.signal);
        continue;
      }
      throw failure;
    }
    report(true);

    const bytes = (await fs.stat(partPath(dest))).size;
    if (bytes !== total) {
      await discardPartial(dest);
      throw new DownloadError("network", `The downloaded file has ${bytes} bytes, the server said ${total}. It was deleted; run Download Model again.`);
    }
    const sha256 = hash.digest("hex");
    if (options.expectedSha256 && options.expectedSha256.toLowerCase() !== sha256) {
      await discardPartial(dest);
      throw new DownloadError("checksum", `The downloaded file is damaged or not the published one: its SHA-256 is ${sha256}, expected ${options.expectedSha256}. It was deleted.`);
    }
    if (!options.skipGgufCheck) {
      try {
        await readGgufHeader(partPath(dest));
      } catch (error) {
        await discardPartial(dest);
        if (error instanceof GgufFormatError) throw new DownloadError("invalidFile", `The downloaded file is not a usable model: ${error.message} It was deleted.`);
        throw error;
      }
    }
    await fs.rename(partPath(dest), dest);
    await fs.rm(partInfoPath(dest), { force: true });
    return { path: dest, sha256, bytes, attempts, resumedBytes: Math.max(0, resumedBytes) };
  }
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled());
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(cancelled());
    }, { once: true });
  });
}

/** A write can be short (a nearly full disk); write the rest so the file never has a gap. */
async function writeFully(handle: fs.FileHandle, chunk: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, done, chunk.length - done, position + done);
    if (bytesWritten === 0) throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
    done += bytesWritten;
  }
}
