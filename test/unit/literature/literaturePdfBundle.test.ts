/**
 * The pdf.js bundle as the extension ships it (built here with esbuild.pdfjs.mjs, the options esbuild.mjs
 * uses), loaded in a host like VS Code's extension host: `navigator` a getter that cannot be assigned, no
 * DOMMatrix. It must load there, read a PDF's text, load no native module, and leave the globals as it
 * found them. The source tests (literaturePdf.test.ts) run pdf.js unbundled, where none of this shows.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import { pdfjsBundleOptions } from "../../../esbuild.pdfjs.mjs";
import { minimalPdf } from "../../support/minimalPdf";

const root = resolve(__dirname, "..", "..", "..");

describe("pdf.js bundle (dist/pdfjs.js) in an extension-host-like process", function () {
  this.timeout(60_000);
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "bedside-pdfjs-"));
    await build({ ...pdfjsBundleOptions, absWorkingDir: root, bundle: true, platform: "node", target: "node20", outdir: dir, logLevel: "error" });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("has no require() that could load the native canvas package", () => {
    const code = readFileSync(join(dir, "pdfjs.js"), "utf8");
    assert.match(code, /require\d*\("@napi-rs\/canvas"\)/, "pdf.js still asks for the canvas package…");
    assert.ok(!code.includes('getBuiltinModule("module").createRequire'), "…but through no real require()");
  });

  it("loads with a getter-only navigator, reads a PDF's text, loads nothing native, and puts the globals back", () => {
    writeFileSync(join(dir, "doc.pdf"), minimalPdf({ title: "Bundle check", pages: [["Heparin dosing in obesity", "", "Use actual body weight for the bolus."]] }));
    const script = `
      Object.defineProperty(globalThis, "navigator", { get() { return undefined; }, configurable: false });
      const { getDocument, VerbosityLevel } = require(${JSON.stringify(join(dir, "pdfjs.js"))});
      const globalsAfterLoad = ["DOMMatrix", "ImageData", "Path2D"].filter((n) => n in globalThis);
      const data = new Uint8Array(require("fs").readFileSync(${JSON.stringify(join(dir, "doc.pdf"))}));
      getDocument({ data, verbosity: VerbosityLevel.ERRORS }).promise.then(async (doc) => {
        const page = await doc.getPage(1);
        const text = (await page.getTextContent()).items.map((i) => i.str).join(" ");
        const title = (await doc.getMetadata()).info.Title;
        const native = Object.keys(require.cache).filter((k) => k.endsWith(".node") || k.includes("@napi-rs"));
        console.log(JSON.stringify({ text, title, globalsAfterLoad, native }));
      });`;
    const run = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", timeout: 30_000, env: { ...process.env, NODE_OPTIONS: "" } });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stderr.trim(), "");
    const lines = run.stdout.trim().split("\n");
    assert.equal(lines.length, 1, `pdf.js printed nothing at load or while reading: ${run.stdout}`);
    const out = JSON.parse(lines[0]!) as { text: string; title: string; globalsAfterLoad: string[]; native: string[] };
    assert.match(out.text, /Heparin dosing in obesity/);
    assert.match(out.text, /actual body weight/);
    assert.equal(out.title, "Bundle check");
    assert.deepEqual(out.globalsAfterLoad, [], "the stand-ins lent to pdf.js were taken back");
    assert.deepEqual(out.native, []);
  });
});
