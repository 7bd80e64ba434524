// Writes npm-style package tarballs (gzipped ustar) for tests of the acceleration pack path, and serves one
// from a registry on 127.0.0.1.
import { createHash } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";

/** A ustar archive of regular files, as npm pack writes them (everything under package/); `type` and `linkname` make hostile ones. */
export function tarGz(entries: Array<{ name: string; body: string | Buffer; type?: string; mode?: number; linkname?: string }>): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = typeof entry.body === "string" ? Buffer.from(entry.body) : entry.body;
    const header = Buffer.alloc(512);
    header.write(entry.name, 0, 100, "utf8");
    header.write(`${(entry.mode ?? 0o644).toString(8).padStart(7, "0")}\0`, 100, "ascii");
    header.write("0000000\0", 108, "ascii");
    header.write("0000000\0", 116, "ascii");
    header.write(`${body.length.toString(8).padStart(11, "0")}\0`, 124, "ascii");
    header.write("00000000000\0", 136, "ascii");
    header.write("        ", 148, "ascii");
    header.write(entry.type ?? "0", 156, "ascii");
    if (entry.linkname) header.write(entry.linkname, 157, 100, "utf8");
    header.write("ustar\0" + "00", 257, "ascii");
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

/** The Subresource Integrity string npm's `dist.integrity` carries (SHA-512). */
export const sri = (data: Buffer): string => `sha512-${createHash("sha512").update(data).digest("base64")}`;

export interface PackRegistry {
  url: string;
  /** Paths asked for, in order. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * An npm registry on 127.0.0.1 with one version of one package (`name`, `version`), serving `tarball`;
 * the version document can claim another `documentName` or `integrity` (default: the honest SHA-512).
 */
export async function servePackRegistry(tarball: Buffer, options: { name: string; version: string; documentName?: string; integrity?: string }): Promise<PackRegistry> {
  const requests: string[] = [];
  const versionPath = `/${options.name.replace("/", "%2f")}/${options.version}`;
  const tarballPath = `/tarballs/${options.name.split("/").pop()}-${options.version}.tgz`;
  const server = http.createServer((request, response) => {
    requests.push(request.url ?? "");
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (request.url === versionPath) {
      response.setHeader("content-type", "application/json");
      response.end(
        JSON.stringify({
          name: options.documentName ?? options.name,
          version: options.version,
          dist: { tarball: `${base}${tarballPath}`, integrity: options.integrity ?? sri(tarball) },
        }),
      );
    } else if (request.url === tarballPath) {
      response.setHeader("content-length", String(tarball.length));
      response.end(tarball);
    } else {
      response.statusCode = 404;
      response.end("not found");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
