/**
 * The tar reader that unpacks a downloaded acceleration pack (native code node-llama-cpp loads) against hostile
 * archives: each must be refused with a TarError and leave nothing outside the destination. These vectors also
 * decided between the hand-written reader and node-tar (docs/packaging.md).
 */
import * as assert from "node:assert/strict";
import { existsSync, lstatSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { extractTarGz, TarError } from "../../../src/packaging/tar";
import { tarGz } from "../../support/tarball";

/** A pax extended header ("x") whose record sets `path`. */
function paxPath(path: string): { name: string; body: string; type: string } {
  const record = (length: number): string => `${length} path=${path}\n`;
  let length = record(0).length;
  while (record(length).length !== length) length = record(length).length;
  return { name: "package/PaxHeader", body: record(length), type: "x" };
}

const manifest = { name: "package/package.json", body: "{}" };
const VECTORS: Array<{ what: string; entries: Parameters<typeof tarGz>[0] }> = [
  { what: "a path with .. that leaves the destination", entries: [manifest, { name: "package/../../escaped.txt", body: "x" }] },
  { what: "an absolute path after the package/ prefix", entries: [manifest, { name: "package//tmp/escaped.txt", body: "x" }] },
  { what: "an entry outside package/", entries: [manifest, { name: "other/escaped.txt", body: "x" }] },
  { what: "a symbolic link to a file outside", entries: [manifest, { name: "package/link", body: "", type: "2", linkname: "/etc/passwd" }] },
  {
    what: "a symbolic link to a folder outside, then a file written through it",
    entries: [manifest, { name: "package/dir", body: "", type: "2", linkname: "../../outside" }, { name: "package/dir/escaped.txt", body: "x" }],
  },
  { what: "a hard link to a file outside", entries: [manifest, { name: "package/hard", body: "", type: "1", linkname: "../../escaped.txt" }] },
  { what: "a character device", entries: [manifest, { name: "package/dev", body: "", type: "3" }] },
  { what: "a FIFO", entries: [manifest, { name: "package/fifo", body: "", type: "6" }] },
  { what: "a pax header whose path leaves the destination", entries: [manifest, paxPath("package/../../escaped.txt"), { name: "package/innocent.txt", body: "x" }] },
  {
    what: "a GNU long name that leaves the destination",
    entries: [manifest, { name: "././@LongLink", body: "package/../../escaped.txt\0", type: "L" }, { name: "package/innocent.txt", body: "x" }],
  },
];

describe("tar reader against hostile archives", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "bedside-tar-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  for (const vector of VECTORS) {
    it(`refuses ${vector.what}, writing nothing outside the destination`, async () => {
      const file = join(dir, "pack.tgz");
      writeFileSync(file, tarGz(vector.entries));
      const dest = join(dir, "a", "b", "dest");
      await assert.rejects(extractTarGz(file, dest, { stripPrefix: "package/" }), TarError);
      // Nothing escaped: the only things under dir are the archive and the destination's folders.
      assert.deepEqual(readdirSync(dir).sort(), ["a", "pack.tgz"]);
      assert.deepEqual(readdirSync(join(dir, "a")), ["b"]);
      assert.deepEqual(readdirSync(join(dir, "a", "b")), ["dest"]);
      for (const name of readdirSync(dest)) assert.ok(!lstatSync(join(dest, name)).isSymbolicLink(), `${name} is a link`);
      assert.ok(!existsSync("/tmp/escaped.txt"));
    });
  }

  it("unpacks an honest package (the vectors fail for their payload, not for the archive format)", async () => {
    const file = join(dir, "pack.tgz");
    writeFileSync(file, tarGz([manifest, paxPath("package/lib/long-name.node"), { name: "package/ignored", body: "binary" }, { name: "package/lib/index.js", body: "x" }]));
    const dest = join(dir, "dest");
    assert.equal(await extractTarGz(file, dest, { stripPrefix: "package/" }), 3);
    assert.deepEqual(readdirSync(join(dest, "lib")).sort(), ["index.js", "long-name.node"]);
  });
});
