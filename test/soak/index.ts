// The runner VS Code loads for the soak (bundled by test/soak/run.ts): the integration suite's mocha runner, one suite.
import { runSuites } from "../integration/index";

export function run(): Promise<void> {
  return runSuites([() => import("./clinicDay.vscode")]);
}
