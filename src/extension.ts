/**
 * Composition root: builds Bedside's parts and wires them together. No logic lives here.
 */
import * as vscode from "vscode";
import { BedsideConfig, relevanceThreshold } from "./config";
import { EngineClient } from "./engine/client/engineClient";
import { LineLog } from "./log/log";
import { EngineStatusBar } from "./status/engineStatusBar";
import { EngineView } from "./views/engineView";
import { registerCompletions, type CompletionParts } from "./completion/registerCompletions";
import { registerChat, type ChatParts } from "./chat/registerChat";
import { registerDifferential } from "./ddx/registerDifferential";
import { registerDocuments, type DocumentsParts } from "./documents/registerDocuments";
import { registerIdentifierCheck } from "./privacy/checkNote";
import type { DifferentialPanel } from "./ddx/differentialPanel";
import { chooseModelFile, offerModelChoice, restartEngine, showModelReady } from "./commands";
import { EngineSwitch } from "./engine/remote/engineSwitch";
import { registerModels, type ModelsParts } from "./models/registerModels";
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

let engineToDispose: EngineClient | undefined;

export function activate(context: vscode.ExtensionContext): BedsideApi {
  const output = vscode.window.createOutputChannel("Bedside");
  const config = new BedsideConfig();
  config.warmStartDir = vscode.Uri.joinPath(context.globalStorageUri, "note-states").fsPath;
  const log = new LineLog((line) => output.appendLine(line), { debug: () => config.debugLogging, includeNoteText: () => config.logNoteText });

  const engine = new EngineClient({
    workerPath: context.asAbsolutePath("dist/worker.mjs"),
    execPath: process.execPath,
    log,
    idleUnloadMs: config.engine.idleUnloadMinutes * 60_000,
  });
  engineToDispose = engine;
  // Features talk to the switch: the local worker, or the remote server when bedside.engine.endpoint is set.
  const engineSwitch = new EngineSwitch(engine);
  const statusBar = new EngineStatusBar();
  const view = new EngineView();
  const showState = (): void => {
    statusBar.update(engineSwitch.state);
    view.update(engineSwitch.state);
  };
  context.subscriptions.push(output, config, statusBar, view, engineSwitch.onDidChangeState(showState));
  context.subscriptions.push(vscode.window.registerTreeDataProvider("bedside.engine", view));

  engine.configure(config.modelChoice);
  showState();
  context.subscriptions.push(
    config.onDidChange(() => {
      const choice = config.modelChoice;
      const changed = engine.configure(choice);
      engine.setIdleUnloadMs(config.engine.idleUnloadMinutes * 60_000);
      // A new model (or new engine settings) loads in the background, as at activation: the clinician who
      // picked it expects it ready, and a load that started before the change must not leave it idle.
      if (choice && changed && engineSwitch.active === engine) void engine.ensureReady().catch(() => undefined);
    }),
  );

  context.subscriptions.push(
    vscode.commands.registerCommand("bedside.showLog", () => output.show(true)),
    vscode.commands.registerCommand("bedside.chooseModelFile", () => chooseModelFile(config, engine)),
    vscode.commands.registerCommand("bedside.showModelInfo", () => showModelReady(engine)),
    vscode.commands.registerCommand("bedside.restartEngine", () => restartEngine(engine)),
    vscode.commands.registerCommand("bedside.unloadModel", () => engine.unload()),
  );

  const models = registerModels(context, config, engine, engineSwitch, log);
  const completions = registerCompletions(context, engineSwitch, config, log);
  // The literature library first: chat and the differential search it (LiteratureSearch, literature/library.ts).
  const literature = registerLiterature(context, engineSwitch);
  const chat = registerChat(context, engineSwitch, completions.markers, literature.library, relevanceThreshold);
  const differential = registerDifferential(context, engineSwitch, completions.markers, literature.library);
  const documents = registerDocuments(context, engineSwitch, completions.markers);
  registerIdentifierCheck(context);
  const acceleration = registerAcceleration(context, () => restartEngine(engine));
  const walkthrough = registerWalkthrough(context, { config, engineSwitch, markers: completions.markers, differential, library: literature.library, acceleration });

  const choice = config.modelChoice;
  log.info(`Bedside ${context.extension.packageJSON.version as string} activated; ${choice ? `model ${choice.path}, ${choice.threads} threads` : "no model configured"}.`);
  if (choice) {
    // Load in the background so the first completion does not wait for it; activation never does.
    if (engineSwitch.active === engine) void engine.ensureReady().catch(() => undefined);
  } else {
    void offerModelChoice();
  }
  return { engine, statusBar, config, completions, differential, documents, chat, models, literature, firstRun: { walkthrough, acceleration } };
}

export async function deactivate(): Promise<void> {
  await engineToDispose?.dispose();
  engineToDispose = undefined;
}
