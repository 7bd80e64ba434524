/**
 * README's commands and settings reference is generated from package.json (npm run docs); this fails
 * when someone adds or changes a command or setting without regenerating it.
 */
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { renderCommands, renderSettings, updateReadme, type ExtensionManifest } from "../../../scripts/packaging/docs";

const root = join(__dirname, "..", "..", "..");
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as ExtensionManifest;
const readme = readFileSync(join(root, "README.md"), "utf8");

describe("README reference", () => {
  it("matches package.json (run `npm run docs` after changing commands or settings)", () => {
    assert.ok(updateReadme(readme, manifest) === readme, "README.md's commands and settings reference is out of date: run `npm run docs`");
  });

  it("lists every contributed command and setting", () => {
    for (const c of manifest.contributes?.commands ?? []) assert.ok(readme.includes(`\`${c.command}\``), c.command);
    const config = manifest.contributes?.configuration;
    const properties = Array.isArray(config) ? {} : (config?.properties ?? {});
    for (const id of Object.keys(properties)) assert.ok(readme.includes(`| \`${id}\` |`), id);
  });

  it("would notice a new setting or a changed default (the check can fail)", () => {
    const changed: ExtensionManifest = JSON.parse(JSON.stringify(manifest)) as ExtensionManifest;
    const config = changed.contributes!.configuration as { properties: Record<string, { default?: unknown; description?: string }> };
    config.properties["bedside.example.new"] = { default: 3, description: "New." };
    assert.notEqual(updateReadme(readme, changed), readme);
  });

  it("renders defaults, enums, ranges and key bindings, one line per row", () => {
    const small: ExtensionManifest = {
      contributes: {
        commands: [
          { command: "x.b", title: "Beta", category: "X" },
          { command: "x.a", title: "Alpha | pipe", category: "X" },
        ],
        keybindings: [{ command: "x.a", key: "ctrl+alt+a", mac: "cmd+alt+a" }],
        configuration: {
          properties: { "x.s": { type: "string", default: "", enum: ["a", "b"], markdownDescription: "Two\nlines." }, "x.n": { default: 2, minimum: 1, description: "N" } },
        },
      },
    };
    assert.equal(renderCommands(small).split("\n")[2], "| X: Alpha \\| pipe | `x.a` | `ctrl+alt+a (mac: cmd+alt+a)` |");
    assert.deepEqual(renderSettings(small).split("\n").slice(2), ["| `x.n` | `2` | N (min 1) |", "| `x.s` | empty | Two lines. One of `a`, `b`. |"]);
  });
});
