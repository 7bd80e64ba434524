// Draft from Note… as a clinician sees it, in real Chromium against code-server, with scripted models
// (chatScriptedModel.ts) whose answers are known:
// 1. A sample note, the command from the palette, After-Visit Summary picked: the draft opens beside the
//    note with the dose the model invented (50 mg; the note says 5 mg) highlighted and listed at the foot;
//    the list item goes to the highlight, "Show in note" selects the note's 5 mg.
//    Screenshot: test/e2e/screenshots/documents-draft-flagged.png.
// 2. A note carrying the XSS suite's vectors (test/e2e/xssVectors.ts), drafted by models that copy them into
//    the draft, a group per model (a field holds 400 characters): every vector shown as text, none ran, no
//    request left code-server. Screenshot: test/e2e/screenshots/documents-draft-xss.png.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { FrameLocator, Page } from "playwright-core";
import { cpuModelSettings, openFileInEditor, saveScreenshot, startDevWorkbench, typeCommand, waitForElement, type DevWorkbench } from "../support/vscodeHost/workbench";
import { startTrapServer, type TrapServer } from "../support/trapServer";
import { DRAFT_SAMPLE_NOTE, writeInventedDoseModel } from "../support/draftSample";
import { scriptPieces, writeScriptedChatModel } from "./chatScriptedModel";
import { loadXssVectors, marker, payloadNote, XSS_GLOBAL, type XssVector } from "./xssVectors";

const ACTIVE = "script, iframe, frame, object, embed, style, link, base, meta, form, img, svg, math, video, audio, source, marquee, noscript, input, textarea, body, a";

const newestWebview = (page: Page): FrameLocator => page.frameLocator("iframe.webview.ready").last().frameLocator("iframe#active-frame");

/** Groups of vectors whose JSON fits one 400-character field, ASCII only (the grammar bans other bytes). */
function vectorGroups(vectors: readonly XssVector[]): XssVector[][] {
  const groups: XssVector[][] = [];
  let current: XssVector[] = [];
  const text = (g: readonly XssVector[]): string => g.map((v) => v.text).join(" ");
  for (const v of vectors) {
    if (!/^[\x20-\x7e]*$/.test(v.text) || v.text.length > 380) continue;
    if (current.length > 0 && text([...current, v]).length > 380) {
      groups.push(current);
      current = [];
    }
    current.push(v);
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

describe("Bedside Draft from Note in the browser", function () {
  let dev: DevWorkbench;
  let scratch: string;
  let trapServer: TrapServer | undefined;
  const dialogs: string[] = [];
  const requests: string[] = [];

  before(async function () {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "bedside-documents-e2e-"));
    const workspace = path.join(scratch, "notes");
    fs.mkdirSync(workspace);
    fs.writeFileSync(path.join(workspace, "cough.note"), DRAFT_SAMPLE_NOTE);
    // The XSS note and template are there from the start (quick open finds files it has indexed).
    trapServer = await startTrapServer();
    fs.writeFileSync(path.join(workspace, "portal-paste.note"), payloadNote(loadXssVectors(trapServer.url)));
    fs.mkdirSync(path.join(workspace, ".bedside", "templates"), { recursive: true });
    fs.writeFileSync(
      path.join(workspace, ".bedside", "templates", "portal-summary.md"),
      "---\ntitle: Portal Summary\n---\n# Portal summary\n{{messages: The portal messages, as written.}}\n",
    );
    const model = await writeInventedDoseModel(path.join(scratch, "invents-a-dose.gguf"));
    dev = await startDevWorkbench({
      folder: workspace,
      settings: { ...cpuModelSettings(model, 2048), "bedside.completion.enabled": false },
      viewport: { width: 1440, height: 900 },
    });
    dev.page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    dev.workbench.context.on("request", (request) => requests.push(request.url()));
  });

  afterEach(async function () {
    if (this.currentTest?.state === "failed" && dev) await saveScreenshot(dev.page, `documents-failed-${this.currentTest.title.slice(0, 40)}`).catch(() => undefined);
  });

  after(async function () {
    await dev?.close();
    trapServer?.close();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it("drafts an after-visit summary beside the note with the invented dose highlighted and listed", async function () {
    const { page } = dev;
    await openFileInEditor(page, "cough.note", "CHIEF COMPLAINT");
    await typeCommand(page, "Bedside: Draft from Note", "Draft from Note");
    await waitForElement(page.locator(".quick-input-list .monaco-list-row", { hasText: "After-Visit Summary" }), "the document types");
    await page.locator(".quick-input-widget input").fill("After-Visit");
    await page.keyboard.press("Enter");
    const view = newestWebview(page);
    await waitForElement(view.locator('button[data-id="rerun"]'), "the draft to finish", 180_000);
    const mark = await waitForElement(view.locator("mark.flag", { hasText: "50 mg" }), "the invented dose highlighted");
    const item = await waitForElement(view.locator("li.flag-item button.goto", { hasText: "50 mg is not in the note" }), "the invented dose listed");
    const draftText = await view.locator("article.draft").innerText();
    assert.match(draftText, /^# After-Visit Summary/);
    assert.ok(draftText.includes("Keep taking lisinopril 50 mg daily."));
    assert.match(await view.locator(".grade").innerText(), /Reading grade \d/);
    await item.click();
    assert.ok(await mark.evaluate((m) => m.classList.contains("current")), "the list item goes to the highlight");
    await page.waitForTimeout(300);
    const file = await saveScreenshot(page, "documents-draft-flagged");
    const index = await item.getAttribute("data-id");
    await view.locator(`button[data-id="near-${index?.replace("goto-", "")}"]`).click();
    const selection = page.locator('.statusbar-item[id="status.editor.selection"]');
    await waitForElement(selection.filter({ hasText: "(4 selected)" }), "the note's 5 mg selected");
    console.log(`      draft with "50 mg" flagged; screenshot ${file}`);
  });

  it("shows XSS vectors a model copies from the note as text, and runs none of them", async function () {
    const { page } = dev;
    assert.ok(trapServer);
    const vectors = loadXssVectors(trapServer.url);
    const groups = vectorGroups(vectors);
    const covered = groups.flat();
    assert.ok(covered.length >= 40, `most vectors fit a field (${covered.length} of ${vectors.length})`);
    // One template with one field (written in before()): each model copies its group of vectors into it.
    await openFileInEditor(page, "portal-paste.note", "HPI");
    const machineSettings = path.join(dev.server.userDataDir, "Machine", "settings.json");
    const shownText: string[] = [];
    for (const [g, group] of groups.entries()) {
      const json = JSON.stringify({ text: group.map((v) => v.text).join(" ") });
      const model = await writeScriptedChatModel(path.join(scratch, `xss-${g}.gguf`), {
        script: scriptPieces(json, 8),
        width: 192,
        layers: 2,
        ffn: 128,
        contextLength: 4096,
        chatTemplate: false,
        name: `bedside-xss-${g}`,
      });
      const settings = JSON.parse(fs.readFileSync(machineSettings, "utf8")) as Record<string, unknown>;
      fs.writeFileSync(machineSettings, JSON.stringify({ ...settings, "bedside.model.path": model, "bedside.engine.contextSize": 4096 }, null, 2));
      let text = "";
      // The settings file is watched: a run may start before the new model is configured; run again then.
      for (let attempt = 0; attempt < 4 && !group.every((v) => text.includes(marker(v.n))); attempt++) {
        await page.waitForTimeout(1_000);
        await typeCommand(page, "Bedside: Draft from Note", "Draft from Note");
        await waitForElement(page.locator(".quick-input-list .monaco-list-row", { hasText: "Portal Summary" }), "the workspace template");
        await page.locator(".quick-input-widget input").fill("Portal Summary");
        await page.keyboard.press("Enter");
        const view = newestWebview(page);
        await waitForElement(view.locator(".note-name", { hasText: "portal-paste.note" }), "the draft of the payload note", 60_000);
        await waitForElement(view.locator('button[data-id="rerun"]'), "the draft to finish", 240_000);
        text = await view.locator("article.draft").innerText();
        const found = await view.locator("#app").evaluate(
          (app, active) => ({
            active: [...app.querySelectorAll(active)].map((e) => e.outerHTML.slice(0, 80)),
            handlers: [...app.querySelectorAll("*")].filter((e) => [...e.attributes].some((a) => /^(on|style$|formaction$|srcdoc$)/i.test(a.name))).length,
          }),
          ACTIVE,
        );
        assert.deepEqual(found.active, [], `group ${g}: no active element from a payload`);
        assert.equal(found.handlers, 0, `group ${g}: no handler or style attribute`);
      }
      const missingHere = group.filter((v) => !text.includes(marker(v.n))).map((v) => v.n);
      assert.deepEqual(missingHere, [], `group ${g}: every vector shown as text`);
      shownText.push(text);
      // Hover and click through the view: a live handler would fire now.
      const view = newestWebview(page);
      for (const m of await view.locator("mark.flag").all()) if (await m.isVisible()) await m.hover();
    }
    await page.waitForTimeout(1_000);
    const ran: string[] = [];
    for (const frame of page.frames())
      ran.push(...(await frame.evaluate((pattern) => Object.keys(window).filter((k) => new RegExp(pattern).test(k)), XSS_GLOBAL.source).catch(() => [] as string[])));
    assert.deepEqual(ran, [], "no vector ran in any frame");
    assert.deepEqual(trapServer.hits, [], "nothing reached the loopback trap");
    const leaving = requests.filter((url) => url.startsWith(trapServer!.url) || url.includes("xss_"));
    assert.deepEqual(leaving, [], "no request for a payload's URL");
    assert.deepEqual(dialogs, [], "no dialog opened");
    const file = await saveScreenshot(page, "documents-draft-xss");
    console.log(`      ${covered.length} of ${vectors.length} vectors (the ASCII ones that fit a field) in ${groups.length} drafts, all shown as text; screenshot ${file}`);
  });
});
