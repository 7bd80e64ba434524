/**
 * A real HTTP server on 127.0.0.1 that serves one file with Range and If-Range support, as Hugging Face's
 * CDN does, and can drop the connection after a given byte (a network failure) for the download tests.
 */
import { createHash } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface ServedRequest {
  path: string;
  range: string | undefined;
  status: number;
}

export class ModelFileServer {
  readonly requests: ServedRequest[] = [];
  /** The next response is cut after this many body bytes (then cleared). */
  dropAfterBytes: number | undefined;
  /** Bytes written per chunk, and a pause between chunks so a cancel can land mid-file. */
  chunkBytes = 64 * 1024;
  chunkDelayMs = 0;
  private server: http.Server | undefined;
  readonly etag: string;

  constructor(
    public body: Buffer,
    readonly fileName = "model.gguf",
  ) {
    this.etag = `"${createHash("sha256").update(body).digest("hex").slice(0, 16)}"`;
  }

  get url(): string {
    const address = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}/files/${this.fileName}`;
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = req.url ?? "";
    if (path === "/redirect") {
      this.requests.push({ path, range: req.headers.range, status: 302 });
      res.writeHead(302, { location: `/files/${this.fileName}` }).end();
      return;
    }
    if (path !== `/files/${this.fileName}`) {
      this.requests.push({ path, range: req.headers.range, status: 404 });
      res.writeHead(404).end();
      return;
    }
    const total = this.body.length;
    let start = 0;
    let status = 200;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    const ifRange = req.headers["if-range"];
    if (range && (!ifRange || ifRange === this.etag)) {
      start = Number(range[1]);
      if (start >= total) {
        this.requests.push({ path, range: req.headers.range, status: 416 });
        res.writeHead(416, { "content-range": `bytes */${total}` }).end();
        return;
      }
      status = 206;
    }
    this.requests.push({ path, range: req.headers.range, status });
    res.writeHead(status, {
      "content-type": "application/octet-stream",
      "content-length": String(total - start),
      "accept-ranges": "bytes",
      etag: this.etag,
      ...(status === 206 ? { "content-range": `bytes ${start}-${total - 1}/${total}` } : {}),
    });
    const drop = this.dropAfterBytes;
    this.dropAfterBytes = undefined;
    let sent = 0;
    for (let at = start; at < total; at += this.chunkBytes) {
      let chunk = this.body.subarray(at, Math.min(total, at + this.chunkBytes));
      if (drop !== undefined && sent + chunk.length > drop) {
        chunk = chunk.subarray(0, drop - sent);
        await new Promise<void>((resolve) => res.write(chunk, () => resolve()));
        req.socket.destroy();
        return;
      }
      sent += chunk.length;
      if (!res.write(chunk)) await new Promise((resolve) => res.once("drain", resolve));
      if (this.chunkDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.chunkDelayMs));
      if (res.destroyed) return;
    }
    res.end();
  }
}
