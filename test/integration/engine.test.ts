/**
 * Inside a real VS Code extension host: Bedside activates, takes a generated model from its settings,
 * the status bar says ready, a completion comes from the worker process, and a killed worker comes back
 * without touching the extension host. The host-side runner passes the model's path in BEDSIDE_TEST_MODEL.
 */
import * as assert from "node:assert/strict";
import * as vscode from "vscode";
import type { BedsideApi } from "../../src/extension";
import { until } from "./until";

const EXTENSION_ID = "bedside.bedside";

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

describe("Bedside engine in VS Code", () => {
  let api: BedsideApi;
  const model = process.env.BEDSIDE_TEST_MODEL;
  const settings = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration("bedside");

  before(async () => {
    assert.ok(model, "the runner passes BEDSIDE_TEST_MODEL (a generated GGUF)");
    const extension = vscode.extensions.getExtension<BedsideApi>(EXTENSION_ID);
    assert.ok(extension, `${EXTENSION_ID} is installed`);
    api = await extension.activate();
  });

  after(async () => {
    await settings().update("model.path", undefined, vscode.ConfigurationTarget.Global);
  });

  it("says there is no model before one is configured", () => {
    assert.equal(settings().get("model.path"), "");
    assert.equal(api.engine.state.kind, "noModel");
    assert.match(api.statusBar.text, /no model/);
  });

  it("registers its commands", async () => {
    const commands = await vscode.commands.getCommands(true);
    for (const id of ["bedside.chooseModelFile", "bedside.showLog", "bedside.restartEngine", "bedside.showModelInfo", "bedside.unloadModel"]) {
      assert.ok(commands.includes(id), `${id} is registered`);
    }
    await vscode.commands.executeCommand("bedside.showLog");
  });

  it("loads the model from the settings, shows ready, and completes through the worker; the host stays small", async () => {
    const rssBefore = process.memoryUsage().rss;
    await settings().update("engine.gpu", "cpu", vscode.ConfigurationTarget.Global);
    await settings().update("engine.threads", 1, vscode.ConfigurationTarget.Global);
    await settings().update("engine.contextSize", 512, vscode.ConfigurationTarget.Global);
    await settings().update("model.path", model, vscode.ConfigurationTarget.Global);
    // No request: a model chosen in the settings loads in the background, as at activation.
    const text = await until("the status bar to say ready", () => /Bedside: CPU/.test(api.statusBar.text) && api.statusBar.text);
    assert.match(text, /^\$\(check\) Bedside: CPU$/);

    let streamed = "";
    const result = await api.engine.complete(
      { prompt: "HISTORY OF PRESENT ILLNESS:\nThe patient reports chest pain", maxTokens: 16, lane: "completion" },
      { onText: (t) => (streamed += t) },
    );
    assert.equal(result.generatedTokens, 16);
    assert.ok(result.text.length > 0);
    assert.equal(streamed, result.text);
    assert.ok(api.engine.workerPid && api.engine.workerPid !== process.pid, "the model runs in its own process");

    const growth = process.memoryUsage().rss - rssBefore;
    console.log(`extension host RSS: ${mb(rssBefore)} before the model, ${mb(rssBefore + growth)} after loading and a completion (growth ${mb(growth)})`);
    assert.ok(growth < 50 * 1024 * 1024, `extension host grew by ${mb(growth)}`);
  });

  it("survives kill -9 of the worker mid-stream: clear message, worker back, next completion works", async () => {
    const pid = api.engine.workerPid!;
    let killed = false;
    const inFlight = api.engine.complete({ prompt: "PLAN:", maxTokens: 100_000, lane: "completion" }, { onText: () => !killed && (killed = true) && process.kill(pid, "SIGKILL") });
    await assert.rejects(inFlight, /engine was killed \(SIGKILL\)/);
    await until("the status bar to say ready again", () => api.engine.state.kind === "ready" && /Bedside: CPU/.test(api.statusBar.text));
    assert.notEqual(api.engine.workerPid, pid);
    const next = await api.engine.complete({ prompt: "PLAN:", maxTokens: 4, lane: "completion" });
    assert.equal(next.generatedTokens, 4);
  });

  it("shows an error for a missing model file, then recovers when the setting is fixed", async () => {
    await settings().update("model.path", `${model}.missing`, vscode.ConfigurationTarget.Global);
    await assert.rejects(api.engine.ensureReady(), /no file at/);
    await until("the status bar to show the error", () => /Bedside: error/.test(api.statusBar.text));
    await settings().update("model.path", model, vscode.ConfigurationTarget.Global);
    const info = await api.engine.ensureReady();
    assert.equal(info.architecture, "llama");
  });
});
