/**
 * The whole project (src, test, esbuild.mjs) type-checks under the strict tsconfig. The bundles are built by
 * esbuild, which strips types without checking them, so without this a type error would reach main unseen.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";

const root = resolve(__dirname, "..", "..");

describe("TypeScript", () => {
  it("type-checks src and test with the strict tsconfig (tsc --noEmit)", function () {
    this.timeout(180_000);
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    const run = spawnSync(process.execPath, [tsc, "--noEmit", "-p", join(root, "tsconfig.json")], { cwd: root, encoding: "utf8" });
    assert.equal(run.status, 0, `tsc reported:\n${(run.stdout + run.stderr).slice(0, 4000)}`);
  });
});
