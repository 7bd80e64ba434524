// `npm start` (after a build): opens VS Code with Bedside loaded from this repository, on the sample notes
// (or the folder given as the first argument).
//
// With a desktop `code` on PATH: `code --extensionDevelopmentPath=<repo> <folder>` (an Extension
// Development Host window). Otherwise code-server on 127.0.0.1 (PORT, else 8080, else a free port), and
// a printed URL to open in a browser; it runs until Ctrl-C. BEDSIDE_START_HOST=desktop|code-server
// forces one. The environment (BEDSIDE_MODEL included) reaches the extension host either way.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { freePort, startCodeServer } from "./vscodeHost/codeServer";
import { hostCacheDir, projectRoot, sampleNotesDir } from "./vscodeHost/paths";
import { workbenchUrl } from "./vscodeHost/openWorkbench";
import { assertExtensionBuilt } from "./vscodeHost/workbench";

/** A desktop VS Code CLI on PATH; code-server's own `code` shim (in its terminals) does not count. */
function desktopCode(): string | undefined {
  const name = process.platform === "win32" ? "code.cmd" : "code";
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir && fs.existsSync(candidate) && !candidate.includes(`${path.sep}remote-cli${path.sep}`)) return candidate;
  }
  return undefined;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

async function choosePort(): Promise<number> {
  if (process.env.PORT) {
    const port = Number(process.env.PORT);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`PORT=${process.env.PORT} is not a port number`);
    if (!(await portIsFree(port))) throw new Error(`PORT=${port} is in use on 127.0.0.1`);
    return port;
  }
  return (await portIsFree(8080)) ? 8080 : freePort();
}

function startDesktop(code: string, folder: string): number {
  console.log(`[start] ${code} --extensionDevelopmentPath=${projectRoot} ${folder}`);
  const result = spawnSync(code, [`--extensionDevelopmentPath=${projectRoot}`, folder], {
    stdio: "inherit",
    shell: process.platform === "win32",
  });
  return result.status ?? 1;
}

async function startBrowserHost(folder: string): Promise<void> {
  const port = await choosePort();
  // Our own handlers first, so the harness does not install its exit-at-once ones.
  let stopServer: () => Promise<void> = async () => undefined;
  const stop = (): void => {
    console.log("\n[start] stopping code-server");
    stopServer().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  // A lasting profile, so settings chosen in the UI (the model file, say) survive a restart.
  const server = await startCodeServer({ port, profileDir: path.join(hostCacheDir, "start-profile"), gallery: true });
  stopServer = server.stop;
  const url = workbenchUrl(server, { folder, extensionDevelopmentPath: projectRoot });
  console.log(`\n[start] Bedside in VS Code (code-server), extension loaded from ${projectRoot}:\n\n  ${url}\n`);
  console.log(`[start] after a rebuild, run "Developer: Reload Window" in the page; log: ${server.logFile}`);
  console.log(`[start] BEDSIDE_MODEL=${process.env.BEDSIDE_MODEL ?? "(unset)"}; Ctrl-C stops.`);
  // Keep the process alive until a signal arrives.
  setInterval(() => undefined, 1 << 30);
}

async function main(): Promise<void> {
  assertExtensionBuilt();
  const folder = path.resolve(process.argv[2] ?? sampleNotesDir);
  if (!fs.existsSync(folder)) throw new Error(`no such folder: ${folder}`);
  const forced = process.env.BEDSIDE_START_HOST;
  const code = forced === "code-server" ? undefined : desktopCode();
  if (forced === "desktop" && !code) throw new Error("BEDSIDE_START_HOST=desktop but no `code` command is on PATH");
  if (code) {
    process.exitCode = startDesktop(code, folder);
    return;
  }
  await startBrowserHost(folder);
}

main().catch((error: unknown) => {
  console.error(`[start] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
