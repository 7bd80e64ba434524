import * as assert from "node:assert/strict";
import { describeEngineState } from "../../src/status/engineStateText";
import type { ModelInfo } from "../../src/engine/protocol";

const info: ModelInfo = {
  slot: "generation", path: "/m/meditron-7b.Q4_K_M.gguf", fileBytes: 4e9, architecture: "llama", trainContextLength: 2048,
  contextSize: 2048, infillSupported: false, backend: "cuda", gpuLayers: 33, totalLayers: 33, threads: 7, flashAttention: true, loadMs: 900,
};

describe("engine state in words", () => {
  it("offers to choose a model when there is none", () => {
    const view = describeEngineState({ kind: "noModel" });
    assert.match(view.text, /no model/);
    assert.ok(view.actions.some((a) => a.command === "bedside.chooseModelFile"));
  });

  it("names the backend and the layers on the GPU when ready", () => {
    const view = describeEngineState({ kind: "ready", info });
    assert.equal(view.text, "$(check) Bedside: CUDA 33/33 layers");
    assert.match(view.tooltip, /meditron-7b\.Q4_K_M\.gguf \(llama\) on CUDA 33\/33 layers, 7 threads, context 2048/);
  });

  it("says CPU plainly", () => {
    assert.equal(describeEngineState({ kind: "busy", info: { ...info, backend: "cpu", gpuLayers: 0 }, requests: 1 }).text, "$(sync~spin) Bedside: CPU");
  });

  it("shows errors as errors, with the message", () => {
    const view = describeEngineState({ kind: "error", message: "the file is truncated" });
    assert.equal(view.severity, "error");
    assert.equal(view.tooltip, "the file is truncated");
  });
});
