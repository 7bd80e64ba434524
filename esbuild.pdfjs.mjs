// pdf.js in Bedside's build (esbuild.mjs), kept apart so a unit test can build the same bundle
// (test/unit/literature/literaturePdfBundle.test.ts): its own lazily loaded file, and the changes it needs to load in
// VS Code's extension host without touching the host's globals or loading a native module.
import { readFileSync } from "node:fs";

/**
 * pdf.js (3 MB) is its own bundle, dist/pdfjs.js, loaded the first time a PDF is imported rather than
 * parsed at every activation: the extension bundle keeps `import("./pdfjsBundle")` as a require of it.
 * @type {import("esbuild").Plugin}
 */
export const pdfjsApart = {
  name: "pdfjs-apart",
  setup(build) {
    build.onResolve({ filter: /^\.\/pdfjsBundle$/ }, () => ({ path: "./pdfjs.js", external: true }));
  },
};

/**
 * pdf.js assigns `globalThis.navigator` in Node when it has no language, which VS Code's extension host
 * forbids (there `navigator` is a getter that only warns): it throws at load. pdf.js gets its own
 * module-local navigator instead and leaves the host's globals alone.
 * @type {import("esbuild").Plugin}
 */
export const pdfjsOwnNavigator = {
  name: "pdfjs-own-navigator",
  setup(build) {
    build.onLoad({ filter: /pdfjs-dist[\\/]legacy[\\/]build[\\/]pdf(\.worker)?\.mjs$/ }, async (args) => {
      const source = readFileSync(args.path, "utf8");
      const contents = (
        'var __bedsideNavigator = { language: "en-US", platform: "", userAgent: "" };\n' +
        source.replace(/globalThis\.navigator\b/g, "__bedsideNavigator").replace(/(?<![\w.$])navigator(?![\w$])/g, "__bedsideNavigator")
      )
        // Its only require() is for the native canvas package (rendering): it gets an empty module, so
        // nothing native is ever loaded and no warning is printed at load.
        .replaceAll('process.getBuiltinModule("module").createRequire(import.meta.url)', "(() => ({}))");
      return { contents, loader: "js" };
    });
  },
};

/**
 * dist/pdfjs.js: pdf.js and its worker code, CommonJS, with the changes above.
 * @type {import("esbuild").BuildOptions}
 */
export const pdfjsBundleOptions = {
  entryPoints: { pdfjs: "src/literature/import/pdfjsBundle.ts" },
  format: "cjs",
  plugins: [pdfjsOwnNavigator],
  // pdf.js asks for import.meta.url only in its emscripten image decoders, inside try blocks.
  logOverride: { "empty-import-meta": "silent" },
};
