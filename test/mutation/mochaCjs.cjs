// Preloaded (NODE_OPTIONS=--require) into Stryker's processes by test/mutation/run.ts. Mocha 12 renamed its
// cli internals to .cjs; @stryker-mutator/mocha-runner 10.1.1 still requires them without an extension
// ("Cannot find module mocha/lib/cli/run-helpers", fixed upstream in stryker-js pull request 6205, not yet
// released). Letting require() try ".cjs" like ".js" finds them. Remove once a fixed runner is released.
const Module = require("node:module");
if (!Module._extensions[".cjs"]) Module._extensions[".cjs"] = Module._extensions[".js"];
