import * as assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NoteStateCache, commonPrefixLength } from "../../../src/engine/worker/noteStateCache";

const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
const writer =
  (bytes: number, fill = 7) =>
  (path: string) =>
    writeFile(path, Buffer.alloc(bytes, fill));

describe("NoteStateCache", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "bedside-cache-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("finds the saved state sharing the longest prefix, for the same model only", async () => {
    const cache = new NoteStateCache(dir, 1e6);
    await cache.save("model-a", range(0, 200), writer(100));
    await cache.save("model-a", [...range(0, 50), ...range(900, 200)], writer(100));
    await cache.save("model-b", range(0, 300), writer(100));
    const best = await cache.bestMatch("model-a", [...range(0, 180), 5, 5], 64);
    assert.equal(best?.common, 180);
    assert.equal(await cache.bestMatch("model-a", range(1000, 200), 64), undefined);
    assert.equal(await cache.bestMatch("model-c", range(0, 200), 64), undefined);
  });

  it("skips an identical save and replaces a shorter version of the same note", async () => {
    const cache = new NoteStateCache(dir, 1e6);
    assert.equal((await cache.save("m", range(0, 100), writer(10))).saved, true);
    assert.equal((await cache.save("m", range(0, 100), writer(10))).saved, false);
    assert.equal((await cache.save("m", range(0, 150), writer(10))).saved, true);
    assert.equal(readdirSync(dir).filter((f) => f.endsWith(".kv")).length, 1);
    assert.equal((await cache.bestMatch("m", range(0, 150), 1))?.common, 150);
  });

  it("keeps the folder under its byte limit, least recently used first", async () => {
    const cache = new NoteStateCache(dir, 250);
    await cache.save("m", range(0, 10), writer(100));
    await cache.save("m", range(100, 10), writer(100));
    const first = await cache.bestMatch("m", range(0, 10), 1);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(await cache.verify(first!), true); // a use refreshes it
    await cache.save("m", range(200, 10), writer(100));
    assert.ok((await cache.totalBytes()) <= 250);
    assert.ok(await cache.bestMatch("m", range(0, 10), 1), "recently used entry kept");
    assert.equal(await cache.bestMatch("m", range(100, 10), 1), undefined, "least recently used entry evicted");
    assert.equal((await cache.save("m", range(300, 10), writer(400))).saved, false, "a state over the limit is not kept");
  });

  it("detects a damaged state file and deletes the entry", async () => {
    const cache = new NoteStateCache(dir, 1e6);
    await cache.save("m", range(0, 10), writer(64));
    const match = (await cache.bestMatch("m", range(0, 10), 1))!;
    writeFileSync(match.statePath, Buffer.alloc(64, 8));
    assert.equal(await cache.verify(match), false);
    assert.deepEqual(readdirSync(dir), []);
  });

  it("drops interrupted saves and unreadable entries when it opens a folder", async () => {
    writeFileSync(join(dir, "abc.kv"), "no metadata");
    writeFileSync(join(dir, "def.json"), "{not json");
    writeFileSync(join(dir, "def.kv"), "x");
    writeFileSync(join(dir, "ghi.kv.tmp-1-aa"), "partial");
    const cache = new NoteStateCache(dir, 1e6);
    assert.equal(await cache.totalBytes(), 0);
    assert.deepEqual(readdirSync(dir), []);
  });

  it("counts a common prefix", () => {
    assert.equal(commonPrefixLength([1, 2, 3], [1, 2, 4]), 2);
    assert.equal(commonPrefixLength([], [1]), 0);
    assert.equal(commonPrefixLength([1, 2], [1, 2]), 2);
  });
});
