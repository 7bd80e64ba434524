import * as assert from "node:assert/strict";
import { describeEngineState } from "../../../src/status/engineStateText";
import type { ModelInfo } from "../../../src/engine/protocol";

const info: ModelInfo = {
  slot: "generation",
  path: "/m/meditron-7b.Q4_K_M.gguf",
  fileBytes: 4e9,
  architecture: "llama",
  trainContextLength: 2048,
  contextSize: 2048,
  infillSupported: false,
  backend: "cuda",
  gpuLayers: 33,
  totalLayers: 33,
  threads: 7,
  flashAttention: true,
  loadMs: 900,
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

  it("warns when a loaded model's worker peaked close to the machine's RAM, and says what to do", () => {
    const cpu = { ...info, backend: "cpu" as const, gpuLayers: 0 };
    const close = describeEngineState({ kind: "ready", info: { ...cpu, peakRssBytes: 7.2e9 } }, 8e9);
    assert.equal(close.severity, "warning");
    assert.equal(close.text, "$(warning) Bedside: CPU, memory");
    assert.match(close.tooltip, /takes 7\.2 GB of this machine's 8\.0 GB of RAM.*Turn on bedside\.engine\.lowMemory/);
    assert.ok(close.actions.some((a) => a.command === "bedside.selectModel"));
    assert.match(describeEngineState({ kind: "ready", info: { ...cpu, peakRssBytes: 7.2e9, lowMemory: true } }, 8e9).tooltip, /Choose a smaller model/);
    assert.equal(describeEngineState({ kind: "ready", info: { ...cpu, peakRssBytes: 3e9 } }, 8e9).severity, "normal");
    assert.equal(describeEngineState({ kind: "ready", info: { ...cpu, peakRssBytes: 7.2e9 } }).severity, "normal", "without the machine's RAM, no judgement");
  });

  it("shows errors as errors, with the message", () => {
    const view = describeEngineState({ kind: "error", message: "the file is truncated" });
    assert.equal(view.severity, "error");
    assert.equal(view.tooltip, "the file is truncated");
  });
});
