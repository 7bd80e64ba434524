/**
 * Privacy in a real VS Code: "Bedside: Check Note for Identifiers" marks each identifier in the note with a
 * warning at its exact range, follows edits and clears on close; Bedside's settings ignore a workspace's
 * model path, draft model and note-text logging when the workspace is untrusted.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import { BedsideConfig, readSetting } from "../../src/config";
import * as net from "node:net";
import type { PhiSpan } from "../../src/privacy/phiDetector";
import { SELF_TEST_HOST } from "../support/noEgressGuard";
import { until } from "./until";
import { skipBecause } from "../support/skip";

describe("Bedside privacy in VS Code", () => {
  before(async () => {
    await vscode.extensions.getExtension("bedside.bedside")!.activate();
  });

  after(async () => {
    for (let i = 0; i < 10 && vscode.window.activeTextEditor; i++) await vscode.commands.executeCommand("workbench.action.revertAndCloseActiveEditor");
  });

  it("Check Note for Identifiers marks each identifier at its range, follows edits and clears on close", async () => {
    const content = "Patient: Maria Gonzalez\nMRN: 00482913\nDOB 04/12/1951. Call 555-867-5309.\nmetoprolol 25 mg BID, BP 118/76.\n";
    const document = await vscode.workspace.openTextDocument({ language: "note", content });
    await vscode.window.showTextDocument(document);
    const spans = await vscode.commands.executeCommand<PhiSpan[]>("bedside.checkNoteForIdentifiers");
    assert.deepEqual(
      spans.map((s) => `${s.category}:${s.text}`),
      ["name:Maria Gonzalez", "mrn:00482913", "date:04/12/1951", "phone:555-867-5309"],
    );

    const diagnostics = vscode.languages.getDiagnostics(document.uri).filter((d) => d.source === "Bedside identifiers");
    assert.equal(diagnostics.length, 4);
    assert.deepEqual(
      diagnostics.map((d) => document.getText(d.range)),
      ["Maria Gonzalez", "00482913", "04/12/1951", "555-867-5309"],
    );
    assert.ok(diagnostics.every((d) => d.severity === vscode.DiagnosticSeverity.Warning && /identifier/.test(d.message)));
    assert.equal(document.getText(), content, "checking never changes the note");

    // Remove the phone number: the warnings follow the note.
    const editor = vscode.window.activeTextEditor!;
    const phone = content.indexOf("555-867-5309");
    await editor.edit((b) => b.replace(new vscode.Range(document.positionAt(phone), document.positionAt(phone + 12)), "the ward"));
    await until("three warnings after the edit", () => vscode.languages.getDiagnostics(document.uri).filter((d) => d.source === "Bedside identifiers").length === 3);

    await vscode.commands.executeCommand("workbench.action.revertAndCloseActiveEditor");
    await until("warnings cleared on close", () => vscode.languages.getDiagnostics(document.uri).length === 0);
  });

  it("under npm test, the extension host's outbound connections are blocked by the egress guard", async function () {
    if (!process.env.BEDSIDE_EGRESS_LOG) skipBecause(this, "no egress guard in this run (BEDSIDE_EGRESS_LOG is set by npm test)");
    const code = await new Promise<string>((resolve) =>
      net
        .connect(443, SELF_TEST_HOST)
        .on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? ""))
        .on("connect", () => resolve("connected")),
    );
    assert.equal(code, "EEGRESS", "without the guard this would be a DNS failure, not EEGRESS");
  });

  it("ignores the workspace's model path, draft model and note-text logging while the workspace is untrusted", async () => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, "the harness opens a workspace folder");
    const settingsDir = path.join(folder.uri.fsPath, ".vscode");
    const hadSettingsDir = fs.existsSync(settingsDir);
    const settings = vscode.workspace.getConfiguration("bedside");
    const userModel = path.join(folder.uri.fsPath, "user-model.gguf");
    const previousUserModel = settings.inspect<string>("model.path")?.globalValue;
    try {
      await settings.update("model.path", userModel, vscode.ConfigurationTarget.Global);
      await settings.update("model.path", "/from-the-workspace/evil.gguf", vscode.ConfigurationTarget.Workspace);
      await settings.update("engine.draftModelPath", "/from-the-workspace/draft.gguf", vscode.ConfigurationTarget.Workspace);
      await settings.update("log.includeNoteText", true, vscode.ConfigurationTarget.Workspace);
      await settings.update("completion.maxTokens", 7, vscode.ConfigurationTarget.Workspace);

      const trusted = new BedsideConfig({}, () => true);
      const untrusted = new BedsideConfig({}, () => false);
      try {
        assert.equal(trusted.modelPath, "/from-the-workspace/evil.gguf", "a trusted workspace's value counts");
        assert.equal(trusted.engine.draftModelPath, "/from-the-workspace/draft.gguf");
        assert.equal(trusted.logNoteText, true);
        assert.equal(untrusted.modelPath, userModel, "untrusted: the user's own value, not the workspace's");
        assert.equal(untrusted.engine.draftModelPath, undefined);
        assert.equal(untrusted.logNoteText, false);
        assert.equal(untrusted.completion.maxTokens, 7, "settings that point nowhere still follow the workspace");
        assert.equal(
          readSetting<string>("model.path", () => false),
          userModel,
        );
      } finally {
        trusted.dispose();
        untrusted.dispose();
      }
    } finally {
      for (const key of ["model.path", "engine.draftModelPath", "log.includeNoteText", "completion.maxTokens"])
        await settings.update(key, undefined, vscode.ConfigurationTarget.Workspace);
      await settings.update("model.path", previousUserModel, vscode.ConfigurationTarget.Global);
      if (!hadSettingsDir) fs.rmSync(settingsDir, { recursive: true, force: true });
    }
  });
});
