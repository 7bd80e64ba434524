// What an end-to-end test needs to drive Bedside in a real workbench: code-server with the extension
// under development (this repository) on the sample notes, plus small, named ways to find the parts of
// VS Code's UI that Bedside contributes to and to keep screenshots a person can look at.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Frame, Locator, Page } from "playwright-core";
import { startCodeServer, type CodeServerHandle } from "./codeServer";
import { openWorkbench, type Workbench } from "./openWorkbench";
import { projectRoot, sampleNotesDir } from "./paths";

export interface DevWorkbenchOptions {
  settings?: Record<string, unknown>;
  /** Environment for the extension host, e.g. { BEDSIDE_MODEL: '/tmp/tiny.gguf' }. */
  env?: Record<string, string>;
  /** Workspace folder; default media/sample-notes. */
  folder?: string;
  viewport?: { width: number; height: number };
}

export interface DevWorkbench {
  server: CodeServerHandle;
  workbench: Workbench;
  page: Page;
  /** Date.now() when the workbench page was opened: the extension host starts from here. */
  openedAt: number;
  close(): Promise<void>;
}

export const screenshotsDir = path.join(projectRoot, "test", "e2e", "screenshots");

/** Fails early, with the fix, when the extension has not been built. */
export function assertExtensionBuilt(): void {
  const manifest = JSON.parse(fs.readFileSync(path.join(projectRoot, "package.json"), "utf8")) as { main?: string };
  const main = path.join(projectRoot, manifest.main ?? "dist/extension.js");
  if (!fs.existsSync(main)) throw new Error(`${path.relative(projectRoot, main)} is missing: build the extension first (node esbuild.mjs)`);
}

/** Starts code-server and opens the workbench with this repository's extension loaded for development. */
export async function startDevWorkbench(options: DevWorkbenchOptions = {}): Promise<DevWorkbench> {
  assertExtensionBuilt();
  const server = await startCodeServer({ settings: options.settings, env: options.env });
  try {
    const openedAt = Date.now();
    const workbench = await openWorkbench(server, {
      folder: options.folder ?? sampleNotesDir,
      extensionDevelopmentPath: projectRoot,
      viewport: options.viewport,
    });
    await waitForWorkbench(workbench.page);
    return {
      server,
      workbench,
      page: workbench.page,
      openedAt,
      close: async () => {
        await workbench.close();
        await server.stop();
      },
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/** Waits until the workbench's parts are laid out (the page loads well before that). */
export async function waitForWorkbench(page: Page, timeoutMs = 90_000): Promise<void> {
  await waitForElement(page.locator(".monaco-workbench .part.activitybar"), "the activity bar", timeoutMs);
  await waitForElement(page.locator(".monaco-workbench .part.statusbar"), "the status bar", timeoutMs);
}

/** Waits for a locator to be visible; the error names what was awaited rather than a CSS selector. */
export async function waitForElement(locator: Locator, description: string, timeoutMs = 60_000): Promise<Locator> {
  try {
    await locator.first().waitFor({ state: "visible", timeout: timeoutMs });
  } catch (error) {
    throw new Error(`Timed out after ${timeoutMs} ms waiting for ${description}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
  }
  return locator.first();
}

/** The activity-bar icon of a view container contributed by an extension (`viewsContainers.activitybar[].id`). */
export function activityBarIcon(page: Page, viewContainerId: string): Locator {
  return page.locator(`.part.activitybar a.action-label[class*="activity-workbench-view-extension-${viewContainerId}-"]`);
}

/** A status-bar item an extension created with createStatusBarItem(id, ...); the DOM id is `<extension id>.<id>`. */
export function statusBarItem(page: Page, itemId: string): Locator {
  return page.locator(`.part.statusbar .statusbar-item[id$=".${itemId}"]`);
}

/** The primary side bar, with the title of the view container it shows. */
export function sideBar(page: Page): Locator {
  return page.locator(".part.sidebar");
}

/** Runs a command by its palette title (e.g. "Bedside: Show Log") through the command palette. */
export async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press("F1");
  const input = await waitForElement(page.locator(".quick-input-widget input"), "the command palette");
  await input.fill(`>${title}`);
  await waitForElement(page.locator(".quick-input-list .monaco-list-row", { hasText: title }), `the command "${title}"`);
  await page.keyboard.press("Enter");
}

/**
 * Opens a workspace file through Quick Open (Ctrl+P) as a person does, and returns the editor's text area
 * once a line containing `showing` is drawn.
 */
export async function openFileInEditor(page: Page, fileName: string, showing: string): Promise<Locator> {
  await page.keyboard.press("Control+P");
  const input = await waitForElement(page.locator(".quick-input-widget input"), "quick open");
  await input.fill(fileName);
  await waitForElement(page.locator(".quick-input-list .monaco-list-row", { hasText: fileName }), `${fileName} in quick open`);
  await page.keyboard.press("Enter");
  return waitForElement(page.locator(".monaco-editor .view-lines", { hasText: showing }), `${fileName} in an editor`);
}

/** Saves a PNG under test/e2e/screenshots/ (gitignored) and returns its path. */
export async function saveScreenshot(page: Page, name: string, target?: Locator): Promise<string> {
  fs.mkdirSync(screenshotsDir, { recursive: true });
  const file = path.join(screenshotsDir, `${name.replace(/[^\w.-]+/g, "-")}.png`);
  if (target) await target.screenshot({ path: file });
  else await page.screenshot({ path: file });
  return file;
}

/**
 * What Bedside shows about itself (status-bar text and tooltip, the last lines of its log), for a failure
 * message: a timeout alone does not say whether the model was loading, idle or in error.
 */
export async function bedsideDiagnostics(page: Page): Promise<string> {
  const parts: string[] = [];
  try {
    const item = statusBarItem(page, "bedside.status").first();
    parts.push(`status bar: "${(await item.innerText({ timeout: 2_000 })).trim()}" (${(await item.getAttribute("aria-label", { timeout: 2_000 })) ?? "no label"})`);
  } catch {
    parts.push("status bar: no Bedside item");
  }
  try {
    await runCommand(page, "Bedside: Show Log");
    const lines = page.locator(".part.panel .monaco-editor .view-lines");
    await lines.first().waitFor({ state: "visible", timeout: 10_000 });
    parts.push(`log:\n${(await lines.first().innerText()).split("\n").slice(-30).join("\n")}`);
  } catch (error) {
    parts.push(`log: not readable (${error instanceof Error ? error.message.split("\n")[0] : String(error)})`);
  }
  return parts.join("\n");
}

/**
 * Runs a command from the palette by typing (as a person does) part of its title. Right after start the
 * palette can answer before the extension's commands are listed, and does not refresh: close and retry.
 */
export async function typeCommand(page: Page, typed: string, row: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press("F1");
    await waitForElement(page.locator(".quick-input-widget input"), "the command palette");
    await page.keyboard.type(typed, { delay: 20 });
    const found = await page
      .locator(".quick-input-list .monaco-list-row", { hasText: row })
      .first()
      .waitFor({ timeout: 5_000 })
      .then(
        () => true,
        () => false,
      );
    if (found) break;
    await page.keyboard.press("Escape");
    if (attempt >= 12) throw new Error(`the command "${row}" is not in the palette`);
    await page.waitForTimeout(2_000);
  }
  await page.keyboard.press("Enter");
}

/** The chat webview's page (the inner frame of VS Code's webview host). */
export async function chatFrame(page: Page): Promise<Frame> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    for (const frame of page.frames()) {
      if (!frame.parentFrame()?.url().includes("/webview/browser/pre/")) continue;
      // Another webview (a panel being replaced) may go away while it is looked at: it is not the chat.
      const isChat = await frame
        .locator('textarea[aria-label="Message"]')
        .count()
        .then(
          (n) => n > 0,
          () => false,
        );
      if (isChat) return frame;
    }
    if (Date.now() > deadline) throw new Error("no chat webview frame");
    await page.waitForTimeout(100);
  }
}

/** Settings that run `model` on the CPU with one thread (what every e2e suite uses on a 2-core machine). */
export function cpuModelSettings(model: string, contextSize = 512): Record<string, unknown> {
  return { "bedside.model.path": model, "bedside.engine.gpu": "cpu", "bedside.engine.threads": 1, "bedside.engine.contextSize": contextSize };
}
