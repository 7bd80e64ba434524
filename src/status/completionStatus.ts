/** A small status-bar item for inline completions: a spinner while the model thinks, off, or snoozed. */
import * as vscode from "vscode";

export class CompletionStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("bedside.completionStatus", vscode.StatusBarAlignment.Right, 99);
  private thinking = false;

  constructor(private readonly describe: () => { active: boolean; snoozeMinutesLeft: number }) {
    this.item.name = "Bedside Completions";
    this.item.command = "bedside.toggleCompletions";
    this.render();
    this.item.show();
  }

  get text(): string {
    return this.item.text;
  }

  setThinking(thinking: boolean): void {
    this.thinking = thinking;
    this.render();
  }

  render(): void {
    const { active, snoozeMinutesLeft } = this.describe();
    if (snoozeMinutesLeft > 0) {
      this.item.text = `$(clock) ${snoozeMinutesLeft} min`;
      this.item.tooltip = `Bedside completions are snoozed for ${snoozeMinutesLeft} more minute(s). Click to turn them off or on.`;
    } else if (!active) {
      this.item.text = "$(circle-slash) Completions";
      this.item.tooltip = "Bedside completions are off. Click to turn them on.";
    } else {
      this.item.text = this.thinking ? "$(loading~spin) Completions" : "$(pencil) Completions";
      this.item.tooltip = this.thinking ? "Bedside is thinking about a suggestion." : "Bedside completions are on. Click to turn them off.";
    }
  }

  dispose(): void {
    this.item.dispose();
  }
}
