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

/** A loaded model whose worker peaked above this share of the machine's RAM gets a warning. */
export const CLOSE_TO_RAM = 0.8;

function gb(bytes: number): string {
  return `${(bytes / 1e9).toFixed(1)} GB`;
}

/**
 * `totalRamBytes`: the machine's RAM; with it, a loaded local model whose worker's peak memory is close to it
 * (the worker reports `peakRssBytes` after loading) is shown as a warning that says what to do.
 */
export function describeEngineState(state: EngineState, totalRamBytes?: number): EngineStateView {
  if ((state.kind === "ready" || state.kind === "busy") && totalRamBytes && state.info.backend !== "remote" && (state.info.peakRssBytes ?? 0) > CLOSE_TO_RAM * totalRamBytes) {
    const base = describeEngineState(state);
    return {
      ...base,
      text: `$(warning) Bedside: ${backendLabel(state.info)}, memory`,
      tooltip: `${base.tooltip} The model takes ${gb(state.info.peakRssBytes!)} of this machine's ${gb(totalRamBytes)} of RAM, so other programs may make it swap and suggestions slow down. ${state.info.lowMemory ? "Choose a smaller model or a shorter bedside.engine.contextSize." : "Turn on bedside.engine.lowMemory, or choose a smaller model or a shorter bedside.engine.contextSize."}`,
      severity: "warning",
      actions: [...base.actions, { title: "Select model…", command: "bedside.selectModel" }],
    };
  }
  switch (state.kind) {
    case "noModel":
      return { text: "$(circle-slash) Bedside: no model", tooltip: "Bedside has no model. Choose a GGUF model file to start.", severity: "warning", actions: [CHOOSE, SHOW_LOG] };
    case "idle":
      return {
        text: "$(circle-outline) Bedside",
        tooltip: `Model ${path.basename(state.modelPath)} is not loaded; it loads when first needed.`,
        severity: "normal",
        actions: [SHOW_LOG],
      };
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
