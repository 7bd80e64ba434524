// The chat view in a real workbench (code-server + Debian's Chromium): a question streams a reply from a
// generated model, Stop ends a reply mid-stream, "Insert into note" edits the note in one undo step,
// HTML and script in the model's reply and in the note render as inert text with no request leaving the
// page, and a window reload brings the history back. The model is generated with a known reply (see
// chatScriptedModel.ts), which carries the payloads; every URL in them points at a loopback server that
// counts hits. Screenshots: test/e2e/screenshots/chat-*.png.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { FrameLocator, Page } from "playwright-core";
import { sampleNotesDir } from "../support/vscodeHost/paths";
import {
  chatFrame,
  cpuModelSettings,
  openFileInEditor,
  saveScreenshot,
  startDevWorkbench,
  waitForElement,
  waitForWorkbench,
  type DevWorkbench,
} from "../support/vscodeHost/workbench";
import { startTrapServer, type TrapServer } from "../support/trapServer";
import { scriptPieces, writeScriptedChatModel } from "./chatScriptedModel";

/** The model's reply: a plain-language plan, then HTML, script and markdown that would fetch from `trap` if it ran. */
function scriptedReply(trap: string): string {
  return [
    "**Plan in plain words**",
    "",
    "- Keep taking your metformin and lisinopril every morning.",
    "- Check your blood pressure at home twice a week and bring the readings.",
    "- We will repeat your kidney blood test in three months.",
    "",
    `<img src="${trap}/reply-img.png" onerror="fetch('${trap}/reply-onerror')">`,
    `<script>fetch('${trap}/reply-script')</script>`,
    `![chart](${trap}/reply-markdown-image.png)`,
    `<iframe src="${trap}/reply-iframe"></iframe>`,
    `<style>@import url("${trap}/reply-style.css");</style>`,
    `[see results](javascript:fetch('${trap}/reply-js-link'))`,
    "",
    "Call the clinic if the headaches get worse.",
  ].join("\n");
}

const NOTE_PAYLOAD = (trap: string): string =>
  [
    "PROGRESS NOTE (synthetic)",
    "",
    "SUBJECTIVE:",
    `Patient pasted this from a portal: <img src="${trap}/note-img.png" onerror="fetch('${trap}/note-onerror')"><script>fetch('${trap}/note-script')</script>`,
    "",
    "PLAN:",
    "Review portal messages.",
    "",
  ].join("\n");

describe("Bedside chat beside a note", function () {
  let dev: DevWorkbench;
  let trapServer: TrapServer | undefined;
  let trap: string;
  const pageRequests: string[] = [];
  let workspace: string;
  let fullReply: string;

  const chat = (page: Page): FrameLocator => page.frameLocator("iframe.webview.ready").frameLocator("#active-frame");
  const replies = (page: Page) => chat(page).locator("article.turn.assistant");

  async function ask(page: Page, question: string): Promise<void> {
    const input = await waitForElement(chat(page).locator('textarea[aria-label="Message"]'), "the chat message box", 60_000);
    const before = await replies(page).count();
    await input.fill(question);
    await input.press("Enter");
    // Wait for this question's reply to exist: until then "the last reply" is the previous, finished one,
    // and reading its Copy button and then the (by then new, empty) last body mixed two replies.
    await waitForElement(replies(page).nth(before), "the new reply", 60_000);
  }

  /** Waits until the newest reply has finished (its Copy button shows) and returns its text. */
  async function finishedReply(page: Page, timeoutMs = 120_000): Promise<string> {
    const last = replies(page).last();
    await waitForElement(last.locator("button", { hasText: "Copy" }), "the finished reply", timeoutMs);
    return last.locator(".body").innerText();
  }

  /**
   * Runs a palette command, trying again while the workbench is still registering the extension's
   * commands (a palette opened before that never lists them).
   */
  async function runCommand(page: Page, title: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      await page.keyboard.press("F1");
      const input = await waitForElement(page.locator(".quick-input-widget input"), "the command palette");
      await input.fill(`>${title}`);
      try {
        await waitForElement(page.locator(".quick-input-list .monaco-list-row", { hasText: title }), `the command "${title}"`, 5_000);
        await page.keyboard.press("Enter");
        return;
      } catch (error) {
        await page.keyboard.press("Escape");
        if (attempt >= 12) throw error;
      }
    }
  }

  /** Collapses the other Bedside views (Model, Literature) so the chat has the side bar's height. */
  async function collapseOtherViews(page: Page): Promise<void> {
    await waitForElement(page.locator('.part.sidebar .pane-header[aria-label^="Chat"]'), "the Chat view header");
    const headers = page.locator(".part.sidebar .pane-header");
    for (let i = 0; i < (await headers.count()); i++) {
      const header = headers.nth(i);
      if ((await header.getAttribute("aria-label"))?.startsWith("Chat")) continue;
      for (let tries = 0; tries < 5 && (await header.getAttribute("aria-expanded")) === "true"; tries++) {
        await header.click();
        await page.waitForTimeout(300);
      }
    }
  }

  const editorText = async (page: Page): Promise<string> => (await page.locator(".monaco-editor .view-lines").first().innerText()).replace(/\u00a0/g, " ");

  before(async function () {
    trapServer = await startTrapServer();
    trap = trapServer.url;

    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "bedside-chat-e2e-"));
    workspace = path.join(scratch, "notes");
    fs.mkdirSync(workspace);
    fs.copyFileSync(path.join(sampleNotesDir, "soap-follow-up.note"), path.join(workspace, "soap-follow-up.note"));
    fs.writeFileSync(path.join(workspace, "payload.note"), NOTE_PAYLOAD(trap));
    fullReply = scriptedReply(trap);
    // 12 layers of width 256 and a reply of ~200 tokens: a few seconds on one thread, long enough to stop it.
    const script = scriptPieces(fullReply);
    assert.ok(script.length < 255, `the script (${script.length} pieces) fits the model's width`);
    const model = await writeScriptedChatModel(path.join(scratch, "scripted-chat.gguf"), { script, width: 256, layers: 12, ffn: 1024, contextLength: 4096 });

    dev = await startDevWorkbench({
      folder: workspace,
      settings: {
        ...cpuModelSettings(model, 4096),
        "bedside.completion.enabled": false,
        "bedside.chat.maxTokens": 400,
        // Greedy decoding: the scripted model's reply is then the same on every run (the default 0.2 samples,
        // and a sampled end-of-text token once left the payload reply empty).
        "bedside.chat.temperature": 0,
      },
      viewport: { width: 1400, height: 860 },
    });
    dev.workbench.context.on("request", (request) => pageRequests.push(request.url()));
  });

  after(async function () {
    await dev?.close();
    trapServer?.close();
  });

  it("streams a reply to a question about the open note", async function () {
    const { page } = dev;
    await openFileInEditor(page, "soap-follow-up.note", "SUBJECTIVE");
    await runCommand(page, "Bedside: New Chat");
    await collapseOtherViews(page);
    // The open note is a chip the clinician can see (bedside.chat.context = note).
    await waitForElement(chat(page).locator(".chip", { hasText: "soap-follow-up.note" }), "the note chip");
    // Every change the page makes to the reply's text, recorded in the page itself.
    const frame = await chatFrame(page);
    await frame.evaluate(() => {
      const seen: number[] = [];
      (window as unknown as { replyLengths: number[] }).replyLengths = seen;
      new MutationObserver(() => {
        const bodies = document.querySelectorAll("article.turn.assistant .body");
        const last = bodies[bodies.length - 1];
        if (last && last.getAttribute("aria-busy") === "true") seen.push((last.textContent ?? "").length);
      }).observe(document.getElementById("app") as HTMLElement, { subtree: true, childList: true, characterData: true });
    });
    await ask(page, "Rephrase the plan for a patient letter.");
    const text = await finishedReply(page);
    const lengths = new Set((await frame.evaluate(() => (window as unknown as { replyLengths: number[] }).replyLengths)).filter((n) => n > 0));
    console.log(`      ${lengths.size} partial lengths seen while streaming; reply ${text.length} characters`);
    assert.ok(lengths.size >= 3, `the reply streamed (saw ${[...lengths].join(", ")})`);
    assert.match(text, /Keep taking your metformin and lisinopril every morning\./);
    assert.match(text, /Call the clinic if the headaches get worse\./);
    assert.match(await chat(page).locator(".model-line").innerText(), /chat template/);
    const user = chat(page).locator("article.turn.user").last();
    const userText = await user.textContent();
    assert.match(userText ?? "", /With soap-follow-up\.note/, await user.evaluate((e) => e.outerHTML));
    const file = await saveScreenshot(page, "chat-beside-note");
    console.log(`      screenshot ${file}`);
  });

  it("stops a reply mid-stream with the Stop button, keeping what was written", async function () {
    const { page } = dev;
    // From the keyboard: Shift+Enter starts a new line, Enter sends.
    const input = chat(page).locator('textarea[aria-label="Message"]');
    await input.click();
    await page.keyboard.type("Draft the plan again,");
    await page.keyboard.press("Shift+Enter");
    await page.keyboard.type("longer.");
    assert.equal(await input.inputValue(), "Draft the plan again,\nlonger.");
    await page.keyboard.press("Enter");
    const last = replies(page).last();
    const body = last.locator(".body");
    // Press Stop from inside the page the moment the first words show. A Playwright click is a round trip
    // from the test process through code-server's nested frames; on a fast machine the whole reply had
    // finished (and Stop was hidden again) before it landed, so the click is made by the page itself, on
    // the same button a clinician sees, in the same turn the first words are drawn.
    const frame = await chatFrame(page);
    // (A string, not a function: tsx wraps named inner functions in a `__name` helper the page does not have.)
    const pressed = (await frame.evaluate(`new Promise((resolve, reject) => {
      const app = document.getElementById('app');
      const timer = setTimeout(() => reject(new Error('no words of the second reply within 60 s')), 60000);
      let observer;
      const tryStop = () => {
        const bodies = document.querySelectorAll('article.turn.assistant .body');
        const text = bodies.length === 2 ? (bodies[1].textContent || '').trim() : '';
        if (text.length === 0) return false;
        const stop = [...document.querySelectorAll('button')].find((b) => (b.textContent || '').trim() === 'Stop');
        if (!stop) return false;
        const box = stop.getBoundingClientRect();
        const visible = box.width > 0 && box.height > 0 && getComputedStyle(stop).visibility !== 'hidden';
        stop.click();
        clearTimeout(timer);
        if (observer) observer.disconnect();
        resolve({ visible, label: stop.title, textBefore: text.length });
        return true;
      };
      if (!tryStop()) {
        observer = new MutationObserver(() => { tryStop(); });
        observer.observe(app, { subtree: true, childList: true, characterData: true });
      }
    })`)) as { visible: boolean; label: string; textBefore: number };
    assert.ok(pressed.visible, "the Stop button was on screen while the reply streamed");
    assert.match(pressed.label, /Escape/, "Stop names its key");
    await waitForElement(last.locator(".stopped-tag"), "the Stopped mark", 30_000);
    const kept = await body.innerText();
    await waitForElement(chat(page).locator("button", { hasText: "Send" }), "the Send button back");
    console.log(`      stopped after ${kept.length} characters`);
    assert.ok(kept.length > 0, "what was written is kept");
    assert.doesNotMatch(kept, /Call the clinic if the headaches get worse/, "the reply did not run to its end");
    const file = await saveScreenshot(page, "chat-stopped", page.locator(".part.sidebar"));
    console.log(`      screenshot ${file}`);
  });

  it("inserts a reply into the note at the cursor as one undo step", async function () {
    const { page } = dev;
    const editor = page.locator(".monaco-editor .view-lines").first();
    await editor.click();
    await page.keyboard.press("Control+End");
    const before = await editorText(page);
    assert.doesNotMatch(before, /Keep taking your metformin/);
    await replies(page).first().locator("button", { hasText: "Insert into note" }).click();
    await waitForElement(page.locator(".monaco-editor .view-line", { hasText: "Call the clinic if the headaches get worse." }), "the inserted reply in the note", 30_000);
    const after = await editorText(page);
    assert.match(after, /Keep taking your metformin and lisinopril every morning\./);
    const file = await saveScreenshot(page, "chat-inserted-into-note");
    console.log(`      screenshot ${file}`);
    // One undo takes the whole reply out again.
    await editor.click();
    await page.keyboard.press("Control+Z");
    // Read the note until the reply's lines are gone from the view, for up to 10 s (Monaco redraws lines in
    // passes; one read between them once saw part of the reply). Still there after that: undo took more than one step.
    let undone = await editorText(page);
    for (let waited = 0; waited < 10_000 && /Keep taking your metformin|Plan in plain words|Call the clinic/.test(undone); waited += 250) {
      await page.waitForTimeout(250);
      undone = await editorText(page);
    }
    assert.doesNotMatch(undone, /Keep taking your metformin|Plan in plain words/, "one undo step removed all of it");
    assert.match(undone, /PLAN:/);
    // Redo keeps it for the reload test (the note stays unsaved).
    await page.keyboard.press("Control+Shift+Z");
    await waitForElement(page.locator(".monaco-editor .view-line", { hasText: "Call the clinic if the headaches get worse." }), "the reply back after redo", 10_000);
  });

  it("renders HTML and script from the model and from the note as inert text, with no request leaving the page", async function () {
    const { page } = dev;
    await openFileInEditor(page, "payload.note", "PROGRESS NOTE");
    await page.locator(".monaco-editor .view-lines").first().click();
    await page.keyboard.press("Control+A");
    await runCommand(page, "Bedside: Add Selection to Chat");
    await waitForElement(chat(page).locator(".chip.selection"), "the selection chip");
    await waitForElement(chat(page).locator(".chip", { hasText: "payload.note" }), "the payload note chip");
    const requestsBefore = pageRequests.length;
    await ask(page, `What does this mean? <img src="${trap}/question-img.png" onerror="fetch('${trap}/question-onerror')"><script>fetch('${trap}/question-script')</script>`);
    const text = await finishedReply(page);
    await page.waitForTimeout(1500); // time for anything that would load to try

    const frame = chat(page);
    assert.equal(await frame.locator("#app img, #app script, #app iframe, #app object, #app embed, #app style, #app link, #app form").count(), 0, "no active element in the chat");
    assert.equal(await frame.locator('#app [onerror], #app [onload], #app a[href^="javascript:"]').count(), 0, "no handlers or script links");
    // The raw HTML is shown as text, so the clinician sees what the model wrote.
    assert.ok(text.includes(`<img src="${trap}/reply-img.png"`), "the reply shows the img tag as text");
    assert.ok(text.includes(`<script>fetch('${trap}/reply-script')</script>`), "the reply shows the script as text");
    const question = await frame.locator("article.turn.user").last().innerText();
    assert.ok(question.includes("<script>"), "the question shows its script tag as text");
    const chipTitle = await frame.locator(".chip.selection").getAttribute("title");
    assert.ok(chipTitle?.includes("<script>"), "the selection chip holds the note text as an attribute, not markup");

    const leaving = pageRequests.slice(requestsBefore).filter((url) => url.startsWith(trap) || !url.startsWith(dev.server.url));
    console.log(
      `      ${pageRequests.length - requestsBefore} page requests while the payloads rendered, ${leaving.length} leaving code-server; trap hits ${trapServer?.hits.length ?? 0}`,
    );
    assert.deepEqual(trapServer?.hits ?? [], [], "nothing reached the loopback trap");
    assert.deepEqual(leaving, [], "no request left for another origin");
    const file = await saveScreenshot(page, "chat-payloads-inert");
    console.log(`      screenshot ${file}`);
  });

  it("brings the conversation back after a window reload", async function () {
    const { page } = dev;
    const turnsBefore = await chat(page).locator("article.turn .body").allInnerTexts();
    const titleBefore = await chat(page).locator("#chat-select option:checked").innerText();
    await page.reload({ waitUntil: "domcontentloaded" });
    await waitForWorkbench(page);
    await runCommand(page, "Bedside: Open Chat…");
    await waitForElement(page.locator(".quick-input-list .monaco-list-row", { hasText: titleBefore }), "the chat in the history list");
    await page.keyboard.press("Enter");
    await collapseOtherViews(page);
    await waitForElement(chat(page).locator("article.turn.assistant .body", { hasText: "Call the clinic" }), "the restored reply", 60_000);
    const turnsAfter = await chat(page).locator("article.turn .body").allInnerTexts();
    assert.deepEqual(turnsAfter, turnsBefore);
    assert.equal(await chat(page).locator("article.turn.assistant.stopped").count(), 1, "the stopped reply is still marked");
    assert.deepEqual(trapServer?.hits ?? [], [], "nothing reached the trap after the reload either");
    const file = await saveScreenshot(page, "chat-after-reload");
    console.log(`      ${turnsAfter.length} turns restored; screenshot ${file}`);
  });
});
