// Runs a bundled mocha suite inside a real VS Code extension host (code-server + headless Chromium),
// the way @vscode/test-web does: the workbench URL's payload names the extension and the test runner,
// and the page's codeAutomationLog/codeAutomationExit hooks carry the output and the exit code back.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { format } from "node:util";
import { startCodeServer, type CodeServerHandle } from "./codeServer";
import { openWorkbench, type Workbench } from "./openWorkbench";
import { hostCacheDir } from "./paths";
import type { SkippedTest } from "../skip";

export interface ExtensionTestOptions {
  /** Folder of the extension under test (holds its package.json). */
  extensionDevelopmentPath: string;
  /** Built test runner exporting run(): a .js file, or a folder with index.js. */
  extensionTestsPath: string;
  /** Folder opened as the workspace. */
  workspace: string;
  settings?: Record<string, unknown>;
  env?: Record<string, string>;
  /** Whole run, from server start to the extension host's exit. Default 10 minutes. */
  timeoutMs?: number;
  /** Where suite lines go as they arrive; default process.stdout. */
  output?: (line: string) => void;
  /** A profile (user-data/ and extensions/) prepared beforehand, e.g. with an installed .vsix; default a fresh scratch one. */
  profileDir?: string;
}

export interface ExtensionTestResult {
  passed: number;
  failed: number;
  /** Tests the suite skipped, with the reason each gave (test/support/skip.ts). */
  skips: SkippedTest[];
  /** The extension host's exit code; 124 when the run timed out, 1 when it could not start. */
  exitCode: number;
  /** Everything logged: suite output and the workbench's own log. */
  log: string;
  /** Set when the run failed: a folder with VS Code's and code-server's logs. */
  logsDir?: string;
}

/** Printed by test/integration/index.ts after the run. */
const RESULTS_PREFIX = "BEDSIDE_RESULTS ";

export function parseResults(log: string): { passed: number; failed: number; skips: SkippedTest[] } | undefined {
  const line = log
    .split("\n")
    .reverse()
    .find((l) => l.startsWith(RESULTS_PREFIX));
  if (!line) return undefined;
  try {
    const parsed = JSON.parse(line.slice(RESULTS_PREFIX.length)) as { passed?: unknown; failed?: unknown; skips?: unknown };
    const skips = Array.isArray(parsed.skips)
      ? parsed.skips.filter(
          (s): s is SkippedTest => typeof s === "object" && s !== null && typeof (s as SkippedTest).title === "string" && typeof (s as SkippedTest).reason === "string",
        )
      : [];
    if (typeof parsed.passed === "number" && typeof parsed.failed === "number") return { passed: parsed.passed, failed: parsed.failed, skips };
  } catch {
    // a malformed line counts as missing
  }
  return undefined;
}

interface RunState {
  lines: string[];
  vscodeLogs: ReadonlyArray<{ relativePath: string; contents: string }>;
}

function saveLogs(state: RunState, server: CodeServerHandle | undefined, workbench: Workbench | undefined): string {
  const dir = path.join(hostCacheDir, "logs", new Date().toISOString().replace(/[:.]/g, "-"));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "run.log"), `${state.lines.join("\n")}\n`);
  for (const { relativePath, contents } of state.vscodeLogs) {
    const file = path.join(dir, "vscode", relativePath.replace(/\.\.(\/|\\)/g, ""));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, contents);
  }
  if (server && fs.existsSync(server.logFile)) fs.copyFileSync(server.logFile, path.join(dir, "code-server.log"));
  if (workbench?.pageErrors.length) fs.writeFileSync(path.join(dir, "page-errors.log"), `${workbench.pageErrors.join("\n\n")}\n`);
  return dir;
}

/**
 * Workbench log lines that can arrive while the suite runs and never concern it; they stay in the saved
 * log. Extension host console lines cannot be told from workbench lines by level, only by content.
 */
const workbenchChatter: readonly RegExp[] = [
  /^Ignoring fetching additional builtin extensions from gallery/,
  /^Updating additional builtin extensions cache/,
  /^\[AccountPolicyGate\]/,
  /^(\[warn\] )?Creation of workbench contribution '.*' took \d+ms/,
];

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export async function runExtensionTests(options: ExtensionTestOptions): Promise<ExtensionTestResult> {
  const timeoutMs = options.timeoutMs ?? 10 * 60_000;
  const output = options.output ?? ((line: string) => process.stdout.write(`${line}\n`));
  const verbose = Boolean(process.env.BEDSIDE_TEST_VERBOSE);
  const note = (text: string): void => output(`[vscode-host] ${text}`);
  // Starts the runner's own lines; see `say` in test/integration/index.ts.
  const marker = `‹${randomBytes(3).toString("hex")}› `;
  const state: RunState = { lines: [], vscodeLogs: [] };
  let server: CodeServerHandle | undefined;
  let workbench: Workbench | undefined;
  let exitCode: number;

  // The suite's window opens at the runner's first marked line and closes at the results line; in it,
  // everything logged is the suite's (tests' and the extension's console output, extension errors).
  // Outside it, the workbench's own log goes to the saved log only (BEDSIDE_TEST_VERBOSE prints it).
  let suiteRunning = false;
  let suiteStartedAt: number | undefined;
  const onLog = (level: string, args: unknown[]): void => {
    const [first, ...rest] = args;
    const marked = typeof first === "string" && first.startsWith(marker);
    let text: string;
    if (marked) {
      if (!suiteRunning && suiteStartedAt === undefined) suiteStartedAt = Date.now();
      const head = first.slice(marker.length);
      text = head === "" ? format(...rest) : format(head, ...rest);
      suiteRunning = !text.startsWith(RESULTS_PREFIX);
    } else {
      text = format(...args);
      text = suiteRunning ? (level === "error" || level === "warn" ? `[${level}] ${text}` : text) : `[workbench ${level}] ${text}`;
    }
    state.lines.push(text);
    const chatter = !marked && workbenchChatter.some((pattern) => pattern.test(text));
    if (marked || (suiteRunning && !chatter) || verbose) output(text);
  };

  try {
    const started = Date.now();
    server = await startCodeServer({
      settings: options.settings,
      ...(options.profileDir ? { profileDir: options.profileDir } : {}),
      env: { ...options.env, BEDSIDE_TEST_LOG_MARKER: marker },
    });
    note(`code-server on ${server.url} after ${seconds(Date.now() - started)}`);
    const openedAt = Date.now();
    let resolveExit!: (code: number) => void;
    const exited = new Promise<number>((resolve) => (resolveExit = resolve));
    workbench = await openWorkbench(server, {
      folder: options.workspace,
      extensionDevelopmentPath: options.extensionDevelopmentPath,
      extensionTestsPath: options.extensionTestsPath,
      automation: {
        onLog,
        onExit: (code, logs) => {
          state.vscodeLogs = logs;
          resolveExit(code);
        },
      },
    });
    const remaining = Math.max(1, timeoutMs - (Date.now() - started));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<number>((resolve) => (timer = setTimeout(() => resolve(124), remaining)));
    exitCode = await Promise.race([exited, timedOut]);
    clearTimeout(timer);
    if (suiteStartedAt !== undefined) {
      note(`suite started ${seconds(suiteStartedAt - openedAt)} after opening the workbench; ran ${seconds(Date.now() - suiteStartedAt)}`);
    }
    if (exitCode === 124) {
      const message = `Extension tests did not finish within ${Math.round(timeoutMs / 1000)} s.`;
      state.lines.push(message);
      output(message);
    }
  } catch (error) {
    exitCode = 1;
    const message = `Extension tests could not run: ${error instanceof Error ? error.message : String(error)}`;
    state.lines.push(message);
    output(message);
  }

  if (suiteStartedAt === undefined && !verbose) {
    // Nothing of the suite arrived: the workbench's own log is the only clue, so show its end.
    output("[vscode-host] the suite never started; last workbench log lines:");
    for (const line of state.lines.slice(-20)) output(`  ${line}`);
  }
  const counts = parseResults(state.lines.join("\n")) ?? { passed: 0, failed: 1, skips: [] };
  // A non-zero exit with no failing test still fails the run (e.g. run() threw after the report).
  if (exitCode !== 0 && counts.failed === 0) counts.failed = 1;
  const logsDir = counts.failed > 0 ? saveLogs(state, server, workbench) : undefined;
  const stopping = Date.now();
  await workbench?.close();
  await server?.stop();
  note(`stopped the workbench and code-server in ${seconds(Date.now() - stopping)}`);
  return { ...counts, exitCode, log: state.lines.join("\n"), logsDir };
}
