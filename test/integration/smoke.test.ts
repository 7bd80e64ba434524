// The extension is installed under its published id and activates; the walkthrough's sample note.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

const EXTENSION_ID = 'bedside.bedside';

describe('Bedside extension', () => {
  it(`is installed as ${EXTENSION_ID}`, () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(extension, `${EXTENSION_ID} is not among ${vscode.extensions.all.length} extensions`);
  });

  it('activates', async () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(extension);
    await extension.activate();
    assert.equal(extension.isActive, true);
  });

  it("opens the walkthrough's sample note once, and shows that one again when asked again", async () => {
    const samples = (): vscode.TextDocument[] => vscode.workspace.textDocuments.filter((d) => !d.isClosed && d.isUntitled && d.getText().includes('Continue metformin'));
    assert.equal(samples().length, 0);
    const opened: vscode.TextDocument[] = [];
    try {
      await vscode.commands.executeCommand('bedside.openSampleNote');
      const first = vscode.window.activeTextEditor?.document;
      assert.ok(first && samples().includes(first), 'the sample note is the active editor');
      assert.equal(first.languageId, 'note');
      await vscode.commands.executeCommand('workbench.action.files.newUntitledFile');
      opened.push(first, ...(vscode.window.activeTextEditor ? [vscode.window.activeTextEditor.document] : []));
      assert.notEqual(vscode.window.activeTextEditor?.document, first);
      await vscode.commands.executeCommand('bedside.openSampleNote');
      assert.equal(vscode.window.activeTextEditor?.document, first, 'the same note, brought back');
      assert.equal(samples().length, 1, 'no second copy');
    } finally {
      for (const document of [...opened, ...samples()]) {
        if (document.isClosed) continue;
        await vscode.window.showTextDocument(document);
        await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
      }
    }
  });
});
