/**
 * PDF import: real PDFs written by hand (test/support/minimalPdf.ts) read with pdf.js, titled from their
 * metadata or first line, split into sections, searchable in the library; a corrupt, empty or
 * text-less PDF is a clear per-file ImportFormatError while the folder's other files still import.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LiteratureRecord } from "../../../src/literature/library";
import { listImportableFiles, readLiteratureFile } from "../../../src/literature/import/importFiles";
import { extractPdfText, itemsToLines, linesToParagraphs, usableTitle } from "../../../src/literature/import/pdfText";
import { ImportFormatError } from "../../../src/literature/import/records";
import { textToRecords } from "../../../src/literature/import/textDocument";
import { SqliteLiteratureLibrary } from "../../../src/literature/index/sqliteLibrary";
import { minimalPdf } from "../../support/minimalPdf";

async function collect(path: string): Promise<LiteratureRecord[]> {
  const out: LiteratureRecord[] = [];
  for await (const r of readLiteratureFile(path)) out.push(r);
  return out;
}

const GUIDELINE = minimalPdf({
  title: "Community-acquired pneumonia (test guideline)",
  pages: [
    [
      "Community-acquired pneumonia in adults",
      "",
      "Amoxicillin is first line for low severity pneumonia (CURB-65 0-1).",
      "Treat for five days in total.",
      "",
      "Review at 48 hours if no improvement.",
    ],
    ["Severe pneumonia", "", "Give a beta-lactam with a macrolide; consider procalcitonin to stop antibiotics."],
  ],
});

describe("PDF import (pdf.js)", function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "bedside-pdf-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("reads the text layer of a hand-written PDF, page by page, paragraphs at the blank lines", async () => {
    const pdf = await extractPdfText(new Uint8Array(GUIDELINE), "cap.pdf");
    assert.equal(pdf.title, "Community-acquired pneumonia (test guideline)");
    assert.equal(pdf.pages.length, 2);
    assert.deepEqual(pdf.pages[0]!.split("\n\n"), [
      "Community-acquired pneumonia in adults",
      "Amoxicillin is first line for low severity pneumonia (CURB-65 0-1). Treat for five days in total.",
      "Review at 48 hours if no improvement.",
    ]);
    assert.match(pdf.pages[1]!, /beta-lactam with a macrolide; consider procalcitonin/);
  });

  it("imports a PDF as guideline sections titled from its metadata, else its first line", async () => {
    const file = join(dir, "cap.pdf");
    writeFileSync(file, GUIDELINE);
    const records = await collect(file);
    assert.ok(records.length >= 1);
    assert.ok(records.every((r) => r.title.startsWith("Community-acquired pneumonia (test guideline)") && r.origin === file && r.publicationTypes[0] === "Guideline"));
    const all = records.map((r) => r.abstract).join(" ");
    for (const words of ["Amoxicillin is first line", "Review at 48 hours", "procalcitonin"]) assert.ok(all.includes(words), words);

    const untitled = join(dir, "untitled.pdf");
    writeFileSync(
      untitled,
      minimalPdf({ title: "Microsoft Word - draft3.docx", pages: [["Sepsis bundle", "", "Lactate, cultures, antibiotics and fluids within the first hour."]] }),
    );
    assert.equal((await collect(untitled))[0]?.title, "Sepsis bundle");
  });

  it("is searchable in the library once imported", async () => {
    const file = join(dir, "cap.pdf");
    writeFileSync(file, GUIDELINE);
    const library = new SqliteLiteratureLibrary(join(dir, "library.sqlite"));
    try {
      library.upsert(await collect(file));
      library.refreshStats();
      const hits = await library.search("how long to treat pneumonia with amoxicillin", 3);
      assert.ok(hits[0], "found");
      assert.match(hits[0].title, /pneumonia/);
      assert.match(hits[0].passage, /Amoxicillin/);
    } finally {
      library.close();
    }
  });

  it("gives a clear per-file error for a corrupt, empty or text-less PDF; the folder's other files still read", async () => {
    writeFileSync(join(dir, "a-guideline.pdf"), GUIDELINE);
    writeFileSync(join(dir, "b-corrupt.pdf"), Buffer.concat([Buffer.from("%PDF-1.4\n1 0 obj\n<< /Type /Catalog"), Buffer.alloc(64, 0x07)]));
    writeFileSync(join(dir, "c-empty.pdf"), "");
    writeFileSync(join(dir, "d-scan.pdf"), minimalPdf({ pages: [[""]] }));
    writeFileSync(join(dir, "e-notes.md"), "# Asthma\n\nInhaled corticosteroids for persistent asthma.");
    const files = await listImportableFiles(dir);
    assert.deepEqual(
      files.map((f) => f.slice(dir.length + 1)),
      ["a-guideline.pdf", "b-corrupt.pdf", "c-empty.pdf", "d-scan.pdf", "e-notes.md"],
    );
    const outcome: string[] = [];
    for (const file of files) {
      try {
        outcome.push(`${(await collect(file)).length > 0 ? "ok" : "none"}`);
      } catch (error) {
        assert.ok(error instanceof ImportFormatError, `${file}: ${String(error)}`);
        outcome.push(error.message);
      }
    }
    assert.equal(outcome[0], "ok");
    assert.match(outcome[1]!, /^b-corrupt\.pdf is not a readable PDF \(.+\)\.$/);
    assert.match(outcome[2]!, /^c-empty\.pdf is not a readable PDF/);
    assert.match(outcome[3]!, /^d-scan\.pdf has no text layer/);
    assert.equal(outcome[4], "ok");
  });

  it("lets the event loop run between pages (the extension host is not held for a whole long PDF)", () => {
    // In a fresh process, so that nothing else of this suite keeps the loop turning: reading a document,
    // pdf.js alone lets it turn only once or twice.
    const script = `
      const load = async (file) => { const m = await import(file); return m.default ?? m; };
      const { extractPdfText } = await load(${JSON.stringify(join(__dirname, "..", "..", "..", "src", "literature", "import", "pdfText.ts"))});
      const { minimalPdf } = await load(${JSON.stringify(join(__dirname, "..", "..", "support", "minimalPdf.ts"))});
      const pages = Array.from({ length: 30 }, (_, p) => ["Page " + (p + 1), "", "Antibiotics within the first hour of sepsis."]);
      // pdf.js loaded and its first document read (loading a module lets the loop turn by itself).
      await extractPdfText(new Uint8Array(minimalPdf({ pages: [["Warm-up"]] })), "warm.pdf");
      let turns = 0;
      let running = true;
      const tick = () => { turns++; if (running) setImmediate(tick); };
      setImmediate(tick);
      const pdf = await extractPdfText(new Uint8Array(minimalPdf({ pages })), "long.pdf");
      running = false;
      console.log(JSON.stringify({ pages: pdf.pages.length, turns }));`;
    const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
    assert.equal(run.status, 0, run.stderr);
    const { pages, turns } = JSON.parse(run.stdout.trim().split("\n").pop() ?? "{}") as { pages: number; turns: number };
    assert.equal(pages, 30);
    assert.ok(turns >= 30, `the event loop turned ${turns} times while 30 pages were read`);
  });

  it("lays out lines and paragraphs from glyph positions", () => {
    const item = (str: string, y: number, hasEOL = false): { str: string; transform: number[]; height: number; hasEOL: boolean } => ({
      str,
      transform: [10, 0, 0, 10, 72, y],
      height: 10,
      hasEOL,
    });
    const lines = itemsToLines([
      item("Dose ", 700),
      item("adjust-", 700, true),
      item("ment in renal failure", 686, true),
      item("New paragraph", 650, true),
      item("Next column", 700, true),
    ]);
    assert.deepEqual(
      lines.map((l) => l.text),
      ["Dose adjust-", "ment in renal failure", "New paragraph", "Next column"],
    );
    assert.equal(linesToParagraphs(lines), "Dose adjust-ment in renal failure\n\nNew paragraph\n\nNext column");
    assert.equal(usableTitle("  Sepsis   guideline "), "Sepsis guideline");
    for (const bad of ["", "untitled", "report.pdf", "Microsoft Word - x.docx", 42]) assert.equal(usableTitle(bad), undefined);
  });

  it("cuts a paragraph longer than a section at sentence ends, losing no text", () => {
    const sentence = (i: number): string => `Sentence number ${i} says something about sodium. `;
    const text = Array.from({ length: 120 }, (_, i) => sentence(i)).join("");
    const records = textToRecords(text, "/x/long.pdf", "long.pdf", { title: "Hyponatraemia" });
    assert.ok(records.length >= 3, `${records.length} sections`);
    assert.ok(records.every((r) => r.title === "Hyponatraemia" && r.abstract.length <= 2100));
    assert.equal(records.map((r) => r.abstract).join(" "), text.trim());
  });
});
