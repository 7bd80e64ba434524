// Opens code-server's workbench in Debian's headless Chromium through playwright-core. Opening the
// page is what starts the extension host, so this is also how extension tests get run.
import * as fs from "node:fs";
import * as path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import type { CodeServerHandle } from "./codeServer";

export interface WorkbenchOptions {
  /** Absolute folder (on the server, i.e. this machine) to open as the workspace. */
  folder: string;
  /** Absolute path of an extension folder to load as under development (F5 style). */
  extensionDevelopmentPath?: string;
  /** Absolute path of a built test runner (.js file exporting run(), or its folder). */
  extensionTestsPath?: string;
  viewport?: { width: number; height: number };
  /** Page hooks VS Code calls when started with enable-smoke-test-driver; exposed before the page loads. */
  automation?: AutomationHooks;
}

export interface AutomationHooks {
  /**
   * Every workbench log entry (VS Code's logger passes the message and its arguments as one array);
   * while extension tests run this includes the extension host's console output.
   */
  onLog(level: string, args: unknown[]): void;
  /** The extension host exited after running extension tests (0 = the runner's run() resolved). */
  onExit(code: number, logs: ReadonlyArray<{ relativePath: string; contents: string }>): void;
}

export interface Workbench {
  context: BrowserContext;
  page: Page;
  url: string;
  /** Uncaught page errors and console errors, for diagnosing a failing test. */
  pageErrors: string[];
  close(): Promise<void>;
}

export const chromiumPath = process.env.BEDSIDE_CHROMIUM ?? "/usr/bin/chromium";

const chromiumFlags = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** `http://127.0.0.1:PORT/?folder=...&payload=[[...]]`, URL-encoded. */
export function workbenchUrl(server: CodeServerHandle, options: Pick<WorkbenchOptions, "folder" | "extensionDevelopmentPath" | "extensionTestsPath">): string {
  const remote = (absolute: string): string => `vscode-remote://${server.remoteAuthority}${path.resolve(absolute)}`;
  const payload: Array<[string, string]> = [];
  if (options.extensionDevelopmentPath) payload.push(["extensionDevelopmentPath", remote(options.extensionDevelopmentPath)]);
  if (options.extensionTestsPath) payload.push(["extensionTestsPath", remote(options.extensionTestsPath)]);
  const query = new URLSearchParams({ folder: path.resolve(options.folder) });
  if (payload.length > 0) query.set("payload", JSON.stringify(payload));
  return `${server.url}/?${query.toString()}`;
}

export async function openWorkbench(server: CodeServerHandle, options: WorkbenchOptions): Promise<Workbench> {
  const profileDir = fs.mkdtempSync(path.join(server.scratchDir, "chromium-"));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: chromiumPath,
    headless: true,
    args: chromiumFlags,
    viewport: options.viewport ?? { width: 1400, height: 900 },
  });
  const close = async (): Promise<void> => {
    await context.close().catch(() => undefined);
    fs.rmSync(profileDir, { recursive: true, force: true });
  };
  try {
    if (options.automation) {
      const hooks = options.automation;
      await context.exposeFunction("codeAutomationLog", (level: string, message: unknown) => hooks.onLog(level, Array.isArray(message) ? message : [message]));
      await context.exposeFunction("codeAutomationExit", (code: number, logs?: Array<{ relativePath: string; contents: string }>) => hooks.onExit(code, logs ?? []));
    }
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.stack ?? error.message));
    page.on("console", (message) => {
      if (message.type() === "error") pageErrors.push(message.text());
    });
    const url = workbenchUrl(server, options);
    // Under load (a shared 2-core machine) the first page can take longer than Playwright's default 30 s.
    await page.goto(url, { waitUntil: "domcontentloaded", timeout: 120_000 });
    return { context, page, url, pageErrors, close };
  } catch (error) {
    await close();
    throw error;
  }
}
