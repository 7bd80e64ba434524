/**
 * One HTTP transfer of a model download: GET with redirects and a stall timeout, then the body written to
 * the partial file chunk by chunk (hashed on the way, short writes completed, a full disk reported as such),
 * with every way a connection can drop turned into a DownloadError. Pure Node: no vscode.
 */
import type { Hash } from "node:crypto";
import type { promises as fs } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { dirname } from "node:path";
import { cancelled, DownloadError } from "./downloadErrors";
import { formatBytes } from "./hardwareFit";

export interface Opened {
  response: http.IncomingMessage;
  request: http.ClientRequest;
  url: string;
}

/** GET with redirects (Hugging Face sends model files from a CDN), honouring the abort signal. */
export function open(url: string, headers: Record<string, string>, options: { agent?: http.Agent | undefined; signal?: AbortSignal | undefined }, redirects = 0): Promise<Opened> {
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

/** Errors the response emits before its body is read (the connection can drop while the file is prepared). */
export function catchEarlyErrors(response: http.IncomingMessage): () => Error | undefined {
  let dropped: Error | undefined;
  const onError = (error: Error): void => void (dropped = error);
  response.on("error", onError);
  return () => {
    response.off("error", onError);
    return dropped;
  };
}

export class SpeedMeter {
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

export interface BodyTarget {
  handle: fs.FileHandle;
  hash: Hash;
  dest: string;
  /** Bytes already in the file; the body continues there. */
  start: number;
  total: number;
  signal: AbortSignal | undefined;
  /** After each chunk is written, with the bytes in the file so far. */
  onWritten: (received: number) => void;
  /** Stops catching early errors and answers the one that came, if any (catchEarlyErrors). */
  earlyError: () => Error | undefined;
}

/** Writes the response body into the partial file; resolves when all `total` bytes are there. */
export function receiveBody(response: http.IncomingMessage, target: BodyTarget): Promise<void> {
  const { handle, hash, dest, start, total, signal } = target;
  let received = start;
  return new Promise<void>((resolve, reject) => {
    let writing = Promise.resolve();
    let ended = false;
    const onAbort = (): void => reject(cancelled());
    signal?.addEventListener("abort", onAbort, { once: true });
    response.on("data", (chunk: Buffer) => {
      response.pause();
      const at = received;
      received += chunk.length;
      hash.update(chunk);
      writing = writing
        .then(() => writeFully(handle, chunk, at))
        .then(() => {
          target.onWritten(received);
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
    response.on("error", (error) => reject(signal?.aborted ? cancelled() : new DownloadError("network", `The connection dropped: ${error.message}`)));
    response.on("aborted", () => reject(signal?.aborted ? cancelled() : new DownloadError("network", "The connection dropped.")));
    response.on("close", () => {
      if (!ended && received < total) reject(signal?.aborted ? cancelled() : new DownloadError("network", `The connection closed after ${formatBytes(received)} of ${formatBytes(total)}.`));
    });
    const droppedEarly = target.earlyError();
    if (droppedEarly || (response.destroyed && !response.complete)) {
      reject(signal?.aborted ? cancelled() : new DownloadError("network", `The connection dropped: ${droppedEarly?.message ?? "closed early"}.`));
    } else if (start === total) response.emit("end");
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

export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled());
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(cancelled());
      },
      { once: true },
    );
  });
}
