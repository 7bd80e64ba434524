/**
 * Model downloads against a real HTTP server on 127.0.0.1 (Range, If-Range, ETag) serving a generated
 * GGUF: progress, resume after a cancel, a dropped connection and a "restart" (a fresh call finding the
 * partial file), SHA-256 verification, and a full disk (a real, size-limited tmpfs when we may mount one).
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, randomInt } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DownloadError, downloadModelFile, partialBytes, partPath, type DownloadProgress } from "../../../src/models/modelDownload";
import { ensureTestModel } from "../../support/gguf/testModels";
import { ModelFileServer } from "../../engine/modelFileServer";
import { skipBecause } from "../../support/skip";

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");
const isDownloadError = (kind: DownloadError["kind"], pattern?: RegExp) => (e: unknown) =>
  e instanceof DownloadError && e.kind === kind && (!pattern || pattern.test(e.message));

describe("model download", function () {
  this.timeout(60_000);
  let body: Buffer;
  let server: ModelFileServer;
  let dir: string;

  before(async () => {
    body = readFileSync(await ensureTestModel("tiny"));
  });
  beforeEach(async () => {
    server = new ModelFileServer(body);
    await server.start();
    dir = mkdtempSync(join(tmpdir(), "bedside-dl-"));
  });
  afterEach(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("downloads with progress (bytes, total, speed, time left) to a verified file", async () => {
    const progress: DownloadProgress[] = [];
    server.chunkBytes = 16 * 1024;
    server.chunkDelayMs = 3;
    const dest = join(dir, "model.gguf");
    const result = await downloadModelFile({ url: server.url, dest, expectedSha256: sha(body), onProgress: (p) => progress.push(p) });
    assert.equal(result.sha256, sha(body));
    assert.deepEqual(readFileSync(dest), body);
    assert.ok(progress.length >= 3, `${progress.length} progress reports`);
    assert.equal(progress[0]!.receivedBytes, 0);
    assert.equal(progress.at(-1)!.receivedBytes, body.length);
    assert.ok(progress.every((p) => p.totalBytes === body.length));
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i]!.receivedBytes >= progress[i - 1]!.receivedBytes);
    assert.ok(progress.some((p) => p.bytesPerSecond > 0 && p.etaSeconds !== undefined), "speed and time left are reported");
    assert.equal(existsSync(partPath(dest)), false, "no partial file left");
  });

  it("follows redirects (Hugging Face serves files from a CDN)", async () => {
    const dest = join(dir, "model.gguf");
    const result = await downloadModelFile({ url: server.url.replace(/\/files\/.*$/, "/redirect"), dest });
    assert.equal(result.sha256, sha(body));
  });

  it("resumes with a Range request after the connection drops at a random byte, to a verified file", async () => {
    const cut = randomInt(1, body.length - 1);
    server.dropAfterBytes = cut;
    const dest = join(dir, "model.gguf");
    const result = await downloadModelFile({ url: server.url, dest, expectedSha256: sha(body), retryDelayMs: 10 });
    assert.deepEqual(readFileSync(dest), body, `cut at byte ${cut}`);
    assert.equal(result.attempts, 2);
    assert.equal(server.requests.length, 2);
    assert.equal(server.requests[0]!.range, undefined);
    // Node may deliver slightly fewer bytes than the server wrote before the drop; never more.
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(server.requests[1]!.range ?? "")?.[1]);
    assert.ok(resumedAt > 0 && resumedAt <= cut, `resumed at ${resumedAt}, cut at ${cut}`);
    assert.equal(server.requests[1]!.status, 206);
  });

  it("keeps what it has on cancel and resumes in a later call (as after a restart of VS Code)", async () => {
    server.chunkBytes = 8 * 1024;
    server.chunkDelayMs = 5;
    const dest = join(dir, "model.gguf");
    // Progress is reported at most every 100 ms, so leave the second half of the file for the cancel to land.
    const stopAt = randomInt(16 * 1024, Math.floor(body.length / 2));
    const controller = new AbortController();
    await assert.rejects(
      downloadModelFile({ url: server.url, dest, signal: controller.signal, onProgress: (p) => p.receivedBytes >= stopAt && controller.abort() }),
      isDownloadError("cancelled", /continue where it stopped/),
    );
    const kept = await partialBytes(dest);
    assert.ok(kept > 0 && kept < body.length, `kept ${kept} of ${body.length}`);
    assert.equal(existsSync(dest), false);

    // A fresh call knows nothing but what is on disk.
    server.chunkDelayMs = 0;
    const result = await downloadModelFile({ url: server.url, dest, expectedSha256: sha(body) });
    assert.equal(result.resumedBytes, kept);
    assert.equal(server.requests.at(-1)!.range, `bytes=${kept}-`);
    assert.deepEqual(readFileSync(dest), body);
  });

  it("starts again when the file on the server changed since the partial download (If-Range)", async () => {
    server.dropAfterBytes = 100_000;
    const dest = join(dir, "model.gguf");
    await assert.rejects(downloadModelFile({ url: server.url, dest, retries: 0 }), isDownloadError("network"));
    assert.ok((await partialBytes(dest)) > 0);
    const changed = Buffer.from(body);
    changed[changed.length - 1] ^= 0xff;
    await server.stop();
    server = new ModelFileServer(changed);
    await server.start();
    // Same URL path on a new port counts as another URL; force the same one by reusing the part info.
    const info = JSON.parse(readFileSync(`${dest}.part.json`, "utf8")) as { url: string };
    writeFileSync(`${dest}.part.json`, JSON.stringify({ ...info, url: server.url }));
    const result = await downloadModelFile({ url: server.url, dest, expectedSha256: sha(changed) });
    assert.equal(server.requests[0]!.status, 200, "the server ignored the stale range");
    assert.equal(result.sha256, sha(changed));
  });

  it("rejects and deletes a corrupted copy (SHA-256 mismatch)", async () => {
    const corrupted = Buffer.from(body);
    corrupted[randomInt(0, corrupted.length)] ^= 0x5a;
    await server.stop();
    server = new ModelFileServer(corrupted);
    await server.start();
    const dest = join(dir, "model.gguf");
    await assert.rejects(downloadModelFile({ url: server.url, dest, expectedSha256: sha(body) }), isDownloadError("checksum", /SHA-256 is [0-9a-f]{64}, expected [0-9a-f]{64}.*deleted/));
    assert.equal(existsSync(dest), false);
    assert.equal(existsSync(partPath(dest)), false);
    assert.equal(existsSync(`${dest}.part.json`), false);
  });

  it("rejects and deletes a file that is not a GGUF model, even without a published hash", async () => {
    await server.stop();
    server = new ModelFileServer(Buffer.from("<html>Sign in to download</html>".repeat(100)));
    await server.start();
    const dest = join(dir, "model.gguf");
    await assert.rejects(downloadModelFile({ url: server.url, dest }), isDownloadError("invalidFile", /not a GGUF model file/));
    assert.equal(existsSync(partPath(dest)), false);
  });

  it("says why when the server refuses", async () => {
    await assert.rejects(downloadModelFile({ url: server.url.replace("model.gguf", "gone.gguf"), dest: join(dir, "x.gguf") }), isDownloadError("http", /HTTP 404/));
  });

  it("gives up after repeated network failures and keeps the partial file", async () => {
    const dest = join(dir, "model.gguf");
    server.dropAfterBytes = 300_000;
    server.chunkBytes = 16 * 1024;
    server.chunkDelayMs = 2;
    await assert.rejects(downloadModelFile({ url: server.url, dest, retries: 0 }), isDownloadError("network", /closed|dropped/));
    assert.ok((await partialBytes(dest)) > 0);
  });

  describe("on a nearly full disk (a real tmpfs)", () => {
    let mountPoint: string;
    let mounted = false;
    before(function () {
      mountPoint = mkdtempSync(join(tmpdir(), "bedside-full-"));
      try {
        execFileSync("mount", ["-t", "tmpfs", "-o", "size=640k", "tmpfs", mountPoint], { stdio: "ignore" });
        mounted = true;
      } catch (error) {
        // Mounting needs root (CAP_SYS_ADMIN). Where we may not, say so rather than fake a full disk.
        skipBecause(this, `cannot mount a tmpfs here (needs root/CAP_SYS_ADMIN): ${(error as Error).message.split("\n")[0]}`);
      }
    });
    after(() => {
      if (mounted) execFileSync("umount", [mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    });

    it("refuses before downloading when the model cannot fit, saying how much is needed and free", async () => {
      assert.ok(body.length > 640 * 1024, "the test model is larger than the file system");
      await assert.rejects(
        downloadModelFile({ url: server.url, dest: join(mountPoint, "model.gguf") }),
        isDownloadError("noSpace", /Not enough disk space in .*needs \d+(\.\d)? MB more and \d+ KB|Not enough disk space in .*needs .* more and .* is free/),
      );
      assert.equal(existsSync(join(mountPoint, "model.gguf.part")), false, "nothing half-written");
    });

    it("reports a disk that fills up during the download clearly, and resumes once space is freed", async () => {
      const small = body.subarray(0, 400 * 1024);
      await server.stop();
      server = new ModelFileServer(small);
      server.chunkBytes = 16 * 1024;
      server.chunkDelayMs = 5;
      await server.start();
      const dest = join(mountPoint, "model.gguf");
      const filler = join(mountPoint, "other-files.bin");
      let filled = false;
      await assert.rejects(
        downloadModelFile({
          url: server.url,
          dest,
          skipGgufCheck: true,
          onProgress: (p) => {
            // Something else on the machine takes the rest of the disk mid-download.
            if (!filled && p.receivedBytes > 64 * 1024) {
              filled = true;
              mkdirSync(mountPoint, { recursive: true });
              try {
                writeFileSync(filler, Buffer.alloc(640 * 1024));
              } catch {
                /* ENOSPC here too: the disk is now full */
              }
            }
          },
        }),
        isDownloadError("noSpace", /disk filled up .* saved in .*continues where it stopped/),
      );
      rmSync(filler, { force: true });
      const result = await downloadModelFile({ url: server.url, dest, skipGgufCheck: true });
      assert.ok(result.resumedBytes > 0);
      assert.deepEqual(readFileSync(dest), small);
    });
  });
});
