import * as assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface LockEntry {
  version?: string;
  optional?: boolean;
  optionalDependencies?: Record<string, string>;
}

/**
 * `npm ci` refuses a lockfile that leaves out any optional dependency, even one for another platform.
 * node-llama-cpp ships its native binaries as optional per-platform packages; a lockfile written where the
 * registry lacks some of them (it happened: CI failed in 2 s) breaks every clean install. Guard it here.
 */
describe("package-lock.json", () => {
  const lock = JSON.parse(readFileSync(join(__dirname, "..", "..", "..", "package-lock.json"), "utf8")) as {
    packages: Record<string, LockEntry>;
  };

  it("lists every optional dependency of every package, for every platform", () => {
    const missing: string[] = [];
    for (const [where, entry] of Object.entries(lock.packages)) {
      for (const dep of Object.keys(entry.optionalDependencies ?? {})) {
        // npm resolves from the package's own node_modules up to the root's.
        const prefix = where === "" ? "" : `${where}/`;
        const candidates = [`${prefix}node_modules/${dep}`, `node_modules/${dep}`];
        if (!candidates.some((c) => c in lock.packages)) missing.push(`${dep} (wanted by ${where || "the root"})`);
      }
    }
    assert.deepEqual(missing, []);
  });

  it("pins node-llama-cpp's platform packages to node-llama-cpp's own version", () => {
    const engine = lock.packages["node_modules/node-llama-cpp"];
    assert.ok(engine?.version, "node-llama-cpp is in the lockfile");
    for (const [dep, range] of Object.entries(engine.optionalDependencies ?? {})) {
      assert.equal(lock.packages[`node_modules/${dep}`]?.version, range, dep);
    }
  });
  it("approves, in package.json's allowScripts, every installed dependency with an install script", () => {
    // npm 11 only warns about unapproved install scripts; npm 12 skips them, which would leave esbuild's
    // and node-llama-cpp's set-up undone on a fresh machine.
    const root = join(__dirname, "..", "..", "..");
    const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { allowScripts?: Record<string, boolean> };
    const unapproved: string[] = [];
    for (const where of Object.keys(lock.packages)) {
      const file = join(root, where, "package.json");
      if (where === "" || !existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; scripts?: Record<string, string> };
      const scripts = pkg.scripts ?? {};
      if (!["preinstall", "install", "postinstall"].some((s) => s in scripts)) continue;
      if (pkg.name && manifest.allowScripts?.[pkg.name] !== true) unapproved.push(`${pkg.name} (${where})`);
    }
    assert.deepEqual(unapproved, []);
  });
});
