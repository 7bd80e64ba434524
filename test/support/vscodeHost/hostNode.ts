// The Node 24 that runs code-server (it has node:sqlite, as the extension host of current VS Code releases
// does), installed under .cache/vscode-host if it is not there yet; a no-op when it is. Runs prepare.ts in
// its own process, so callers run as CommonJS or ESM alike.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

export function codeServerNode(): string {
  const root = resolve(__dirname, "..", "..", "..");
  const prepared = spawnSync(process.execPath, ["--import=tsx", join(root, "test", "support", "vscodeHost", "prepare.ts")], { cwd: root, encoding: "utf8", timeout: 540_000 });
  const node = /\[vscode-host\] node: (.+)/.exec(prepared.stdout)?.[1]?.trim() ?? "";
  if (prepared.status !== 0 || !existsSync(node)) throw new Error(`code-server's Node could not be installed: ${prepared.stdout}${prepared.stderr}`);
  return node;
}
