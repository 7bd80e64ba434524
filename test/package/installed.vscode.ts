/**
 * Smoke suite against the INSTALLED .vsix (test/package/run.ts installs it into code-server with
 * --install-extension on a fresh profile): the extension VS Code runs is the copy in the extensions
 * folder with only linux-x64's binaries, it activates, the worker from the package loads a generated
 * model and completes (through the engine and as ghost text in a note), and the chat view opens with the
 * webview script from the package; Draft from Note… drafts an after-visit summary in the packaged draft view; Bedside: Install GPU Acceleration Pack fetches the CUDA build from a
 * registry (a real HTTP server on 127.0.0.1 serving a stand-in tarball), checks it and installs it beside
 * the installed copy's node-llama-cpp, and the engine comes back.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import type { BedsideApi } from "../../src/extension";
import type { ProvidedSuggestion } from "../../src/completion/noteCompletionProvider";
import { until } from "../integration/until";
import { servePackRegistry, tarGz } from "../support/tarball";

const EXTENSION_ID = "bedside.bedside";

describe("Bedside installed from its .vsix", () => {
  let extension: vscode.Extension<BedsideApi>;
  let api: BedsideApi;
  const settings = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration("bedside");
  const global = vscode.ConfigurationTarget.Global;

  before(() => {
    const found = vscode.extensions.getExtension<BedsideApi>(EXTENSION_ID);
    assert.ok(found, `${EXTENSION_ID} is installed`);
    extension = found;
  });

  after(async () => {
    for (let i = 0; i < 10 && vscode.window.activeTextEditor; i++) await vscode.commands.executeCommand("workbench.action.revertAndCloseActiveEditor");
  });

  it("is the copy in the fresh extensions folder, carrying only linux-x64's binaries", () => {
    const extensionsDir = process.env.BEDSIDE_INSTALLED_EXTENSIONS_DIR;
    const devPath = process.env.BEDSIDE_DEV_PATH;
    assert.ok(extensionsDir && devPath, "the runner names the extensions folder and the development folder");
    const home = fs.realpathSync(extension.extensionPath);
    assert.ok(home.startsWith(fs.realpathSync(extensionsDir) + path.sep), `${home} is inside ${extensionsDir}`);
    assert.ok(!home.startsWith(fs.realpathSync(devPath)), "not the development folder");
    assert.equal(extension.packageJSON.devDependencies, undefined, "the packaged manifest has no devDependencies");
    const binaries = fs.readdirSync(path.join(home, "node_modules", "@node-llama-cpp")).sort();
    assert.deepEqual(binaries, ["linux-x64", "linux-x64-vulkan"]);
    assert.ok(fs.existsSync(path.join(home, "dist", "worker.mjs")));
    assert.ok(!fs.existsSync(path.join(home, "src")), "no sources in the package");
    assert.ok(!fs.existsSync(path.join(home, "node_modules", "typescript")), "no dev dependencies in the package");
  });

  it("activates", async () => {
    api = await extension.activate();
    assert.equal(extension.isActive, true);
    const commands = await vscode.commands.getCommands(true);
    for (const id of ["bedside.selectModel", "bedside.differentialDiagnosis", "bedside.draftFromNote", "bedside.chat.new", "bedside.importLiterature"])
      assert.ok(commands.includes(id), id);
  });

  it("loads a generated model in the packaged worker and completes", async () => {
    const model = process.env.BEDSIDE_TEST_MODEL;
    assert.ok(model, "the runner passes BEDSIDE_TEST_MODEL (a generated GGUF)");
    await settings().update("engine.gpu", "cpu", global);
    await settings().update("engine.threads", 1, global);
    await settings().update("engine.contextSize", 512, global);
    await settings().update("model.path", model, global);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const info = await api.engine.ensureReady();
      if (info.path === model) break;
      if (Date.now() > deadline) throw new Error(`the engine did not load ${model}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await until("the status bar to say ready on the CPU", () => /Bedside: CPU/.test(api.statusBar.text));
    assert.ok(api.engine.workerPid && api.engine.workerPid !== process.pid, "the model runs in the worker process");
    const result = await api.engine.complete({ prompt: "ASSESSMENT:\nThe patient", maxTokens: 8, lane: "completion" });
    assert.equal(result.generatedTokens, 8);
    assert.ok(result.text.length > 0);
  });

  it("shows an inline completion in a note", async () => {
    const content = "HISTORY OF PRESENT ILLNESS:\nThe patient reports chest pain and shortness of breath since this morning and";
    const document = await vscode.workspace.openTextDocument({ language: "note", content });
    const editor = await vscode.window.showTextDocument(document);
    const end = document.positionAt(content.length);
    editor.selection = new vscode.Selection(end, end);
    const uri = document.uri.toString();
    const provided = new Promise<ProvidedSuggestion>((resolve) => {
      const sub = api.completions.provider.onDidProvide((p) => {
        if (p.uri === uri && p.offset === content.length) {
          sub.dispose();
          resolve(p);
        }
      });
    });
    await vscode.commands.executeCommand("editor.action.inlineSuggest.trigger");
    const suggestion = await Promise.race([provided, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no suggestion within 30 s")), 30_000))]);
    assert.equal(suggestion.uri, uri);
  });

  it("drafts an after-visit summary from a note (Draft from Note…), shown by the packaged draft view", async () => {
    const document = await vscode.workspace.openTextDocument({
      language: "note",
      content: "HPI:\nCough and fever for 3 days. No chest pain.\n\nMEDICATIONS:\nLisinopril 5 mg daily.\n\nPLAN:\nChest x-ray. Follow up in two weeks.\n",
    });
    await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
    const panel = api.documents.panel;
    const finished = new Promise<unknown>((resolve) => {
      const sub = panel.onDidFinish((result) => {
        sub.dispose();
        resolve(result);
      });
    });
    await vscode.commands.executeCommand("bedside.draftFromNote", undefined, "builtin:after-visit-summary");
    const result = (await finished) as { cancelled: boolean; fields: Record<string, { state: string }> } | undefined;
    assert.ok(result && !result.cancelled, "the draft finished");
    assert.ok(
      Object.values(result.fields).every((f) => f.state === "done"),
      "every field written",
    );
    // The view's script (media/webview/documents.js from the package) drew the draft.
    const shown = await until("the draft view to show the draft", () => {
      const r = panel.lastRendered;
      return r && !r.running && r.text.startsWith("# After-Visit Summary") && r;
    });
    assert.equal(shown.text, panel.review?.text);
  });

  it("opens the chat view, whose script from the package starts", async () => {
    const session = api.chat.session;
    let started = false;
    const publish = session.publish.bind(session);
    // The webview's script says "ready" once it runs; the host answers with publish().
    session.publish = (...args: Parameters<typeof publish>) => {
      started = true;
      return publish(...args);
    };
    try {
      await vscode.commands.executeCommand("bedside.chat.focus");
      await until("the chat view to be visible", () => api.chat.view.visible);
      await until("the chat webview's script to start", () => started);
    } finally {
      session.publish = publish;
    }
  });
  it("installs the GPU acceleration pack from a registry into the installed copy, checked, and the engine comes back", async () => {
    const name = "@node-llama-cpp/linux-x64-cuda";
    const version = (JSON.parse(fs.readFileSync(path.join(extension.extensionPath, "node_modules", "node-llama-cpp", "package.json"), "utf8")) as { version: string }).version;
    // A stand-in with the real package's name and version; the engine runs on the CPU here, so it is never loaded.
    const tarball = tarGz([
      { name: "package/package.json", body: JSON.stringify({ name, version, type: "module", main: "dist/index.js" }) },
      { name: "package/dist/index.js", body: "export function getBinsDir() { return { binsDir: undefined, packageVersion: undefined }; }\n" },
    ]);
    const server = await servePackRegistry(tarball, { name, version });
    try {
      const before = await api.firstRun.acceleration.status();
      assert.equal(before.pack?.packageName, name, "linux-x64 offers the CUDA build on demand");
      assert.equal(before.installed, false, "the .vsix does not carry it");
      const pid = api.engine.workerPid;
      // Through the API: the command itself takes no arguments (a command link must not name the registry
      // or skip the question), and always asks.
      const ok = await api.firstRun.acceleration.install({ registry: server.url, skipConfirmation: true });
      assert.equal(ok, true);
      assert.deepEqual(server.requests, [`/@node-llama-cpp%2flinux-x64-cuda/${version}`, `/tarballs/linux-x64-cuda-${version}.tgz`]);
      const installed = JSON.parse(fs.readFileSync(path.join(extension.extensionPath, "node_modules", "@node-llama-cpp", "linux-x64-cuda", "package.json"), "utf8")) as {
        version: string;
      };
      assert.equal(installed.version, version);
      assert.equal((await api.firstRun.acceleration.status()).installed, true);
      await api.engine.ensureReady();
      assert.notEqual(api.engine.workerPid, pid, "the engine restarted");
      const result = await api.engine.complete({ prompt: "PLAN:", maxTokens: 4, lane: "general" });
      assert.equal(result.generatedTokens, 4);
    } finally {
      await server.close();
    }
  });
});
