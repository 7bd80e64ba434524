// The runner VS Code loads for the installed-.vsix smoke suite (bundled by test/package/run.ts).
import { runSuites } from "../integration/index";

export function run(): Promise<void> {
  return runSuites([() => import("./installed.vscode")]);
}
