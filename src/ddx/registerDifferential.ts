/**
 * Wires the differential into VS Code: the "Bedside: Differential Diagnosis" command (palette and the
 * note's editor title), "Insert Differential as Assessment", and the optional run on save
 * (`bedside.differential.runOnSave`).
 */
import * as vscode from "vscode";
import { differentialRunOnSave } from "../config";
import type { Engine } from "../engine/engine";
import type { AiTextMarkers } from "../provenance/aiTextMarkers";
import type { LiteratureSearch } from "../literature/library";
import { citationSourceFromLibrary } from "./citations";
import { DifferentialPanel } from "./differentialPanel";

export const NOTE_LANGUAGE = "note";

/** `library`: where the differential's citations come from (relevant sources only). */
export function registerDifferential(context: vscode.ExtensionContext, engine: Engine, markers: AiTextMarkers, library: LiteratureSearch): DifferentialPanel {
  const panel = new DifferentialPanel(context.extensionUri, engine, markers, citationSourceFromLibrary(library));
  const runOn = (editor: vscode.TextEditor | undefined): Promise<unknown> => {
    if (!editor) {
      void vscode.window.showInformationMessage("Bedside: open a note to build a differential diagnosis for it.");
      return Promise.resolve(undefined);
    }
    return panel.run(editor.document, besideOf(editor));
  };
  context.subscriptions.push(
    panel,
    vscode.commands.registerCommand("bedside.differentialDiagnosis", () => runOn(vscode.window.activeTextEditor)),
    vscode.commands.registerCommand("bedside.insertDifferentialAsAssessment", () => panel.insertAssessment()),
    vscode.workspace.onDidSaveTextDocument((document) => {
      const runOnSave = differentialRunOnSave();
      if (!runOnSave || document.languageId !== NOTE_LANGUAGE) return;
      const editor = vscode.window.visibleTextEditors.find((e) => e.document === document);
      void panel.run(document, editor ? besideOf(editor) : vscode.ViewColumn.Beside);
    }),
  );
  return panel;
}

function besideOf(editor: vscode.TextEditor): vscode.ViewColumn {
  return editor.viewColumn === undefined ? vscode.ViewColumn.Beside : ((editor.viewColumn + 1) as vscode.ViewColumn);
}
