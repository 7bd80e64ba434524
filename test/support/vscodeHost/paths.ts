// Where the project and the VS Code host cache live, found from this file rather than the cwd,
// so every entry point (mocha, tsx scripts, npm start) agrees.
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** Absolute path of the repository root (the folder holding package.json). */
export const projectRoot: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** Cache for the Node 24 runtime and code-server; gitignored (`.cache/`). */
export const hostCacheDir: string = process.env.BEDSIDE_VSCODE_HOST_DIR ?? path.join(projectRoot, ".cache", "vscode-host");

/** The folder of sample notes every host opens as its workspace. */
export const sampleNotesDir: string = path.join(projectRoot, "media", "sample-notes");
