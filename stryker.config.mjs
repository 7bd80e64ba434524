// Mutation testing of the pure cores a clinician's safety depends on (StrykerJS; see docs/mutation.md).
// Run through `npm run test:mutation` (test/mutation/run.ts), which starts Stryker on Node >= 22.
// One module at a time: `npm run test:mutation -- --mutate src/ddx/grounding.ts`; only the unit tests of the
// modules being mutated are loaded, so a run stays affordable on a small machine.

/**
 * Each mutated module and the unit test files that test it. Only quick files that call the module inside
 * their tests: a file that runs the module while mocha loads it (outside an `it`) makes every mutant it
 * reaches "static", and Stryker then runs all tests for each of them; slow suites (the 200,000-line PHI note,
 * the 10,000-file GGUF fuzzing) stay in `npm test`.
 */
export const MODULES = {
  "src/completion/suggestionShape.ts": ["test/unit/completion/completion.test.ts", "test/unit/completion/completionShape.test.ts"],
  "src/ddx/grounding.ts": ["test/unit/ddx/ddxGrounding.test.ts"],
  "src/literature/qa/citationCheck.ts": ["test/unit/literature/qa/literatureAnswers.test.ts", "test/unit/literature/qa/literatureCitationCheck.test.ts"],
  "src/privacy/phiDetector.ts": ["test/unit/privacy/privacyPhiPatterns.test.ts"],
  "src/literature/index/bm25.ts": ["test/unit/literature/literatureRanking.test.ts"],
  "src/literature/index/analyzer.ts": ["test/unit/literature/literatureRanking.test.ts"],
  "src/literature/import/pubmedXml.ts": ["test/unit/literature/literatureParsers.test.ts"],
  "src/literature/import/medline.ts": ["test/unit/literature/literatureParsers.test.ts"],
  "src/literature/import/ris.ts": ["test/unit/literature/literatureParsers.test.ts"],
  "src/literature/import/bibtex.ts": ["test/unit/literature/literatureParsers.test.ts"],
  "src/literature/import/json.ts": ["test/unit/literature/literatureParsers.test.ts"],
  "src/engine/ggufHeader.ts": ["test/unit/models/ggufHeaderChecks.test.ts"],
};

/** The modules named by `--mutate` on the command line (a path, a glob or path:range), else all of them. */
function selectedModules() {
  const at = process.argv.findIndex((a) => a === "--mutate" || a === "-m" || a.startsWith("--mutate="));
  if (at < 0) return Object.keys(MODULES);
  const value = process.argv[at].startsWith("--mutate=") ? process.argv[at].slice("--mutate=".length) : (process.argv[at + 1] ?? "");
  const wanted = value.split(",").map((p) => p.replace(/:.*$/, "").replace(/^\.\//, "").replace(/\*.*$/, ""));
  const chosen = Object.keys(MODULES).filter((m) => wanted.some((w) => w && m.startsWith(w)));
  return chosen.length > 0 ? chosen : Object.keys(MODULES);
}

const modules = selectedModules();
const spec = [...new Set(modules.flatMap((m) => MODULES[m]))];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "mocha",
  // The TypeScript checker (leaves out mutants that do not type-check) is opt-in: `--checkers typescript`.
  // On the shared 2-core machine it made a run about ten times slower (7 mutants in 2 minutes against
  // about 70 a minute without it), and the tests, loaded by tsx, run a mutant that does not type-check anyway.
  checkers: [],
  tsconfigFile: "tsconfig.mutation.json",
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate: Object.keys(MODULES),
  mochaOptions: { spec, "no-config": true, "no-package": true, "no-opts": true },
  // The unit tests are TypeScript, loaded by tsx exactly as `npm run test:unit` does.
  testRunnerNodeArgs: ["--import=tsx"],
  coverageAnalysis: "perTest",
  concurrency: 2,
  // The tests take milliseconds; a mutant that loops (a regex loop that never advances) is cut after 3 s.
  timeoutMS: 3000,
  // Copy only what the tests read into the sandbox (node_modules is linked, not copied).
  ignorePatterns: ["/*", "!/src", "!/test", "!/package.json", "!/tsconfig.json", "!/tsconfig.mutation.json", "!/models"],
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: "reports/mutation/mutation.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
};
