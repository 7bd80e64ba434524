// Ask the Literature as a clinician sees it, in real Chromium against code-server, with a generated
// model (random weights: the answer's words are nonsense; the sources and citations are real).
// A small library (the first 60 PubMedQA abstracts, from ../shared/data, in a temp folder) is imported
// through the import dialog, a question is asked from the palette, and the answer panel shows the
// answer with numbered citations and source cards. Screenshot: test/e2e/screenshots/literature-answer.png.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { FrameLocator, Page } from "playwright-core";
import { ensureTestModel } from "../support/gguf/testModels";
import { sharedDataDir } from "../support/sharedData";
import { activityBarIcon, cpuModelSettings, saveScreenshot, startDevWorkbench, typeCommand, waitForElement, type DevWorkbench } from "../support/vscodeHost/workbench";
import { skipBecause } from "../support/skip";

/** The answer panel's document (the newest webview: the Chat view in the side bar is one too). */
function panelFrame(page: Page): FrameLocator {
  return page.frameLocator("iframe.webview.ready").last().frameLocator("iframe#active-frame");
}

describe("Bedside literature answer in the browser", function () {
  let dev: DevWorkbench;
  let workspace: string;
  const shared = sharedDataDir();

  before(async function () {
    if (!shared || !fs.existsSync(path.join(shared, "pubmedqa", "corpus.jsonl"))) skipBecause(this, "../shared/data/pubmedqa/corpus.jsonl is absent (the shared evaluation data)");
    const model = await ensureTestModel("tiny");
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), "bedside-lit-e2e-"));
    const lines = fs
      .readFileSync(path.join(shared!, "pubmedqa", "corpus.jsonl"), "utf8")
      .split("\n")
      .slice(0, 60)
      .join("\n");
    fs.writeFileSync(path.join(workspace, "pubmedqa-sample.jsonl"), `${lines}\n`);
    dev = await startDevWorkbench({
      settings: {
        ...cpuModelSettings(model),
        "bedside.completion.enabled": false,
        "bedside.literature.maxAnswerTokens": 160,
        "files.simpleDialog.enable": true,
      },
      viewport: { width: 1400, height: 900 },
    });
  });

  after(async function () {
    await dev?.close();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it("imports abstracts, answers a question with numbered citations and source cards", async function () {
    const { page } = dev;
    await typeCommand(page, "Bedside: Import Lit", "Import Literature").catch(async (error: unknown) => {
      await saveScreenshot(page, "literature-import-failed");
      throw error;
    });
    const importButton = await waitForElement(page.locator(".quick-input-widget .monaco-button", { hasText: "Import" }), "the import dialog");
    await waitForElement(page.locator(".quick-input-list .monaco-list-row", { hasText: "README.md" }), "the dialog listing a folder");
    const input = page.locator(".quick-input-widget input").first();
    await input.fill(path.join(workspace, "pubmedqa-sample.jsonl"));
    // The dialog's list follows the typed path: accept only once the file itself is the item.
    await waitForElement(page.locator(".quick-input-list .monaco-list-row", { hasText: "pubmedqa-sample.jsonl" }), "the file in the import dialog");
    await page.waitForTimeout(500);
    await input.press("End");
    await importButton.first().click();
    await page.waitForTimeout(500);
    await activityBarIcon(page, "bedside").click();
    await waitForElement(page.locator(".monaco-list-row", { hasText: "pubmedqa-sample.jsonl" }), "the imported file in the Literature view", 90_000).catch(
      async (error: unknown) => {
        await saveScreenshot(page, "literature-import-failed");
        throw error;
      },
    );
    assert.match(await page.locator(".monaco-list-row", { hasText: "pubmedqa-sample.jsonl" }).first().innerText(), /60 records/);

    await typeCommand(page, "Bedside: Ask the Lit", "Ask the Literature");
    const question = await waitForElement(page.locator(".quick-input-widget input"), "the question box");
    await question.fill("Do mitochondria play a role in remodelling lace plant leaves during programmed cell death?");
    await page.keyboard.press("Enter");
    const panel = panelFrame(page);
    await waitForElement(panel.locator(".status-done"), "the finished answer", 180_000);
    const cards = panel.locator(".source-card");
    assert.ok((await cards.count()) >= 1);
    const first = await cards.first().innerText();
    assert.match(first, /PMID 21645374/, "the first card is the lace plant abstract");
    assert.match(first, /mitochondria/i, "the card shows the passage used");
    const citations = panel.locator("a.citation");
    assert.ok((await citations.count()) >= 1, "the answer has numbered citations");
    assert.equal(await citations.first().getAttribute("href"), "#source-1");
    await page.waitForTimeout(300);
    const file = await saveScreenshot(page, "literature-answer");
    console.log(`      ${await cards.count()} source card(s), ${await citations.count()} citation(s); screenshot ${file}`);
  });
});
