/** The outline of a note: one symbol per section, from the pure section finder. */
import * as vscode from "vscode";
import { findSections } from "./noteSections";

export class NoteOutline implements vscode.DocumentSymbolProvider {
  provideDocumentSymbols(document: vscode.TextDocument): vscode.DocumentSymbol[] {
    const lines = document.getText().split(/\r?\n/);
    return findSections(lines).map((section) => {
      const end = document.lineAt(Math.max(section.line, section.endLine)).range.end;
      const range = new vscode.Range(new vscode.Position(section.line, 0), end);
      return new vscode.DocumentSymbol(section.name, "", vscode.SymbolKind.Namespace, range, document.lineAt(section.line).range);
    });
  }
}
