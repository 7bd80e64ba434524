/**
 * Workspace Trust: settings that point at files or servers are restricted in package.json and ignore
 * workspace values in an untrusted workspace; every such setting any feature adds must be on the list.
 */
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { effectiveSetting, isRestrictedSetting, RESTRICTED_SETTINGS } from "../../../src/privacy/workspaceTrust";

interface Manifest {
  capabilities: { untrustedWorkspaces: { supported: string | boolean; restrictedConfigurations?: string[] } };
  contributes: { configuration: { properties: Record<string, { type?: string | string[]; markdownDescription?: string; description?: string }> } };
}
const manifest = JSON.parse(readFileSync(join(__dirname, "..", "..", "..", "package.json"), "utf8")) as Manifest;

describe("Workspace Trust", () => {
  it("declares limited support with exactly Bedside's restricted settings", () => {
    const trust = manifest.capabilities.untrustedWorkspaces;
    assert.equal(trust.supported, "limited");
    assert.deepEqual([...(trust.restrictedConfigurations ?? [])].sort(), RESTRICTED_SETTINGS.map((k) => `bedside.${k}`).sort());
    for (const key of trust.restrictedConfigurations ?? []) assert.ok(manifest.contributes.configuration.properties[key], `${key} is a contributed setting`);
  });

  it("restricts every setting that points at a file, folder or server (including ones added later)", () => {
    const pointsOutside = Object.entries(manifest.contributes.configuration.properties).filter(([key, p]) => {
      const words = `${key} ${p.markdownDescription ?? ""} ${p.description ?? ""}`;
      return /(path|folder|dir|endpoint|url|server|host)$/i.test(key) || (p.type === "string" && /\b(GGUF (model )?file|folder|directory|server at|URL)\b/i.test(words));
    });
    assert.ok(pointsOutside.length >= 4, pointsOutside.map(([k]) => k).join(", "));
    for (const [key] of pointsOutside) assert.ok(isRestrictedSetting(key), `${key} points at a file or server but is not restricted`);
  });

  it("ignores workspace and folder values of restricted settings when untrusted, and only then", () => {
    const inspected = { defaultValue: "", globalValue: "/home/me/model.gguf", workspaceValue: "/evil/model.gguf", workspaceFolderValue: "./x.gguf" };
    assert.equal(effectiveSetting("model.path", inspected, true), "./x.gguf");
    assert.equal(effectiveSetting("model.path", inspected, false), "/home/me/model.gguf");
    assert.equal(effectiveSetting("bedside.engine.endpoint", { defaultValue: "", workspaceValue: "http://attacker.example" }, false), "");
    assert.equal(effectiveSetting("log.includeNoteText", { defaultValue: false, workspaceValue: true }, false), false);
    // Settings that point nowhere keep the workspace's value even when untrusted.
    assert.equal(effectiveSetting("completion.maxTokens", { defaultValue: 24, workspaceValue: 12 }, false), 12);
    assert.equal(effectiveSetting("model.path", undefined, false), undefined);
  });
});
