/** `npm run docs`: rewrites README.md's commands and settings reference from package.json (scripts/packaging/docs.ts). */
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { updateReadme, type ExtensionManifest } from "./docs";

const root = resolve(__dirname, "..", "..");
const readmePath = join(root, "README.md");
const readme = readFileSync(readmePath, "utf8");
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as ExtensionManifest;
const updated = updateReadme(readme, manifest);
if (updated === readme) console.log("README.md's reference is up to date.");
else {
  writeFileSync(readmePath, updated);
  console.log("README.md's commands and settings reference rewritten from package.json.");
}
