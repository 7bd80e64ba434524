/** The status-bar item that says what the engine is doing; a click shows the log. */
import * as os from "node:os";
import * as vscode from "vscode";
import type { EngineState } from "../engine/engine";
import { describeEngineState } from "./engineStateText";

export class EngineStatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;

  constructor() {
    this.item = vscode.window.createStatusBarItem("bedside.status", vscode.StatusBarAlignment.Right, 100);
    this.item.name = "Bedside";
    this.item.command = "bedside.showLog";
    this.item.show();
  }

  /** The text shown now (tests read it; VS Code gives no API to read other items). */
  get text(): string {
    return this.item.text;
  }

  update(state: EngineState): void {
    const view = describeEngineState(state, os.totalmem());
    this.item.text = view.text;
    const tooltip = new vscode.MarkdownString(`${view.tooltip}\n\n${view.actions.map((a) => `[${a.title}](command:${a.command})`).join(" · ")}`, true);
    tooltip.isTrusted = { enabledCommands: view.actions.map((a) => a.command) };
    this.item.tooltip = tooltip;
    this.item.accessibilityInformation = { label: view.tooltip };
    this.item.backgroundColor =
      view.severity === "error"
        ? new vscode.ThemeColor("statusBarItem.errorBackground")
        : view.severity === "warning"
          ? new vscode.ThemeColor("statusBarItem.warningBackground")
          : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
