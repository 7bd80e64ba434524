/**
 * Run by featureFaults.test.ts inside a private mount namespace with DIR a small tmpfs (4 MiB):
 * 1. import: imports FILE into a library in DIR until the disk is full, checks what was kept, frees space
 *    (a ballast file written first) and imports again;
 * 2. download: downloads a 3 MB file from a loopback server into DIR, filling the disk once the download
 *    is under way, then frees the space and downloads again (it resumes).
 * Prints one JSON line with what happened.
 */
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import { join } from "node:path";
import { importRecords } from "../../src/literature/import/importRecords";
import { SqliteLiteratureLibrary } from "../../src/literature/index/sqliteLibrary";
import { DownloadError, downloadModelFile, partialBytes } from "../../src/models/modelDownload";

const free = (dir: string): number => {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
};

async function importPhase(dir: string, file: string): Promise<Record<string, unknown>> {
  // Ballast: what "freeing some space" removes later. It leaves 1.2 MB, room for about half the file.
  writeFileSync(join(dir, "ballast"), Buffer.alloc(Math.max(0, free(dir) - 1_200_000)));
  const path = join(dir, "library.sqlite");
  const library = new SqliteLiteratureLibrary(path);
  const report = await importRecords(library, [file]);
  try {
    library.refreshStats();
  } catch {
    // the stored average length cannot be written on a full disk; the count is current
  }
  const counted = library.count();
  const searchAfterFull = (await library.search("pneumonia mortality", 3)).length;
  rmSync(join(dir, "ballast"));
  const again = await importRecords(library, [file]);
  library.refreshStats();
  const countWithSpace = library.count();
  library.close();
  const reopened = new SqliteLiteratureLibrary(path);
  const result = {
    driver: library.driver,
    diskFull: report.diskFull === true,
    message: report.failed[0]?.message ?? "",
    kept: report.added,
    countAfterFull: counted,
    searchAfterFull,
    addedWithSpace: again.added,
    countWithSpace,
    reopened: reopened.count(),
  };
  reopened.close();
  rmSync(path, { force: true });
  rmSync(`${path}.lock`, { recursive: true, force: true });
  return result;
}

async function downloadPhase(dir: string): Promise<Record<string, unknown>> {
  const body = randomBytes(3_000_000);
  const sha256 = createHash("sha256").update(body).digest("hex");
  const dest = join(dir, "models", "model.gguf");
  let filled = false;
  const server = http.createServer((req, res) => {
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    const start = range ? Number(range[1]) : 0;
    res.writeHead(range ? 206 : 200, {
      "content-length": String(body.length - start),
      etag: '"v1"',
      ...(range ? { "content-range": `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    });
    let at = start;
    const pump = async (): Promise<void> => {
      while (at < body.length) {
        // Under way (the first download has written 256 KiB): something else fills the disk, leaving 128 KiB.
        if (!filled && at >= 512 * 1024) {
          while ((await partialBytes(dest)) < 256 * 1024) await new Promise((r) => setTimeout(r, 5));
          filled = true;
          writeFileSync(join(dir, "ballast"), Buffer.alloc(Math.max(0, free(dir) - 128 * 1024)));
        }
        const chunk = body.subarray(at, at + 64 * 1024);
        at += chunk.length;
        if (!res.write(chunk)) await new Promise((r) => res.once("drain", r));
      }
      res.end();
    };
    void pump().catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/model.gguf`;
  let first: { kind: string; message: string } | undefined;
  try {
    await downloadModelFile({
      url,
      dest,
      expectedSha256: sha256,
      skipGgufCheck: true,
      retries: 0,
    });
  } catch (error) {
    first = error instanceof DownloadError ? { kind: error.kind, message: error.message } : { kind: "other", message: String(error) };
  }
  const keptBytes = await partialBytes(dest);
  rmSync(join(dir, "ballast"), { force: true });
  const second = await downloadModelFile({ url, dest, expectedSha256: sha256, skipGgufCheck: true, retries: 0 });
  server.close();
  const intact = createHash("sha256").update(readFileSync(dest)).digest("hex") === sha256;
  return { firstKind: first?.kind ?? "none", firstMessage: first?.message ?? "", keptBytes, resumedBytes: second.resumedBytes, intact };
}

async function main(): Promise<void> {
  const [dir, file] = process.argv.slice(2) as [string, string];
  const imported = await importPhase(dir, file);
  const downloaded = await downloadPhase(dir);
  console.log(JSON.stringify({ ...imported, download: downloaded }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
