/** Words and icons for each engine state, shared by the status bar and the sidebar. Pure. */
import * as path from "node:path";
import type { EngineState } from "../engine/engine";
import type { ModelInfo } from "../engine/protocol";

export interface EngineStateView {
  text: string;
  tooltip: string;
  severity: "normal" | "warning" | "error";
  actions: { title: string; command: string }[];
}

const SHOW_LOG = { title: "Show log", command: "bedside.showLog" };
const CHOOSE = { title: "Choose a GGUF file…", command: "bedside.chooseModelFile" };
const RESTART = { title: "Restart engine", command: "bedside.restartEngine" };

export function backendLabel(info: ModelInfo): string {
  if (info.backend === "remote") return `server ${hostOf(info.path)}`;
  const name = info.backend === "cpu" ? "CPU" : info.backend === "cuda" ? "CUDA" : info.backend === "metal" ? "Metal" : "Vulkan";
  return info.backend === "cpu" ? name : `${name} ${info.gpuLayers}/${info.totalLayers} layers`;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

export function describeModel(info: ModelInfo): string {
  if (info.backend === "remote") return `${info.name ?? "a model"} on the ${backendLabel(info)}, context ${info.contextSize || "unknown"} tokens`;
  return `${info.name ?? path.basename(info.path)} (${info.architecture}) on ${backendLabel(info)}, ${info.threads} threads, context ${info.contextSize} tokens`;
}

export function describeEngineState(state: EngineState): EngineStateView {
  switch (state.kind) {
    case "noModel":
      return { text: "$(circle-slash) Bedside: no model", tooltip: "Bedside has no model. Choose a GGUF model file to start.", severity: "warning", actions: [CHOOSE, SHOW_LOG] };
    case "idle":
      return { text: "$(circle-outline) Bedside", tooltip: `Model ${path.basename(state.modelPath)} is not loaded; it loads when first needed.`, severity: "normal", actions: [SHOW_LOG] };
    case "loading":
      return { text: "$(loading~spin) Bedside: loading", tooltip: `Loading ${path.basename(state.modelPath)}…`, severity: "normal", actions: [SHOW_LOG] };
    case "ready":
      return { text: `$(check) Bedside: ${backendLabel(state.info)}`, tooltip: `Ready: ${describeModel(state.info)}.`, severity: "normal", actions: [SHOW_LOG, RESTART] };
    case "busy":
      return { text: `$(sync~spin) Bedside: ${backendLabel(state.info)}`, tooltip: `Working: ${describeModel(state.info)}.`, severity: "normal", actions: [SHOW_LOG] };
    case "restarting":
      return { text: "$(warning) Bedside: restarting", tooltip: state.reason, severity: "warning", actions: [SHOW_LOG] };
    case "error":
      return { text: "$(error) Bedside: error", tooltip: state.message, severity: "error", actions: [SHOW_LOG, CHOOSE, RESTART] };
  }
}
