// `npx tsx test/support/vscodeHost/prepare.ts`: installs the code-server host ahead of a test run
// (CI caches .cache/vscode-host between runs).
import { ensureCodeServer } from "./install";

ensureCodeServer().then(
  (host) => console.log(`[vscode-host] node: ${host.node}\n[vscode-host] code-server: ${host.codeServer}`),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
