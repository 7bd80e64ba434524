// The differential panel as a clinician sees it, in real Chromium against code-server, with a generated
// model (random weights: the diagnosis names are nonsense, the findings are the note's own words).
// 1. A sample note, the panel opened from the editor's title button beside it, a finding clicked: the
//    editor selects those words. Screenshot: test/e2e/screenshots/ddx-panel-beside-note.png.
// 2. A note full of HTML and script payloads: whatever the panel shows of it is text; no element, handler
//    or script from the note exists or runs. Screenshot: test/e2e/screenshots/ddx-panel-inert-payloads.png.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { FrameLocator, Page } from "playwright-core";
import { ensureTestModel } from "../support/gguf/testModels";
import { sampleNotesDir } from "../support/vscodeHost/paths";
import { cpuModelSettings, runCommand, saveScreenshot, startDevWorkbench, waitForElement, type DevWorkbench } from "../support/vscodeHost/workbench";

const PAYLOAD_NOTE = [
  "HPI:",
  'Patient typed <script>window.__bedsidePwned = 1; document.title = "PWNED"</script> in the portal with fever.',
  '<img src=x onerror="window.__bedsidePwned = 2"> rash on both arms and legs.',
  'Neck stiffness <svg onload="window.__bedsidePwned = 3"></svg> since this morning.',
  "",
  "PHYSICAL EXAMINATION:",
  '- Photophobia <iframe src="javascript:window.__bedsidePwned = 4"></iframe> on exam',
  '- Petechiae <a href="javascript:window.__bedsidePwned = 5" onclick="window.__bedsidePwned = 6">click me</a> on the legs',
  '- Confusion <style>body { display: none }</style> and <b onmouseover="window.__bedsidePwned = 7">drowsiness</b>',
  "",
].join("\n");

/** The panel's document: code-server puts each webview in an iframe with the content in an inner frame. */
function panelFrame(page: Page): FrameLocator {
  return page.frameLocator("iframe.webview.ready").frameLocator("iframe#active-frame");
}

async function openNote(page: Page, name: string, firstWords: string): Promise<void> {
  await page.keyboard.press("Control+P");
  const input = await waitForElement(page.locator(".quick-input-widget input"), "quick open");
  await input.fill(name);
  await waitForElement(page.locator(".quick-input-list .monaco-list-row", { hasText: name }), `${name} in quick open`);
  await page.keyboard.press("Enter");
  await waitForElement(page.locator(".monaco-editor .view-lines", { hasText: firstWords }), `${name} in an editor`);
}

describe("Bedside differential panel in the browser", function () {
  let dev: DevWorkbench;
  let workspace: string;
  const dialogs: string[] = [];

  before(async function () {
    const model = await ensureTestModel("tiny");
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), "bedside-ddx-e2e-"));
    fs.copyFileSync(path.join(sampleNotesDir, "history-and-physical.note"), path.join(workspace, "history-and-physical.note"));
    fs.writeFileSync(path.join(workspace, "payloads.note"), PAYLOAD_NOTE);
    dev = await startDevWorkbench({
      folder: workspace,
      settings: {
        ...cpuModelSettings(model),
        "bedside.completion.enabled": false,
      },
      viewport: { width: 1440, height: 900 },
    });
    dev.page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
  });

  afterEach(async function () {
    if (this.currentTest?.state === "failed" && dev) await saveScreenshot(dev.page, `ddx-failed-${this.currentTest.title.slice(0, 40)}`).catch(() => undefined);
  });

  after(async function () {
    await dev?.close();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
  });

  it("opens beside the note from the title button, and a clicked finding is selected in the editor", async function () {
    const { page } = dev;
    await openNote(page, "history-and-physical.note", "CHIEF COMPLAINT");
    const button = await waitForElement(page.locator('.editor-actions .action-label[aria-label*="Differential Diagnosis"]'), "the Differential Diagnosis title button");
    await button.click();
    const panel = panelFrame(page);
    await waitForElement(panel.locator('button[data-id="rerun"]'), "the first run to finish", 180_000);
    // Run again with the panel loaded: the step and the text the model is writing stream into it, with Cancel.
    await panel.locator('button[data-id="rerun"]').click();
    const progress = await waitForElement(panel.locator("section.progress"), "the streamed progress view", 30_000);
    await waitForElement(panel.locator('button[data-id="cancel"]'), "the Cancel button");
    const step = (await progress.innerText()).split("\n")[0] ?? "";
    const during = await saveScreenshot(page, "ddx-progress", page.locator(".part.editor"));
    assert.match(step, /…$/);
    await waitForElement(panel.locator('button[data-id="rerun"]'), "the run to finish", 180_000);
    await waitForElement(panel.locator("li.diagnosis"), "a diagnosis in the panel");
    const finding = await waitForElement(panel.locator("button.finding"), "a finding in the panel");
    const words = (await finding.textContent()) ?? "";
    assert.ok(words.length > 0);
    assert.ok(fs.readFileSync(path.join(workspace, "history-and-physical.note"), "utf8").includes(words), `"${words}" is in the note`);
    await page.waitForTimeout(300);
    const file = await saveScreenshot(page, "ddx-panel-beside-note");

    await finding.click();
    const selection = page.locator('.statusbar-item[id="status.editor.selection"]');
    await waitForElement(selection.filter({ hasText: "selected" }), "a selection in the status bar");
    const status = (await selection.first().innerText()).replace(/\s+/g, " ");
    const selected = Number(/\((\d+) selected\)/.exec(status)?.[1]);
    assert.equal(selected, words.length, `the editor selects the ${words.length} characters of "${words}" (${status})`);
    const clicked = await saveScreenshot(page, "ddx-finding-selected");
    console.log(`      progress "${step}"; finding "${words}" selected (${status}); screenshots ${during}, ${file}, ${clicked}`);
  });

  it("renders a note full of HTML and script payloads as inert text", async function () {
    const { page } = dev;
    await openNote(page, "payloads.note", "Patient typed");
    await runCommand(page, "Bedside: Differential Diagnosis");
    const panel = panelFrame(page);
    await waitForElement(panel.locator(".note-name", { hasText: "payloads.note" }), "the panel for the payload note", 60_000);
    await waitForElement(panel.locator('button[data-id="rerun"]'), "the run to finish", 180_000);
    await waitForElement(panel.locator("li.diagnosis"), "a diagnosis in the panel");
    const texts = await panel.locator("button.finding").allTextContents();
    assert.ok(texts.length > 0, "findings are shown");
    // Every phrase of this note carries markup, so every finding shown must show it as text.
    assert.ok(
      texts.every((t) => /[<>]/.test(t)),
      `markup shown as text: ${JSON.stringify(texts)}`,
    );
    const inside = await panel.locator("#app").evaluate((app) => ({
      elements: [...app.querySelectorAll("script, img, svg, iframe, style, a, b, object, embed, link")].map((e) => e.tagName),
      handlers: [...app.querySelectorAll("*")].filter((e) => [...e.attributes].some((a) => a.name.startsWith("on"))).length,
      pwned: (window as unknown as { __bedsidePwned?: number }).__bedsidePwned,
      title: document.title,
      visible: getComputedStyle(document.body).display !== "none",
    }));
    assert.deepEqual(inside.elements, [], "no element from the note exists in the panel");
    assert.equal(inside.handlers, 0, "no event handler attribute exists in the panel");
    assert.equal(inside.pwned, undefined, "no script from the note ran in the panel");
    assert.notEqual(inside.title, "PWNED");
    assert.ok(inside.visible, "no style from the note applied");
    // Hover and click the findings too: a live handler would fire now.
    for (const finding of await panel.locator("li.diagnosis button.finding").all()) await finding.hover();
    await panel.locator("li.diagnosis button.finding").first().click();
    assert.equal(await page.evaluate(() => (window as unknown as { __bedsidePwned?: number }).__bedsidePwned), undefined);
    assert.equal(await panel.locator("#app").evaluate(() => (window as unknown as { __bedsidePwned?: number }).__bedsidePwned), undefined);
    assert.deepEqual(dialogs, [], "no dialog opened");
    const file = await saveScreenshot(page, "ddx-panel-inert-payloads");
    console.log(`      ${texts.length} findings shown as text, e.g. ${JSON.stringify(texts[0])}; screenshot ${file}`);
  });
});
