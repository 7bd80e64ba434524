// Ghost text in a real workbench: a sample note open, the clinician types at the end of the PLAN, and
// Bedside's suggestion from the worker (a generated tiny model, so the words are random) appears as ghost
// text. Screenshot: test/e2e/screenshots/ghost-text-in-note.png.
import * as assert from "node:assert/strict";
import { ensureTestModel } from "../support/gguf/testModels";
import type { Page } from "playwright-core";
import { cpuModelSettings, openFileInEditor, runCommand, saveScreenshot, startDevWorkbench, waitForElement, type DevWorkbench } from "../support/vscodeHost/workbench";

/** Editor text as typed: Monaco draws spaces as no-break spaces. */
const plain = (text: string): string => text.replace(/\u00a0/g, " ");

/**
 * The text under Bedside's unreviewed-text decoration (src/provenance/aiTextMarkers.ts: a dotted bottom
 * border), read from the rendered editor: what a clinician sees marked. VS Code draws a border decoration
 * as a box in the editor's overlay layer, so this finds those boxes and reads the characters drawn inside them.
 */
async function markedText(page: Page): Promise<string> {
  const text = await page.evaluate(() => {
    const boxes = [...document.querySelectorAll(".monaco-editor .view-overlays div")]
      .filter((d) => getComputedStyle(d).borderBottomStyle === "dotted")
      .map((d) => d.getBoundingClientRect())
      .filter((r) => r.width > 0);
    if (boxes.length === 0) return "";
    let marked = "";
    for (const line of document.querySelectorAll(".monaco-editor .view-lines .view-line")) {
      const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const value = node.textContent ?? "";
        for (let i = 0; i < value.length; i++) {
          const range = document.createRange();
          range.setStart(node, i);
          range.setEnd(node, i + 1);
          const r = range.getBoundingClientRect();
          const x = r.left + r.width / 2;
          const y = r.top + r.height / 2;
          if (boxes.some((b) => x >= b.left && x <= b.right && y >= b.top && y <= b.bottom)) marked += value[i];
        }
      }
    }
    return marked;
  });
  return plain(text);
}

/** Polls `read` until `done` holds (30 s), returning the last value read. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(value)})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("Bedside ghost text in a note", function () {
  let dev: DevWorkbench;

  before(async function () {
    const model = await ensureTestModel("tiny");
    dev = await startDevWorkbench({
      settings: {
        ...cpuModelSettings(model),
        "editor.inlineSuggest.enabled": true,
      },
      viewport: { width: 1280, height: 800 },
    });
  });

  after(async function () {
    await dev?.close();
  });

  it("shows the model suggestion as ghost text while typing in a .note file", async function () {
    const { page } = dev;
    const editor = await openFileInEditor(page, "soap-follow-up.note", "SUBJECTIVE");
    await editor.click();
    await page.keyboard.press("Control+End");
    await page.keyboard.type("Recheck blood pressure and continue the ", { delay: 40 });
    const ghost = await waitForElement(page.locator(".monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text"), "ghost text", 60_000);
    const text = await ghost.innerText();
    assert.ok(text.trim().length > 0, "ghost text has words");
    assert.doesNotMatch(text, /[0-9]/);
    const file = await saveScreenshot(page, "ghost-text-in-note");
    console.log(`      ghost text ${JSON.stringify(text)}; screenshot ${file}`);
  });

  it("accepts it with Tab and marks the accepted text until it is reviewed", async function () {
    const { page } = dev;
    const ghost = page.locator(".monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text");
    const shown = plain(await ghost.first().innerText()).trim();
    assert.equal(await markedText(page), "", "nothing is marked before a suggestion is accepted");
    await page.keyboard.press("Tab");
    const line = page.locator(".monaco-editor .view-line", { hasText: "Recheck blood pressure" });
    await waitForElement(line, "the accepted line");
    assert.ok(plain(await line.first().innerText()).includes(shown.slice(0, 10)), "the suggestion was inserted");
    // The mark: Bedside's decoration (a dotted underline) drawn on exactly the accepted words.
    const marked = await until(
      () => markedText(page),
      (t) => t.trim().length > 0,
      "the accepted text to be marked",
    );
    assert.ok(marked.includes(shown.slice(0, 10)), `the accepted words carry the mark: ${JSON.stringify(marked)} vs ${JSON.stringify(shown)}`);
    assert.ok(!marked.includes("Recheck blood pressure"), `only the accepted words are marked, not what the clinician typed: ${JSON.stringify(marked)}`);
    const file = await saveScreenshot(page, "accepted-text-marked", page.locator(".part.editor"));
    console.log(`      marked ${JSON.stringify(marked)}; screenshot ${file}`);
    // Until it is reviewed: Mark AI Text Reviewed takes the mark away.
    await runCommand(page, "Bedside: Mark AI Text Reviewed");
    await until(
      () => markedText(page),
      (t) => t === "",
      "the mark to go once reviewed",
    );
  });
});
