/**
 * Unpacks a gzipped tar (an npm package tarball) into a folder, streaming: regular files and folders
 * only (links, devices and anything else are refused), POSIX ustar with pax and GNU long names. Every
 * path must stay inside the destination. Pure Node: no vscode, no network.
 */
import { createReadStream, createWriteStream, promises as fs, type WriteStream } from "node:fs";
import { dirname, isAbsolute, join, normalize, sep } from "node:path";
import { createGunzip } from "node:zlib";

export class TarError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TarError";
  }
}

export interface ExtractOptions {
  /** Drop this prefix from every entry ("package/" for npm tarballs); entries without it are refused. */
  stripPrefix?: string;
}

const BLOCK = 512;

function field(header: Buffer, offset: number, length: number): string {
  const raw = header.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? length : end).toString("utf8");
}

function octal(header: Buffer, offset: number, length: number): number {
  const text = field(header, offset, length).trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarError(`bad number field "${text}" in the archive`);
  return parseInt(text, 8);
}

function checksumOk(header: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
  return sum === octal(header, 148, 8);
}

/** pax extended header records: "<len> key=value\n". Only `path` matters here. */
function paxPath(data: Buffer): string | undefined {
  let at = 0;
  let found: string | undefined;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const length = Number(data.subarray(at, space).toString("ascii"));
    if (!Number.isSafeInteger(length) || length <= 0) break;
    const record = data.subarray(space + 1, at + length - 1).toString("utf8");
    const eq = record.indexOf("=");
    if (eq > 0 && record.slice(0, eq) === "path") found = record.slice(eq + 1);
    at += length;
  }
  return found;
}

function safeTarget(root: string, name: string, strip: string | undefined): string | undefined {
  let rel = name.replace(/\\/g, "/");
  if (strip) {
    if (!rel.startsWith(strip)) throw new TarError(`entry "${name}" is outside "${strip}"`);
    rel = rel.slice(strip.length);
  }
  if (rel === "" || rel === "/") return undefined;
  if (isAbsolute(rel) || /^[A-Za-z]:/.test(rel)) throw new TarError(`entry "${name}" has an absolute path`);
  const normal = normalize(rel);
  if (normal === ".." || normal.startsWith(`..${sep}`) || normal.split(sep).includes("..")) throw new TarError(`entry "${name}" leaves the destination`);
  return join(root, normal);
}

/** Unpacks `file` (.tgz) into `dest`; returns the number of regular files written. */
export async function extractTarGz(file: string, dest: string, options: ExtractOptions = {}): Promise<number> {
  await fs.mkdir(dest, { recursive: true });
  let buffer: Buffer = Buffer.alloc(0);
  let files = 0;
  let ended = false;
  // Current entry body being consumed.
  let remaining = 0;
  let padding = 0;
  let out: WriteStream | undefined;
  let collect: Buffer[] | undefined; // pax / GNU long-name bodies
  let collectKind: "pax" | "longname" | undefined;
  let nextName: string | undefined;

  const closeOut = async (): Promise<void> => {
    if (!out) return;
    const stream = out;
    out = undefined;
    await new Promise<void>((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
  };

  const startEntry = async (header: Buffer): Promise<void> => {
    if (!checksumOk(header)) throw new TarError("a header's checksum does not match: the archive is damaged");
    const type = String.fromCharCode(header[156] || 0x30);
    const size = octal(header, 124, 12);
    const prefix = field(header, 345, 155);
    const baseName = field(header, 0, 100);
    const name = nextName ?? (prefix ? `${prefix}/${baseName}` : baseName);
    remaining = size;
    padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (type === "x" || type === "L") {
      collect = [];
      collectKind = type === "x" ? "pax" : "longname";
      return;
    }
    nextName = undefined;
    if (type === "g") return; // global pax header: nothing we use
    if (type === "5") {
      const target = safeTarget(dest, name, options.stripPrefix);
      if (target) await fs.mkdir(target, { recursive: true });
      return;
    }
    if (type !== "0" && type !== "7") throw new TarError(`entry "${name}" is a link or special file (type ${type}); not unpacked`);
    const target = safeTarget(dest, name, options.stripPrefix);
    if (!target) throw new TarError(`entry "${name}" has no file name`);
    await fs.mkdir(dirname(target), { recursive: true });
    const mode = octal(header, 100, 8) & 0o755;
    out = createWriteStream(target, { mode: mode | 0o600 });
    files++;
    if (size === 0) await closeOut();
  };

  const write = (chunk: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      if (!out) return resolve();
      out.write(chunk, (error) => (error ? reject(error) : resolve()));
    });

  const gunzip = createReadStream(file).pipe(createGunzip());
  for await (const chunk of gunzip as AsyncIterable<Buffer>) {
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    for (;;) {
      if (ended) break;
      if (remaining > 0) {
        if (buffer.length === 0) break;
        const take = Math.min(remaining, buffer.length);
        const piece = buffer.subarray(0, take);
        if (collect) collect.push(Buffer.from(piece));
        else await write(piece);
        buffer = buffer.subarray(take);
        remaining -= take;
        if (remaining > 0) break;
        if (collect) {
          const body = Buffer.concat(collect);
          nextName = collectKind === "pax" ? (paxPath(body) ?? nextName) : body.toString("utf8").replace(/\0+$/, "");
          collect = undefined;
          collectKind = undefined;
        } else {
          await closeOut();
        }
        continue;
      }
      if (padding > 0) {
        const skip = Math.min(padding, buffer.length);
        buffer = buffer.subarray(skip);
        padding -= skip;
        if (padding > 0) break;
        continue;
      }
      if (buffer.length < BLOCK) break;
      const header = buffer.subarray(0, BLOCK);
      buffer = buffer.subarray(BLOCK);
      if (header.every((b) => b === 0)) {
        ended = true;
        break;
      }
      await startEntry(header);
    }
  }
  await closeOut();
  if (remaining > 0 || (!ended && buffer.length > 0)) throw new TarError("the archive ends in the middle of an entry");
  return files;
}
