// Starts code-server (VS Code 1.139's server and web workbench) on loopback in a throwaway scratch
// folder, so each run has fresh user settings, extensions and XDG state and leaves nothing behind.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import { cleanHostEnv } from "./hostEnv";
import { ensureCodeServer } from "./install";
import { projectRoot } from "./paths";

export interface CodeServerOptions {
  /** User settings written before start, on top of the quiet defaults below. */
  settings?: Record<string, unknown>;
  /** Extra environment for the server; the extension host (and our extension's worker) inherit it. */
  env?: Record<string, string>;
  /** Port on 127.0.0.1; a free one is picked when absent. */
  port?: number;
  /**
   * Keep user data and extensions here across runs (npm start) instead of in the throwaway scratch
   * folder; settings already there win over the quiet defaults, caller settings win over both.
   */
  profileDir?: string;
  /** Let the workbench reach the extension gallery (open-vsx.org); off by default, so a run makes no network call. */
  gallery?: boolean;
}

export interface CodeServerHandle {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** `127.0.0.1:PORT`: the authority of `vscode-remote://` URIs for files on the server. */
  remoteAuthority: string;
  /** Short scratch folder holding everything this server writes (under /tmp, see socket limit). */
  scratchDir: string;
  userDataDir: string;
  extensionsDir: string;
  /** code-server's stdout and stderr. */
  logFile: string;
  /** Kills the server's whole process group and removes the scratch folder. */
  stop(): Promise<void>;
}

/** Settings that keep a test workbench quiet and deterministic. */
export const quietSettings: Readonly<Record<string, unknown>> = {
  "files.autoSave": "off",
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "workbench.welcomePage.walkthroughs.openOnInstall": false,
  "workbench.secondarySideBar.defaultVisibility": "hidden",
  "chat.disableAIFeatures": true,
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "extensions.ignoreRecommendations": true,
  "telemetry.telemetryLevel": "off",
  "update.mode": "none",
  "security.workspace.trust.enabled": false,
};

/** Running servers and their scratch folders, cleaned up on exit if stop() was never reached. */
const live = new Map<ChildProcess, string>();

/** A port the OS considers free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error("no free port"))));
    });
  });
}

/** mkdtemp under /tmp: VS Code puts IPC sockets in these folders, and a socket path must stay < 108 bytes. */
export function makeScratchDir(prefix = "bsd-"): string {
  return fs.mkdtempSync(path.join(process.platform === "win32" ? (process.env.TEMP ?? "C:\\Temp") : "/tmp", prefix));
}

/** One GET without keep-alive (an idle keep-alive socket would hold our process open for seconds). */
function httpStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on("timeout", () => request.destroy(new Error("timeout")));
    request.on("error", reject);
  });
}

async function waitForHttp(url: string, child: ChildProcess, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`code-server exited (${child.exitCode ?? child.signalCode}) before answering.\n${tail(logFile)}`);
    }
    const status = await httpStatus(`${url}/healthz`).catch(() => 0);
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`code-server did not answer on ${url} within ${timeoutMs} ms.\n${tail(logFile)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** The settings among these that this extension's package.json declares with machine scope. */
function machineScoped(settings: Record<string, unknown>): Record<string, unknown> {
  const manifest = JSON.parse(fs.readFileSync(path.join(projectRoot, "package.json"), "utf8")) as {
    contributes?: { configuration?: { properties?: Record<string, { scope?: string }> } | { properties?: Record<string, { scope?: string }> }[] };
  };
  const sections = [manifest.contributes?.configuration ?? []].flat();
  const scopes = new Map<string, string | undefined>(sections.flatMap((section) => Object.entries(section.properties ?? {}).map(([key, value]) => [key, value.scope] as const)));
  return Object.fromEntries(Object.entries(settings).filter(([key]) => /^machine/.test(scopes.get(key) ?? "")));
}

function writeUserSettings(file: string, settings: Record<string, unknown>, defaults: Record<string, unknown> = quietSettings): void {
  let existing: Record<string, unknown> = {};
  if (fs.existsSync(file)) {
    try {
      existing = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    } catch {
      return; // JSON with comments from a person's edit: theirs, leave it as it is
    }
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify({ ...defaults, ...existing, ...settings }, null, 2)}\n`);
}

let exitHooksInstalled = false;
// The server runs in its own process group (so stop() can take its children down with it), which also
// means a Ctrl-C in the terminal does not reach it: kill what is still running when we exit.
function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on("exit", () => {
    for (const [child, scratchDir] of live) {
      killGroup(child, "SIGKILL");
      if (!process.env.BEDSIDE_KEEP_SCRATCH) fs.rmSync(scratchDir, { recursive: true, force: true });
    }
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    if (process.listenerCount(signal) === 0) process.once(signal, () => process.exit(130));
  }
}

export async function startCodeServer(options: CodeServerOptions = {}): Promise<CodeServerHandle> {
  const { node, codeServer } = await ensureCodeServer();
  const port = options.port ?? (await freePort());
  const scratchDir = makeScratchDir();
  const dirs = {
    userData: path.join(options.profileDir ?? scratchDir, "user-data"),
    extensions: path.join(options.profileDir ?? scratchDir, "extensions"),
    config: path.join(scratchDir, "xdg-config"),
    data: path.join(scratchDir, "xdg-data"),
    tmp: path.join(scratchDir, "tmp"),
  };
  for (const dir of Object.values(dirs)) fs.mkdirSync(dir, { recursive: true });
  writeUserSettings(path.join(dirs.userData, "User", "settings.json"), options.settings ?? {});
  // code-server is a remote window: settings with machine scope (bedside.model.path, ...) are read from the
  // machine's settings there, and their user values are ignored once the workbench's configuration arrives.
  const machine = machineScoped(options.settings ?? {});
  if (Object.keys(machine).length > 0) writeUserSettings(path.join(dirs.userData, "Machine", "settings.json"), machine, {});
  // An explicit config file, so a user's ~/.config/code-server/config.yaml (password, cert) never applies.
  const configFile = path.join(scratchDir, "config.yaml");
  fs.writeFileSync(configFile, "auth: none\ncert: false\n");

  const url = `http://127.0.0.1:${port}`;
  const args = [
    codeServer,
    "--config",
    configFile,
    "--auth",
    "none",
    "--bind-addr",
    `127.0.0.1:${port}`,
    "--user-data-dir",
    dirs.userData,
    "--extensions-dir",
    dirs.extensions,
    "--disable-telemetry",
    "--disable-update-check",
    "--disable-workspace-trust",
    "--ignore-last-opened",
    // Lets the workbench URL's payload carry extensionDevelopmentPath/extensionTestsPath, and exposes
    // window.codeAutomationLog/codeAutomationExit; code-server 4.139 passes it through as-is.
    "--vscode-option",
    "enable-smoke-test-driver",
  ];
  const logFile = path.join(scratchDir, "server.log");
  const log = fs.openSync(logFile, "a");
  const env = cleanHostEnv({
    XDG_CONFIG_HOME: dirs.config,
    XDG_DATA_HOME: dirs.data,
    TMPDIR: dirs.tmp,
    // code-server's product.json points at open-vsx.org; an empty gallery turns the queries off.
    ...(options.gallery ? {} : { EXTENSIONS_GALLERY: "{}" }),
    ...options.env,
  });
  installExitHooks();
  const child = spawn(node, args, { cwd: scratchDir, env, detached: true, stdio: ["ignore", log, log] });
  fs.closeSync(log);
  live.set(child, scratchDir);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      killGroup(child, "SIGTERM");
      const killed = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000).unref())]);
      if (!killed) killGroup(child, "SIGKILL");
    }
    killGroup(child, "SIGKILL"); // stragglers in the group (extension host, file watcher, pty host)
    live.delete(child);
    if (!process.env.BEDSIDE_KEEP_SCRATCH) fs.rmSync(scratchDir, { recursive: true, force: true });
  };

  try {
    await waitForHttp(url, child, logFile, 60_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    port,
    remoteAuthority: `127.0.0.1:${port}`,
    scratchDir,
    userDataDir: dirs.userData,
    extensionsDir: dirs.extensions,
    logFile,
    stop,
  };
}
