/**
 * Models in a real VS Code: "Download Model" fetches a catalog entry from a real HTTP server on
 * 127.0.0.1 (serving a generated GGUF under Meditron-7B's file name) into the models folder, records its
 * SHA-256 and selects it; the engine loads it; "Select Model" opens the real quick pick with installed and
 * downloadable models and picks the installed one.
 */
import * as assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as vscode from "vscode";
import type { BedsideApi } from "../../src/extension";
import { ModelFileServer } from "../engine/modelFileServer";
import { until } from "./until";

describe("Bedside models in VS Code", () => {
  let api: BedsideApi;
  let server: ModelFileServer;
  let folder: string;
  let body: Buffer;
  const settings = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration("bedside");

  before(async () => {
    const model = process.env.BEDSIDE_TEST_MODEL;
    assert.ok(model, "the runner passes BEDSIDE_TEST_MODEL (a generated GGUF)");
    body = readFileSync(model);
    api = await vscode.extensions.getExtension<BedsideApi>("bedside.bedside")!.activate();
    server = new ModelFileServer(body, "meditron-7b.Q4_K_M.gguf");
    server.chunkBytes = 32 * 1024;
    await server.start();
    folder = mkdtempSync(join(tmpdir(), "bedside-models-"));
    await settings().update("models.folder", folder, vscode.ConfigurationTarget.Global);
    await settings().update("engine.gpu", "cpu", vscode.ConfigurationTarget.Global);
    await settings().update("engine.threads", 1, vscode.ConfigurationTarget.Global);
    await settings().update("engine.contextSize", 512, vscode.ConfigurationTarget.Global);
  });

  after(async () => {
    await vscode.commands.executeCommand("workbench.action.closeQuickOpen");
    for (const key of ["models.folder", "model.path", "engine.gpu", "engine.threads", "engine.contextSize"])
      await settings().update(key, undefined, vscode.ConfigurationTarget.Global);
    await server.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  it("registers Select Model and Download Model", async () => {
    const commands = await vscode.commands.getCommands(true);
    for (const id of ["bedside.selectModel", "bedside.downloadModel", "bedside.setServerApiKey"]) assert.ok(commands.includes(id), id);
  });

  it("downloads a catalog model over HTTP into the models folder, records its SHA-256, selects and loads it", async () => {
    const dest = await vscode.commands.executeCommand<string | undefined>("bedside.downloadModel", {
      modelId: "meditron-7b",
      quantization: "Q4_K_M",
      url: server.url,
      licenceAccepted: true,
    });
    assert.equal(dest, join(folder, "meditron-7b.Q4_K_M.gguf"));
    assert.equal(statSync(dest).size, body.length);
    assert.equal(existsSync(`${dest}.part`), false);
    const sha = createHash("sha256").update(body).digest("hex");
    assert.equal(api.models.recordedSha256("meditron-7b.Q4_K_M.gguf"), sha, "no published hash: the first verified download's hash is recorded");
    assert.equal(settings().get("model.path"), dest);
    const info = await api.engine.ensureReady();
    assert.equal(info.path, dest);
    await until("the status bar shows the backend", () => /CPU/.test(api.statusBar.text));
  });

  it("downloads again verifying against the recorded hash, and rejects a changed file", async () => {
    rmSync(join(folder, "meditron-7b.Q4_K_M.gguf"));
    const changed = Buffer.from(body);
    changed[changed.length - 10] ^= 0xff;
    server.body = changed;
    const dest = await vscode.commands.executeCommand<string | undefined>("bedside.downloadModel", {
      modelId: "meditron-7b",
      quantization: "Q4_K_M",
      url: server.url,
      licenceAccepted: true,
      use: false,
    });
    assert.equal(dest, undefined, "the mismatched download is refused");
    assert.equal(existsSync(join(folder, "meditron-7b.Q4_K_M.gguf")), false);
    assert.equal(existsSync(join(folder, "meditron-7b.Q4_K_M.gguf.part")), false, "and deleted");
    server.body = body;
    const again = await vscode.commands.executeCommand<string | undefined>("bedside.downloadModel", {
      modelId: "meditron-7b",
      quantization: "Q4_K_M",
      url: server.url,
      licenceAccepted: true,
      use: false,
    });
    assert.equal(again, join(folder, "meditron-7b.Q4_K_M.gguf"));
  });

  it("lists installed and downloadable models with size, licence and fit, plus Choose a GGUF file", async () => {
    const picks = await api.models.picks();
    const labels = picks.map((p) => p.label);
    const installedAt = labels.indexOf("Installed");
    const availableAt = labels.indexOf("Available to download");
    const meditron = picks.find((p) => p.action?.kind === "use" && p.action.path.endsWith("meditron-7b.Q4_K_M.gguf"));
    assert.ok(meditron && labels.indexOf(meditron.label) > installedAt && labels.indexOf(meditron.label) < availableAt, labels.join(" | "));
    assert.match(meditron.description ?? "", /MB · Llama 2 Community License/);
    assert.match(meditron.detail ?? "", /fits \(CPU/);
    const q8 = picks.find((p) => /Meditron-7B Q8_0/.test(p.label))!;
    assert.match(q8.description ?? "", /7\.2 GB · Llama 2 Community License/);
    assert.match(q8.detail ?? "", /fits|tight|too big/);
    assert.match(q8.detail ?? "", /base model/);
    const big = picks.find((p) => /Meditron-70B/.test(p.label))!;
    assert.match(big.detail ?? "", /too big|tight|GPU/);
    assert.ok(picks.some((p) => /BioMedLM/.test(p.label) && p.action?.kind === "noFile"));
    assert.ok(picks.some((p) => p.action?.kind === "chooseFile" && /Choose a GGUF file/.test(p.label)));
  });

  it("lists the current model as installed even when it lives outside the models folder", async () => {
    await settings().update("model.path", process.env.BEDSIDE_TEST_MODEL, vscode.ConfigurationTarget.Global);
    const picks = await api.models.picks();
    const current = picks.find((p) => p.action?.kind === "use" && p.action.path === process.env.BEDSIDE_TEST_MODEL);
    assert.ok(current, picks.map((p) => p.label).join(" | "));
    assert.match(current.label, /^\$\(check\) /);
    assert.ok(picks.indexOf(current) < picks.findIndex((p) => p.label === "Available to download"));
  });

  it("Select Model opens the quick pick and selecting the installed model uses it", async () => {
    await settings().update("model.path", undefined, vscode.ConfigurationTarget.Global);
    assert.equal(settings().get("model.path"), "");
    const selected = vscode.commands.executeCommand("bedside.selectModel");
    // The real quick pick: the first item is the installed model; accept it as a user pressing Enter would.
    await new Promise((r) => setTimeout(r, 1500));
    await vscode.commands.executeCommand("workbench.action.acceptSelectedQuickOpenItem");
    await selected;
    assert.equal(settings().get("model.path"), join(folder, "meditron-7b.Q4_K_M.gguf"));
  });
});
