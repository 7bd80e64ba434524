/** Bedside's commands: small named functions, wired in extension.ts. */
import * as vscode from "vscode";
import type { EngineClient } from "./engine/client/engineClient";
import type { EngineHost } from "./engine/engineHost";
import { describeModel } from "./status/engineStateText";

export async function chooseModelFile(host: EngineHost): Promise<void> {
  const picked = await vscode.window.showOpenDialog({
    title: "Choose a GGUF model file for Bedside",
    openLabel: "Use this model",
    canSelectMany: false,
    filters: { "GGUF models": ["gguf"], "All files": ["*"] },
  });
  const file = picked?.[0];
  if (!file) return;
  await host.useModel(file.fsPath);
  await showModelReady(host.local);
}

/** Loads the model now and says how it went (used after choosing a model and by "Show Model Info"). */
export async function showModelReady(engine: EngineClient): Promise<void> {
  try {
    const info = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: "Bedside: loading the model…" }, () => engine.ensureReady());
    void vscode.window.showInformationMessage(`Bedside is ready: ${describeModel(info)}.`);
  } catch (error) {
    void vscode.window.showErrorMessage(`Bedside: ${(error as Error).message}`, "Show Log").then((choice) => {
      if (choice) void vscode.commands.executeCommand("bedside.showLog");
    });
  }
}

export async function offerModelChoice(): Promise<void> {
  const choice = await vscode.window.showInformationMessage(
    "Bedside has no model yet. Choose a GGUF model file (for example meditron-7b.Q4_K_M.gguf) to get completions, answers and differentials. Nothing leaves this machine.",
    "Choose GGUF File…",
    "Not Now",
  );
  if (choice === "Choose GGUF File…") await vscode.commands.executeCommand("bedside.chooseModelFile");
}
