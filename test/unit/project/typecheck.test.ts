/**
 * The whole project (src, test, scripts, esbuild.mjs) type-checks under the strict tsconfigs: the host, worker
 * and Node tests without DOM types (tsconfig.json), the webview scripts with DOM and without Node types
 * (tsconfig.webview.json), and the e2e tests that drive a browser (test/e2e/tsconfig.json). The bundles are built
 * by esbuild, which strips types without checking them, so without this a type error would reach main unseen.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";

const root = resolve(__dirname, "..", "..", "..");

describe("TypeScript", () => {
  for (const project of ["tsconfig.json", "tsconfig.webview.json", "test/e2e/tsconfig.json"]) {
    it(`type-checks with ${project} (tsc --noEmit)`, function () {
      this.timeout(180_000);
      const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
      const run = spawnSync(process.execPath, [tsc, "--noEmit", "-p", join(root, project)], { cwd: root, encoding: "utf8" });
      assert.equal(run.status, 0, `tsc reported:\n${(run.stdout + run.stderr).slice(0, 4000)}`);
    });
  }
});
