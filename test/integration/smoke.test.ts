// The extension is installed under its published id and activates; the walkthrough's sample note; Show
// Hardware says why CUDA is or is not used.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import { skipBecause } from "../support/skip";

const EXTENSION_ID = "bedside.bedside";

describe("Bedside extension", () => {
  it(`is installed as ${EXTENSION_ID}`, () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(extension, `${EXTENSION_ID} is not among ${vscode.extensions.all.length} extensions`);
  });

  it("activates", async () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(extension);
    await extension.activate();
    assert.equal(extension.isActive, true);
  });

  it("opens the walkthrough's sample note once, and shows that one again when asked again", async () => {
    const samples = (): vscode.TextDocument[] => vscode.workspace.textDocuments.filter((d) => !d.isClosed && d.isUntitled && d.getText().includes("Continue metformin"));
    assert.equal(samples().length, 0);
    const opened: vscode.TextDocument[] = [];
    try {
      await vscode.commands.executeCommand("bedside.openSampleNote");
      const first = vscode.window.activeTextEditor?.document;
      assert.ok(first && samples().includes(first), "the sample note is the active editor");
      assert.equal(first.languageId, "note");
      await vscode.commands.executeCommand("workbench.action.files.newUntitledFile");
      opened.push(first, ...(vscode.window.activeTextEditor ? [vscode.window.activeTextEditor.document] : []));
      assert.notEqual(vscode.window.activeTextEditor?.document, first);
      await vscode.commands.executeCommand("bedside.openSampleNote");
      assert.equal(vscode.window.activeTextEditor?.document, first, "the same note, brought back");
      assert.equal(samples().length, 1, "no second copy");
    } finally {
      for (const document of [...opened, ...samples()]) {
        if (document.isClosed) continue;
        await vscode.window.showTextDocument(document);
        await vscode.commands.executeCommand("workbench.action.revertAndCloseActiveEditor");
      }
    }
  });

  it("Show Hardware says why CUDA is or is not used: no driver, a driver without CUDA's runtime, the pack installed", async function () {
    if (process.platform !== "linux" || process.arch !== "x64")
      return skipBecause(this, "the CUDA pack exists for linux-x64 (and win32-x64); this host is " + `${process.platform}-${process.arch}`);
    if (fs.existsSync("/proc/driver/nvidia/version")) return skipBecause(this, "this machine has an NVIDIA driver, so the no-driver case cannot be shown here");
    const hardwarePage = async (): Promise<string> => {
      await vscode.commands.executeCommand("bedside.showHardware");
      const text = vscode.window.activeTextEditor?.document.getText() ?? "";
      assert.match(text, /^# The hardware Bedside will use/);
      return text;
    };
    // The extension looks for CUDA's libraries where node-llama-cpp does, the library path first: a folder
    // of (empty) library files on LD_LIBRARY_PATH stands for a driver and a runtime installed there.
    const libs = fs.mkdtempSync(path.join(os.tmpdir(), "bedside-cuda-"));
    const saved = process.env.LD_LIBRARY_PATH;
    try {
      assert.match(await hardwarePage(), /^- CUDA is not used: no NVIDIA driver was found/m);
      process.env.LD_LIBRARY_PATH = libs;
      fs.writeFileSync(path.join(libs, "libcuda.so.1"), "");
      assert.match(
        await hardwarePage(),
        /^- CUDA is not used: the NVIDIA driver is here, but the (installed CUDA pack cannot load|CUDA pack would not load): it needs CUDA 13's runtime libraries/m,
      );
      for (const name of ["libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13"]) fs.writeFileSync(path.join(libs, name), "");
      const ready = await hardwarePage();
      console.log(`      ${ready.split("\n").find((l) => /^- CUDA (is|will)/.test(l)) ?? "(no CUDA line)"}`);
      // In a development checkout npm installed the CUDA pack beside node-llama-cpp (it is an optional
      // dependency on linux-x64); the suite's engine runs on the CPU (bedside.engine.gpu = cpu).
      const packInstalled = fs.existsSync(
        path.join(vscode.extensions.getExtension("bedside.bedside")!.extensionPath, "node_modules", "@node-llama-cpp", "linux-x64-cuda", "package.json"),
      );
      if (packInstalled)
        assert.match(ready, /^- (CUDA is not used: bedside\.engine\.gpu is \w+ \(the CUDA pack and CUDA 13's runtime are here\)|CUDA will be used when a model loads)/m);
      else assert.match(ready, /^- CUDA is not used: the CUDA pack is not installed \(Bedside: Install GPU Acceleration Pack…\)/m);
    } finally {
      if (saved === undefined) delete process.env.LD_LIBRARY_PATH;
      else process.env.LD_LIBRARY_PATH = saved;
      fs.rmSync(libs, { recursive: true, force: true });
      await vscode.commands.executeCommand("workbench.action.closeActiveEditor");
    }
  });
});
