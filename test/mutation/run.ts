// `npm run test:mutation [-- stryker options]`: mutation testing of the pure cores (stryker.config.mjs,
// docs/mutation.md). StrykerJS 10 needs Node >= 22; this project's own Node may be older, so Stryker runs on
// the Node 24 that runs code-server (installed under .cache/vscode-host when missing), at low priority.
// Example: `npm run test:mutation -- --mutate src/ddx/grounding.ts` mutates one module with its own tests.
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { codeServerNode } from "../support/vscodeHost/hostNode";

const root = resolve(__dirname, "..", "..");
const major = Number(process.versions.node.split(".")[0]);
const node = major >= 22 ? process.execPath : codeServerNode();
const stryker = join(root, "node_modules", "@stryker-mutator", "core", "bin", "stryker.js");
const args = [stryker, "run", "stryker.config.mjs", ...process.argv.slice(2)];
// The mocha runner of Stryker 10.1.1 cannot find Mocha 12's cli files without this preload (see the file).
const preload = `--require ${join(root, "test", "mutation", "mochaCjs.cjs")}`;
const env = { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} ${preload}`.trim(), PATH: `${resolve(node, "..")}:${process.env.PATH ?? ""}` };
// nice -n 10: the run keeps both cores busy for minutes; the editor and other work come first.
const run = spawnSync("nice", ["-n", "10", node, ...args], { cwd: root, stdio: "inherit", env });
if (run.error) throw run.error;
process.exit(run.status ?? 1);
