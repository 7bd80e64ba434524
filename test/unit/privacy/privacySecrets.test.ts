/**
 * Secrets live only in VS Code's SecretStorage: no setting is declared for a key, token or password, and
 * no source file writes one to settings, globalState, workspaceState or a file.
 */
import * as assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const root = resolve(__dirname, "..", "..", "..");
// Not a bare "token": the model's tokens are everywhere.
const SECRET_WORD = /api[-_.]?key|(?:access|auth|server|bearer|refresh|session)[-_.]?token|password|passphrase|secret\b|credential/i;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? sourceFiles(full) : /\.ts$/.test(name) ? [full] : [];
  });
}

/** Lines that write something named like a secret anywhere but SecretStorage. */
export function secretWrites(code: string): string[] {
  const writes = /\.(update|writeFile|writeFileSync|appendFile|appendFileSync|setKeysForSync)\s*\(/;
  return code.split("\n").filter((line) => writes.test(line) && SECRET_WORD.test(line) && !/\bsecrets\.store\s*\(|createHash|\bhash\.update/.test(line));
}

describe("secrets", () => {
  it("no setting in package.json holds a key, token or password", () => {
    const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { contributes: { configuration: { properties: Record<string, unknown> } } };
    const offenders = Object.keys(manifest.contributes.configuration.properties).filter((key) => SECRET_WORD.test(key));
    assert.deepEqual(offenders, []);
  });

  it("no source file writes a secret outside SecretStorage", () => {
    const offenders = sourceFiles(join(root, "src")).flatMap((file) => secretWrites(readFileSync(file, "utf8")).map((line) => `${relative(root, file)}: ${line.trim()}`));
    assert.deepEqual(offenders, []);
  });

  it("the check catches a key written to settings or globalState (it can fail)", () => {
    assert.equal(secretWrites(`await config.update("engine.apiKey", key, true);`).length, 1);
    assert.equal(secretWrites(`await context.globalState.update("serverToken", token);`).length, 1);
    assert.equal(secretWrites(`await context.secrets.store(API_KEY_SECRET, key);`).length, 0);
  });
});
