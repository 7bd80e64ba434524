/**
 * The "Model" view in Bedside's sidebar: what is running, on what hardware. When there is no model it is
 * empty, and the welcome text from package.json offers to choose one.
 */
import * as path from "node:path";
import * as vscode from "vscode";
import type { EngineState } from "../engine/engine";
import { backendLabel, describeEngineState } from "../status/engineStateText";

interface Row {
  label: string;
  description: string;
  icon: string;
  tooltip?: string;
}

export class EngineView implements vscode.TreeDataProvider<Row>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.emitter.event;
  private state: EngineState = { kind: "noModel" };

  update(state: EngineState): void {
    this.state = state;
    void vscode.commands.executeCommand("setContext", "bedside.engineState", state.kind);
    this.emitter.fire();
  }

  getTreeItem(row: Row): vscode.TreeItem {
    const item = new vscode.TreeItem(row.label);
    item.description = row.description;
    item.iconPath = new vscode.ThemeIcon(row.icon);
    item.tooltip = row.tooltip ?? `${row.label}: ${row.description}`;
    return item;
  }

  getChildren(): Row[] {
    const s = this.state;
    if (s.kind === "noModel") return [];
    const status: Row = { label: "Status", description: describeEngineState(s).tooltip, icon: "pulse" };
    if (s.kind !== "ready" && s.kind !== "busy") {
      const rows = [status];
      if (s.kind === "idle" || s.kind === "loading") rows.unshift({ label: "Model", description: path.basename(s.modelPath), icon: "file", tooltip: s.modelPath });
      return rows;
    }
    const info = s.info;
    return [
      { label: "Model", description: info.name ?? path.basename(info.path), icon: "file", tooltip: info.path },
      { label: "Architecture", description: info.architecture, icon: "symbol-class" },
      { label: "Hardware", description: backendLabel(info), icon: "chip" },
      { label: "Threads", description: String(info.threads), icon: "server-process" },
      { label: "Context", description: `${info.contextSize} tokens (trained on ${info.trainContextLength})`, icon: "symbol-ruler" },
      { label: "Fill-in-the-middle", description: info.infillSupported ? "yes" : "no", icon: "symbol-operator" },
      status,
    ];
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
