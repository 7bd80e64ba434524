// A real VS Code for tests: code-server (VS Code's server + web workbench) driven by headless Chromium.
//   install.ts         ensureCodeServer(): Node 24 + code-server into .cache/vscode-host
//   codeServer.ts      startCodeServer(): a server on loopback in a throwaway scratch folder
//   openWorkbench.ts   openWorkbench(), workbenchUrl(): the workbench page, with the dev extension and tests
//   extensionTests.ts  runExtensionTests(): a bundled mocha suite inside the extension host, with counts
//   workbench.ts       startDevWorkbench() and UI helpers for end-to-end tests
export { CODE_SERVER_VERSION, ensureCodeServer, type VscodeHostBinaries } from "./install";
export { freePort, makeScratchDir, quietSettings, startCodeServer, type CodeServerHandle, type CodeServerOptions } from "./codeServer";
export { openWorkbench, workbenchUrl, type AutomationHooks, type Workbench, type WorkbenchOptions } from "./openWorkbench";
export { parseResults, runExtensionTests, type ExtensionTestOptions, type ExtensionTestResult } from "./extensionTests";
export * from "./workbench";
export { hostCacheDir, projectRoot, sampleNotesDir } from "./paths";
