/**
 * Composition root: builds Bedside's parts and wires them together. No logic lives here.
 */
import * as vscode from "vscode";
import { BedsideConfig, relevanceThreshold, remoteEngineSettings } from "./config";
import type { EngineClient } from "./engine/client/engineClient";
import { EngineHost } from "./engine/engineHost";
import { LineLog } from "./log/log";
import { EngineStatusBar } from "./status/engineStatusBar";
import { EngineView } from "./views/engineView";
import { registerCompletions, type CompletionParts } from "./completion/registerCompletions";
import { registerChat, type ChatParts } from "./chat/registerChat";
import { registerDifferential } from "./ddx/registerDifferential";
import { registerDocuments, type DocumentsParts } from "./documents/registerDocuments";
import { registerIdentifierCheck } from "./privacy/checkNote";
import type { DifferentialPanel } from "./ddx/differentialPanel";
import { chooseModelFile, offerModelChoice, showModelReady } from "./commands";
import { registerModels, type ModelsParts } from "./models/registerModels";
import { embeddingPrefixes } from "./models/catalog";
import { registerLiterature, type LiteratureParts } from "./literature/registerLiterature";
import { registerAcceleration, type AccelerationParts } from "./packaging/registerAcceleration";
import { registerWalkthrough, type WalkthroughParts } from "./firstRun/registerWalkthrough";

/** What activate() returns: the parts tests and other extensions may use. */
export interface BedsideApi {
  engine: EngineClient;
  statusBar: EngineStatusBar;
  config: BedsideConfig;
  completions: CompletionParts;
  chat: ChatParts;
  differential: DifferentialPanel;
  /** "Draft from Note…": the draft view and the templates on offer. */
  documents: DocumentsParts;
  /** Catalog, Select/Download Model, and the engine switch (local worker or bedside.engine.endpoint). */
  models: ModelsParts;
  /** The local literature library (LiteratureLibrary: search(query, k)), its import, and the answer panel. */
  literature: LiteratureParts;
  /** The Get Started walkthrough's steps and the GPU acceleration pack (CUDA, fetched on demand). */
  firstRun: { walkthrough: WalkthroughParts; acceleration: AccelerationParts };
}

let host: EngineHost | undefined;

export function activate(context: vscode.ExtensionContext): BedsideApi {
  const output = vscode.window.createOutputChannel("Bedside");
  const config = new BedsideConfig();
  config.warmStartDir = vscode.Uri.joinPath(context.globalStorageUri, "note-states").fsPath;
  const log = new LineLog((line) => output.appendLine(line), { debug: () => config.debugLogging, includeNoteText: () => config.logNoteText });

  // The engine's one owner: the local worker, the remote server (bedside.engine.endpoint), settings, restarts.
  const engineHost = new EngineHost({
    workerPath: context.asAbsolutePath("dist/worker.mjs"),
    execPath: process.execPath,
    config,
    remoteSettings: remoteEngineSettings,
    secrets: context.secrets,
    log,
  });
  host = engineHost;
  const { local: engine, engine: engineSwitch } = engineHost;
  const statusBar = new EngineStatusBar();
  const view = new EngineView();
  const showState = (): void => {
    statusBar.update(engineSwitch.state);
    view.update(engineSwitch.state);
  };
  context.subscriptions.push(output, config, statusBar, view, engineSwitch.onDidChangeState(showState), { dispose: () => void engineHost.dispose() });
  context.subscriptions.push(vscode.window.registerTreeDataProvider("bedside.engine", view));
  showState();

  context.subscriptions.push(
    vscode.commands.registerCommand("bedside.showLog", () => output.show(true)),
    vscode.commands.registerCommand("bedside.chooseModelFile", () => chooseModelFile(engineHost)),
    vscode.commands.registerCommand("bedside.showModelInfo", () => showModelReady(engine)),
    vscode.commands.registerCommand("bedside.restartEngine", () => engineHost.restart()),
    vscode.commands.registerCommand("bedside.unloadModel", () => engine.unload()),
  );

  const models = registerModels(context, config, engineHost, log);
  const completions = registerCompletions(context, engineSwitch, config, log);
  // The literature library first: chat and the differential search it (LiteratureSearch, literature/library.ts).
  const literature = registerLiterature(context, engineSwitch, {
    engine: engineHost.embedding,
    config,
    prefixes: (fileName) => embeddingPrefixes(models.catalog, fileName),
    log,
  });
  const chat = registerChat(context, engineSwitch, completions.markers, literature.library, relevanceThreshold);
  const differential = registerDifferential(context, engineSwitch, completions.markers, literature.library);
  const documents = registerDocuments(context, engineSwitch, completions.markers);
  registerIdentifierCheck(context);
  const acceleration = registerAcceleration(context, engineHost);
  const walkthrough = registerWalkthrough(context, { config, engineSwitch, markers: completions.markers, differential, library: literature.library, acceleration });

  const choice = config.modelChoice;
  log.info(`Bedside ${context.extension.packageJSON.version as string} activated; ${choice ? `model ${choice.path}, ${choice.threads} threads` : "no model configured"}.`);
  // Load in the background so the first completion does not wait for it; activation never does.
  if (choice) engineHost.loadInBackground();
  else void offerModelChoice();
  return { engine, statusBar, config, completions, differential, documents, chat, models, literature, firstRun: { walkthrough, acceleration } };
}

export async function deactivate(): Promise<void> {
  await host?.dispose();
  host = undefined;
}
