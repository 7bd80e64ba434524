import * as assert from "node:assert/strict";
import { join } from "node:path";
import { expandHome, RELEVANCE_THRESHOLD_DEFAULT } from "../../../src/config/sections";
import manifest from "../../../package.json";

describe("settings sections (src/config/sections.ts)", () => {
  it("expands a leading ~ to the home folder and leaves other paths alone", () => {
    assert.equal(expandHome("~/models/m.gguf", "/home/clinician"), join("/home/clinician", "models/m.gguf"));
    assert.equal(expandHome("~", "/home/clinician"), "/home/clinician");
    assert.equal(expandHome("/opt/models/m.gguf", "/home/clinician"), "/opt/models/m.gguf");
    assert.equal(expandHome("models/~m.gguf", "/home/clinician"), "models/~m.gguf");
  });

  it("uses the relevance threshold default that package.json declares", () => {
    const declared = manifest.contributes.configuration.properties["bedside.literature.relevanceThreshold"].default;
    assert.equal(RELEVANCE_THRESHOLD_DEFAULT, declared);
  });
});
