// XSS vectors (test/fixtures/xss/vectors.txt, OWASP filter-evasion style) through every way text reaches a
// Bedside webview, in real Chromium against code-server: a note (the differential panel, and the chat's
// question), a model's reply (chat, and a literature answer) and library abstracts (source cards, and the
// Search Literature list). The models are generated with known replies that carry the vectors
// (chatScriptedModel.ts): one writes them all as a chat reply, one as the JSON an answer is. Each vector
// sets window.__xss_<n> if it runs, or requests <trap>/xss_<n>... from a loopback server that counts hits.
// Asserted after each surface: no __xss global in any frame, no trap hit, no request to any origin but
// code-server's, no dialog, no active element or handler attribute in the rendered text, and the vectors
// shown as text (their xss_<n> markers are visible). All vectors go in one note/reply/library at once.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Frame, FrameLocator, Page } from "playwright-core";
import { projectRoot } from "../support/vscodeHost/paths";
import {
  activityBarIcon,
  chatFrame,
  cpuModelSettings,
  openFileInEditor,
  saveScreenshot,
  startDevWorkbench,
  typeCommand,
  waitForElement,
  type DevWorkbench,
} from "../support/vscodeHost/workbench";
import { startTrapServer, type TrapServer } from "../support/trapServer";
import { scriptPieces, writeScriptedChatModel } from "./chatScriptedModel";
import { answerReply, chatReply, libraryJsonl, loadXssVectors, marker, payloadNote, XSS_GLOBAL, type XssVector } from "./xssVectors";

/** Elements none of Bedside's webviews draw in rendered text: any of them there came from a payload. */
const ACTIVE =
  "script, iframe, frame, object, embed, style, link, base, meta, form, img, svg, math, video, audio, source, marquee, noscript, x, input, textarea, body, table[background]";

interface Inertness {
  active: string[];
  handlers: number;
  scriptLinks: string[];
  text: string;
}

/** What a rendered region holds: active elements, on* attributes, script-ish links, and its text. */
async function inspect(frame: FrameLocator | Frame, selector: string): Promise<Inertness> {
  const regions = frame.locator(selector);
  const found: Inertness = { active: [], handlers: 0, scriptLinks: [], text: "" };
  for (const region of await regions.all()) {
    const one = await region.evaluate(
      (root, active) => ({
        active: [...root.querySelectorAll(active)].map((e) => e.outerHTML.slice(0, 80)),
        handlers: [root, ...root.querySelectorAll("*")].filter((e) =>
          [...e.attributes].some(
            (a) => a.name.toLowerCase().startsWith("on") || a.name.toLowerCase() === "style" || a.name.toLowerCase() === "formaction" || a.name.toLowerCase() === "srcdoc",
          ),
        ).length,
        scriptLinks: [...root.querySelectorAll("a[href], [xlink\\:href]")]
          .map((a) => a.getAttribute("href") ?? a.getAttribute("xlink:href") ?? "")
          .filter((h) => !/^(#|https?:\/\/)/i.test(h.trim())),
        text: (root as HTMLElement).innerText,
      }),
      ACTIVE,
    );
    found.active.push(...one.active);
    found.handlers += one.handlers;
    found.scriptLinks.push(...one.scriptLinks);
    found.text += `${one.text}\n`;
  }
  return found;
}

function assertInert(what: string, found: Inertness): void {
  assert.deepEqual(found.active, [], `${what}: no active element from a payload`);
  assert.equal(found.handlers, 0, `${what}: no handler, style, formaction or srcdoc attribute`);
  assert.deepEqual(found.scriptLinks, [], `${what}: no javascript:, data: or other non-web link`);
}

/**
 * A webview's own files (`localResourceRoots`: media/ only). VS Code names them on the vscode-cdn.net
 * resource host, and the webview's service worker answers them from code-server: nothing leaves.
 */
function isLocalWebviewResource(url: string): boolean {
  const parsed = new URL(url);
  return parsed.hostname.endsWith(".vscode-resource.vscode-cdn.net") && decodeURIComponent(parsed.pathname).startsWith(`${path.join(projectRoot, "media")}/`);
}

/** Vectors whose marker is not in the text shown. */
const missing = (text: string, vectors: readonly XssVector[]): number[] => vectors.filter((v) => !text.includes(marker(v.n))).map((v) => v.n);

describe("Bedside webviews against XSS vectors", function () {
  let dev: DevWorkbench;
  let trapServer: TrapServer | undefined;
  let trap: string;
  let vectors: XssVector[];
  let scratch: string;
  let answerModel: string;
  let answerCarried: XssVector[];
  const requests: string[] = [];
  const dialogs: string[] = [];
  const cspReports: string[] = [];
  const shown = new Map<string, number>();

  /** The newest Bedside webview's document (code-server nests it in two iframes). */
  const newestWebview = (page: Page): FrameLocator => page.frameLocator("iframe.webview.ready").last().frameLocator("iframe#active-frame");

  /** Every frame's __xss globals: a vector that ran anywhere (workbench, webview host, webview, nested frame). */
  async function ranAnywhere(page: Page): Promise<string[]> {
    const ran: string[] = [];
    for (const frame of page.frames()) {
      const globals = await frame.evaluate((pattern) => Object.keys(window).filter((k) => new RegExp(pattern).test(k)), XSS_GLOBAL.source).catch(() => [] as string[]);
      ran.push(...globals.map((g) => `${g} in ${frame.url().slice(0, 80)}`));
    }
    return ran;
  }

  /** The checks every surface ends with. */
  async function nothingRanOrLeft(page: Page, what: string): Promise<void> {
    await page.waitForTimeout(1_000); // time for anything that would load or fire to try
    assert.deepEqual(await ranAnywhere(page), [], `${what}: no vector ran in any frame`);
    assert.deepEqual(trapServer?.hits ?? [], [], `${what}: nothing reached the loopback trap`);
    const leaving = requests.filter(
      (url) => url.startsWith(trap) || url.includes("xss_") || (/^[a-z]+:\/\//i.test(url) && !url.startsWith(dev.server.url) && !isLocalWebviewResource(url)),
    );
    assert.deepEqual(leaving, [], `${what}: no request to another origin or for a payload's URL`);
    assert.deepEqual(dialogs, [], `${what}: no dialog opened`);
    // The note changed by nothing the test did not do (it types nothing into it).
    assert.equal(await page.locator(".tabs-container .tab.dirty").count(), 0, `${what}: no note was edited`);
    assert.equal(fs.readFileSync(path.join(scratch, "notes", "portal-paste.note"), "utf8"), payloadNote(vectors), `${what}: the note on disk is unchanged`);
  }

  before(async function () {
    trapServer = await startTrapServer();
    trap = trapServer.url;
    vectors = loadXssVectors(trap);
    assert.ok(vectors.length >= 50, `at least 50 vectors (${vectors.length})`);

    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "bedside-xss-e2e-"));
    const workspace = path.join(scratch, "notes");
    fs.mkdirSync(workspace);
    fs.writeFileSync(path.join(workspace, "portal-paste.note"), payloadNote(vectors));
    fs.writeFileSync(path.join(scratch, "portal-library.jsonl"), libraryJsonl(vectors).text);
    // Two models with known replies: pieces of 8 characters keep the scripts short (one token each).
    const chatScript = scriptPieces(chatReply(vectors), 8);
    const answer = answerReply(vectors);
    answerCarried = answer.carried;
    const shape = { width: 640, layers: 2, ffn: 256, contextLength: 4096 };
    assert.ok(chatScript.length < shape.width, `the chat script (${chatScript.length} pieces) fits the model's width`);
    const chatModel = await writeScriptedChatModel(path.join(scratch, "xss-chat.gguf"), { script: chatScript, ...shape });
    answerModel = await writeScriptedChatModel(path.join(scratch, "xss-answer.gguf"), { script: scriptPieces(answer.json, 8), ...shape, name: "bedside-scripted-answer" });

    dev = await startDevWorkbench({
      folder: workspace,
      settings: {
        ...cpuModelSettings(chatModel, 4096),
        "bedside.completion.enabled": false,
        "bedside.chat.maxTokens": chatScript.length + 50,
        "bedside.chat.temperature": 0,
        "bedside.literature.maxAnswerTokens": 1200,
        // Every record matches the question; a low bar keeps the answer from being refused as off-topic.
        "bedside.literature.relevanceThreshold": 0.05,
        "files.simpleDialog.enable": true,
      },
      viewport: { width: 1400, height: 900 },
    });
    dev.workbench.context.on("request", (request) => requests.push(request.url()));
    dev.page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    dev.page.on("console", (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) cspReports.push(message.text().slice(0, 160));
    });
  });

  afterEach(async function () {
    if (this.currentTest?.state === "failed" && dev) await saveScreenshot(dev.page, `xss-failed-${this.currentTest.title.slice(0, 30)}`).catch(() => undefined);
  });

  after(async function () {
    await dev?.close();
    trapServer?.close();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
    const total = [...shown.values()].reduce((a, b) => a + b, 0);
    console.log(
      `      ${vectors?.length ?? 0} vectors; shown as text: ${[...shown].map(([k, v]) => `${k} ${v}`).join(", ")} (${total} renderings); ${requests.length} page requests, none leaving code-server; ${cspReports.length} CSP refusals logged`,
    );
  });

  it(`a note carrying every vector: the differential panel shows its findings as text and runs nothing`, async function () {
    const { page } = dev;
    await openFileInEditor(page, "portal-paste.note", "HPI");
    await typeCommand(page, "Bedside: Differential Diagnosis", "Differential Diagnosis");
    const panel = newestWebview(page);
    await waitForElement(panel.locator(".note-name", { hasText: "portal-paste.note" }), "the panel for the payload note", 60_000);
    await waitForElement(panel.locator('button[data-id="rerun"]'), "the run to finish", 180_000);
    const found = await inspect(panel, "#app");
    assertInert("differential panel", found);
    // Hover and click every finding: a live handler would fire now.
    const findings = panel.locator("button.finding");
    for (const finding of await findings.all()) if (await finding.isVisible()) await finding.hover();
    if ((await findings.count()) > 0) await findings.first().click();
    const texts = await findings.allTextContents();
    const note = payloadNote(vectors);
    for (const t of texts) assert.ok(note.includes(t.trim()), `the finding ${JSON.stringify(t)} is the note's own text`);
    shown.set("differential findings", texts.length);
    console.log(`      differential: ${texts.length} finding(s) quoted from the note, e.g. ${JSON.stringify(texts[0] ?? "")}`);
    await saveScreenshot(page, "xss-differential");
    await nothingRanOrLeft(page, "differential panel");
  });

  it("the note and the model reply in chat: every vector shown as text, none ran", async function () {
    const { page } = dev;
    await typeCommand(page, "Bedside: New Chat", "New Chat");
    const frame = await chatFrame(page);
    const input = frame.locator('textarea[aria-label="Message"]');
    await input.waitFor({ state: "visible", timeout: 60_000 });
    // The question is the first third of the note (the note itself goes along as context, trimmed to fit).
    const question = vectors
      .slice(0, 25)
      .map((v) => v.text)
      .join("\n");
    await input.fill(`What do these portal messages mean?\n${question}`);
    await input.press("Enter");
    const reply = frame.locator("article.turn.assistant").last();
    await reply.locator("button", { hasText: "Copy" }).waitFor({ state: "visible", timeout: 120_000 });
    const asked = await inspect(frame, "article.turn.user");
    assertInert("chat question", asked);
    assert.deepEqual(missing(asked.text, vectors.slice(0, 25)), [], "every vector in the question is shown as text");
    const answered = await inspect(frame, "article.turn.assistant .body");
    assertInert("chat reply", answered);
    assert.deepEqual(missing(answered.text, vectors), [], "every vector in the reply is shown as text");
    shown.set("chat question", 25);
    shown.set("chat reply", vectors.length);
    // Hover over every link (a live handler would fire). Clicking one is the clinician choosing to open it:
    // VS Code then asks before opening it outside (loopback, as here, counts as trusted), so no click here.
    for (const link of await reply.locator(".body a").all()) await link.hover().catch(() => undefined);
    await saveScreenshot(page, "xss-chat");
    await nothingRanOrLeft(page, "chat");
  });

  it("library abstracts and a model answer: source cards, search results and the answer show the vectors as text", async function () {
    const { page } = dev;
    // The answer model, chosen as a user does (Bedside: Choose Model File…, VS Code's simple file dialog).
    await typeCommand(page, "Bedside: Choose Model", "Choose Model File");
    const useButton = await waitForElement(page.locator(".quick-input-widget .monaco-button", { hasText: "Use this model" }), "the model file dialog");
    await waitForElement(page.locator(".quick-input-list .monaco-list-row", { hasText: "portal-paste.note" }), "the dialog listing the workspace");
    const modelInput = page.locator(".quick-input-widget input").first();
    await modelInput.fill(answerModel);
    await waitForElement(page.locator(".quick-input-list .monaco-list-row", { hasText: path.basename(answerModel) }), "the model in the dialog");
    await page.waitForTimeout(500);
    await modelInput.press("End");
    await useButton.first().click();
    await waitForElement(page.locator(".part.sidebar .monaco-list-row", { hasText: "bedside-scripted-answer" }), "the answer model in the Model view", 60_000);

    await typeCommand(page, "Bedside: Import Lit", "Import Literature");
    const importButton = await waitForElement(page.locator(".quick-input-widget .monaco-button", { hasText: "Import" }), "the import dialog");
    // The dialog lists the workspace once it is ready; a path typed before that is overwritten.
    await waitForElement(page.locator(".quick-input-list .monaco-list-row", { hasText: "portal-paste.note" }), "the dialog listing the workspace");
    const pathInput = page.locator(".quick-input-widget input").first();
    await pathInput.fill(path.join(scratch, "portal-library.jsonl"));
    await waitForElement(page.locator(".quick-input-list .monaco-list-row", { hasText: "portal-library.jsonl" }), "the file in the import dialog");
    await page.waitForTimeout(500);
    await pathInput.press("End");
    await importButton.first().click();
    // The Bedside side bar may be open already (the chat is in it): clicking its icon then would close it.
    if (!(await page.locator(".part.sidebar .pane-header", { hasText: "Literature" }).first().isVisible())) await activityBarIcon(page, "bedside").click();
    const records = libraryJsonl(vectors).records;
    const row = await waitForElement(page.locator(".part.sidebar .monaco-list-row", { hasText: "portal-library.jsonl" }), "the imported file in the Literature view", 90_000);
    assert.match(await row.innerText(), new RegExp(`${records} records`));

    // Search Literature: titles and passages in VS Code's own list.
    await typeCommand(page, "Bedside: Search Lit", "Search Literature");
    // Type only once the search box is open: keys typed before that go to the note in the editor.
    await waitForElement(page.locator(".quick-input-widget .quick-input-title", { hasText: "Search Literature" }), "the Search Literature box");
    await page.locator(".quick-input-widget input").first().fill("meningitis fever neck stiffness");
    await waitForElement(page.locator(".quick-input-list .monaco-list-row", { hasText: "Bacterial meningitis" }), "search results");
    await page.waitForTimeout(500);
    const listText = await page.locator(".quick-input-list").innerText();
    const inList = vectors.filter((v) => listText.includes(marker(v.n))).length;
    assert.ok(inList >= records, `the search list shows the vectors in titles as text (${inList})`);
    shown.set("search list", inList);
    await page.keyboard.press("Escape");
    await nothingRanOrLeft(page, "search list");

    // Ask the Literature: the answer (the scripted model's JSON, rendered as markdown) and the source cards.
    let answerText = "";
    for (let attempt = 1; attempt <= 3; attempt++) {
      await typeCommand(page, "Bedside: Ask the Lit", "Ask the Literature");
      const box = await waitForElement(page.locator(".quick-input-widget input"), "the question box");
      await box.fill("Bacterial meningitis in adults with fever and neck stiffness");
      await page.keyboard.press("Enter");
      const panel = newestWebview(page);
      await waitForElement(panel.locator(".status-done, .status.error, .status.warning"), "the finished answer", 180_000);
      answerText = (await inspect(panel, ".answer")).text;
      // The model setting is read when the engine next loads: until then the first model may answer.
      if (missing(answerText, answerCarried).length === 0) break;
      await saveScreenshot(page, `xss-answer-attempt-${attempt}`);
      await page.waitForTimeout(3_000);
    }
    const panel = newestWebview(page);
    const answer = await inspect(panel, ".answer");
    assertInert("answer", answer);
    assert.deepEqual(missing(answer.text, answerCarried), [], `every vector the answer carries (${answerCarried.length}) is shown as text`);
    const cards = await inspect(panel, ".source-card");
    assertInert("source cards", cards);
    const inCards = vectors.filter((v) => cards.text.includes(marker(v.n))).length;
    assert.ok(inCards >= 5, `the source cards show abstracts' vectors as text (${inCards})`);
    shown.set("answer", answerCarried.length);
    shown.set("source cards", inCards);
    for (const link of await panel.locator("a").all()) await link.hover().catch(() => undefined);
    await saveScreenshot(page, "xss-answer");
    await nothingRanOrLeft(page, "answer panel");
  });
});
