/**
 * Resuming a model download: the partial file and what the server said about it live next to the
 * destination (`<dest>.part`, `<dest>.part.json`), so a cancel, a dropped connection or a restart of VS Code
 * continues with an HTTP Range request where it stopped. Pure Node: no vscode.
 */
import type { Hash } from "node:crypto";
import { createReadStream, promises as fs } from "node:fs";
import { DownloadError } from "./downloadErrors";

/** What resuming reads of the server's answer (an http.IncomingMessage; the request lives in downloadTransfer.ts). */
export interface ServerAnswer {
  statusCode?: number | undefined;
  headers: { "content-range"?: string | undefined; "content-length"?: string | undefined; etag?: string | undefined; "last-modified"?: string | undefined };
  resume(): unknown;
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

async function readPartInfo(dest: string): Promise<PartInfo | undefined> {
  try {
    const info = JSON.parse(await fs.readFile(partInfoPath(dest), "utf8")) as PartInfo;
    return typeof info.url === "string" && Number.isSafeInteger(info.totalBytes) ? info : undefined;
  } catch {
    return undefined;
  }
}

export async function discardPartial(dest: string): Promise<void> {
  await fs.rm(partPath(dest), { force: true });
  await fs.rm(partInfoPath(dest), { force: true });
}

/** The finished file takes its place; the notes about the partial one go. */
export async function finishPartial(dest: string): Promise<void> {
  await fs.rename(partPath(dest), dest);
  await fs.rm(partInfoPath(dest), { force: true });
}

/** What an earlier attempt left for `url`, and the headers that ask the server for the rest. */
export interface ResumeState {
  info: PartInfo | undefined;
  /** Bytes on disk to continue from (0: start afresh). */
  have: number;
  headers: Record<string, string>;
}

export async function resumeState(dest: string, url: string, extraHeaders: Record<string, string> | undefined): Promise<ResumeState> {
  let info = await readPartInfo(dest);
  let have = await partialBytes(dest);
  if (!info || info.url !== url) {
    await discardPartial(dest);
    info = undefined;
    have = 0;
  }
  const headers: Record<string, string> = { "user-agent": "Bedside (VS Code extension)", ...extraHeaders };
  if (info && have > 0) {
    headers.range = `bytes=${have}-`;
    const validator = info.etag ?? info.lastModified;
    if (validator) headers["if-range"] = validator;
  }
  return { info, have, headers };
}

/**
 * Where the server's answer lets the file continue: `{ start, total }`; "again" (it answered another range:
 * the partial file is dropped and the download starts from zero); "wait" (a server error worth retrying).
 * Other answers throw a DownloadError that says what to do.
 */
export async function resumePoint(response: ServerAnswer, resume: ResumeState, dest: string, url: string, mayRetry: boolean): Promise<{ start: number; total: number } | "again" | "wait"> {
  const { info, have } = resume;
  const status = response.statusCode ?? 0;
  let total: number;
  let start: number;
  if (status === 206 && info) {
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(response.headers["content-range"] ?? "");
    if (!range || Number(range[1]) !== have) {
      response.resume();
      await discardPartial(dest);
      return "again";
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
    if (status >= 500 && mayRetry) return "wait";
    throw new DownloadError("http", `The server answered HTTP ${status} for ${new URL(url).host}${new URL(url).pathname}.`);
  }
  if (!Number.isSafeInteger(total) || total <= 0) {
    response.resume();
    throw new DownloadError("http", "The server did not say how big the file is, so the download cannot be checked or resumed.");
  }
  return { start, total };
}

/** Notes what the server said about the file, so a later attempt can ask for the rest of the same one. */
export async function recordPartInfo(dest: string, url: string, total: number, response: ServerAnswer): Promise<void> {
  const etag = response.headers.etag;
  const lastModified = response.headers["last-modified"];
  const info: PartInfo = { url, totalBytes: total, ...(etag && !etag.startsWith("W/") ? { etag } : {}), ...(lastModified ? { lastModified } : {}) };
  await fs.writeFile(partInfoPath(dest), JSON.stringify(info));
}

/** Feeds the first `bytes` of the partial file into the running hash (a resumed download hashes it all). */
export async function hashExisting(path: string, hash: Hash, bytes: number): Promise<void> {
  if (bytes === 0) return;
  await new Promise<void>((resolve, reject) => {
    createReadStream(path, { start: 0, end: bytes - 1 })
      .on("data", (chunk) => hash.update(chunk))
      .on("end", resolve)
      .on("error", reject);
  });
}
