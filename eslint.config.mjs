// House rules that check themselves (`npm run lint`, run inside `npm test` as the lint suite).
// Boundaries are written by folder and file pattern, so files added under a folder follow its rules.
import js from "@eslint/js";
import boundaries from "eslint-plugin-boundaries";
import tseslint from "typescript-eslint";

// The layers of src/, lowest first. A folder may import from its own folder and from folders in lower
// layers only: never from its own layer's other folders nor from a higher one, so no folder-level cycle can
// form. extension.ts is the composition root, on top.
const LAYERS = [
  ["log"],
  ["engine", "privacy", "notes", "provenance", "webview"],
  ["config"],
  ["status", "models", "literature"],
  ["completion", "chat", "ddx", "packaging", "views"],
  ["documents"],
  ["firstRun"],
  ["commands"],
  ["extension"],
];
const ROOT_FILES = new Set(["commands", "extension"]);

// Files that talk to VS Code: the adapters. Everything else in src/ is pure and must not import `vscode`.
const VSCODE_ADAPTERS = [
  "src/extension.ts",
  "src/commands.ts",
  "src/config/index.ts",
  "src/**/register*.ts",
  "src/**/*Panel.ts",
  "src/**/*View.ts",
  "src/**/*Command.ts",
  "src/**/*Commands.ts",
  "src/**/*StatusBar.ts",
  "src/status/completionStatus.ts",
  "src/engine/engineHost.ts",
  "src/completion/noteCompletionProvider.ts",
  "src/literature/literatureService.ts",
  "src/literature/embedding/libraryEmbedding.ts",
  "src/notes/noteOutline.ts",
  "src/privacy/checkNote.ts",
  "src/provenance/aiTextMarkers.ts",
];

const folderElements = LAYERS.flat().map((name) =>
  ROOT_FILES.has(name) ? { type: name, pattern: `src/${name}.ts`, mode: "file" } : { type: name, pattern: `src/${name}/**`, partialMatch: false },
);
const layerPolicies = LAYERS.flatMap((layer, rank) =>
  layer.map((name) => ({
    from: { element: { type: name } },
    allow: { to: { element: { types: { anyOf: [name, ...LAYERS.slice(0, rank).flat()] } } } },
  })),
);

const restricted = (...paths) => ["error", { paths }];
const VSCODE_ONLY_IN_ADAPTERS = { name: "vscode", message: "Pure modules do not import vscode: put VS Code calls in an adapter (see VSCODE_ADAPTERS in eslint.config.mjs)." };
const LLAMA_ONLY_IN_WORKER = { name: "node-llama-cpp", message: "Only src/engine/worker/ imports node-llama-cpp (the model runs in the worker process)." };
const NO_RAW_SETTINGS = {
  selector: "MemberExpression[property.name='getConfiguration']",
  message: "Read bedside.* settings through src/config (typed, with the workspace-trust filter), not getConfiguration.",
};

export default tseslint.config(
  { ignores: ["dist/**", "media/webview/**", "node_modules/**", ".cache/**", "models/**", ".stryker-tmp/**", "reports/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts", "**/*.mts", "**/*.mjs"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module" },
    rules: {
      // The codebase's existing conventions, kept as they are for now.
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      // A `let` assigned once after a closure that reads it (a view created after the session that posts to it).
      "prefer-const": ["error", { ignoreReadBeforeAssign: true }],
    },
  },
  // Build scripts and configs in plain JavaScript run in Node.
  {
    files: ["**/*.mjs", "**/*.cjs"],
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly", require: "readonly", module: "writable", __dirname: "readonly" } },
  },
  { files: ["**/*.cjs"], languageOptions: { sourceType: "commonjs" }, rules: { "@typescript-eslint/no-require-imports": "off" } },
  // --- src/: the boundaries ---
  {
    files: ["src/**/*.ts"],
    plugins: { boundaries },
    settings: {
      "boundaries/elements": folderElements,
      // `mode: "file"` (the two root files as elements) is the plugin's older syntax; it still works.
      "boundaries/legacy-warnings": false,
      "import/resolver": { typescript: { project: ["tsconfig.json", "tsconfig.webview.json"], noWarnOnMultipleProjects: true } },
    },
    rules: {
      "boundaries/dependencies": ["error", { default: "disallow", policies: layerPolicies }],
      // A file in a folder that LAYERS does not place would escape the layer check: place the folder first.
      "boundaries/no-unknown-files": "error",
      "@typescript-eslint/no-restricted-imports": restricted(VSCODE_ONLY_IN_ADAPTERS, LLAMA_ONLY_IN_WORKER),
      "no-restricted-syntax": ["error", NO_RAW_SETTINGS],
    },
  },
  { files: VSCODE_ADAPTERS, rules: { "@typescript-eslint/no-restricted-imports": restricted(LLAMA_ONLY_IN_WORKER) } },
  { files: ["src/engine/worker/**/*.ts"], rules: { "@typescript-eslint/no-restricted-imports": restricted(VSCODE_ONLY_IN_ADAPTERS) } },
  { files: ["src/config/index.ts"], rules: { "no-restricted-syntax": "off" } },
  // The worker strips NUL characters from model output on purpose (h/engine is splitting the file; a directive goes with the line after).
  { files: ["src/engine/worker/**/*.ts"], rules: { "no-control-regex": "off" } },
);
