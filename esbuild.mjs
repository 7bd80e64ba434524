// Builds Bedside: the extension (CommonJS, loaded by VS Code), the engine worker (ESM, because
// node-llama-cpp is ESM-only with top-level await) and the integration suite that runs inside VS Code.
// node-llama-cpp is never bundled: it ships beside the bundle with its native binary.
import * as esbuild from "esbuild";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { pdfjsApart, pdfjsBundleOptions } from "./esbuild.pdfjs.mjs";

const watch = process.argv.includes("--watch");
const production = process.argv.includes("--production");
const nodeLlamaCppVersion = JSON.parse(readFileSync(new URL("./node_modules/node-llama-cpp/package.json", import.meta.url), "utf8")).version;

/** @type {esbuild.BuildOptions} */
const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  sourcemap: production ? false : "linked",
  minify: production,
  logLevel: "info",
};

/** @type {esbuild.BuildOptions[]} */
const builds = [
  {
    ...common,
    entryPoints: { extension: "src/extension.ts" },
    outdir: "dist",
    format: "cjs",
    // node-sqlite3-wasm loads its .wasm from beside its own script: it ships in node_modules like node-llama-cpp.
    external: ["vscode", "node-llama-cpp", "node-sqlite3-wasm"],
    plugins: [pdfjsApart],
    // Dynamic import() of the pdf.js bundle becomes a require(): the file is CommonJS beside this one.
    supported: { "dynamic-import": false },
  },
  {
    ...common,
    ...pdfjsBundleOptions,
    outdir: "dist",
  },
  {
    ...common,
    entryPoints: { worker: "src/engine/worker/main.ts" },
    outdir: "dist",
    outExtension: { ".js": ".mjs" },
    format: "esm",
    external: ["node-llama-cpp"],
    define: { __NODE_LLAMA_CPP_VERSION__: JSON.stringify(nodeLlamaCppVersion) },
    // Bundled CommonJS (vscode-jsonrpc) calls require() for Node built-ins; give the ESM bundle one.
    banner: { js: "import { createRequire as __bedsideCreateRequire } from 'node:module'; const require = __bedsideCreateRequire(import.meta.url);" },
  },
  {
    ...common,
    entryPoints: { "test/integration/index": "test/integration/index.ts" },
    outdir: "dist",
    format: "cjs",
    external: ["vscode", "node-llama-cpp", "node-sqlite3-wasm"],
    // mocha resolves its reporters and interfaces with require.resolve(); they are bundled anyway.
    logOverride: { "require-resolve-not-external": "silent" },
  },
];

// Webview scripts run in the webview's browser sandbox: one bundle per feature that has
// src/<feature>/webview/main.ts, written to media/webview/<feature>.js (the only folder webviews may load).
const webviewEntries = Object.fromEntries(
  readdirSync("src", { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(`src/${d.name}/webview/main.ts`))
    .map((d) => [d.name, `src/${d.name}/webview/main.ts`]),
);
if (Object.keys(webviewEntries).length > 0) {
  builds.push({
    ...common,
    entryPoints: webviewEntries,
    outdir: "media/webview",
    platform: "browser",
    target: "es2022",
    format: "iife",
  });
}

if (watch) {
  const contexts = await Promise.all(builds.map((b) => esbuild.context(b)));
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
