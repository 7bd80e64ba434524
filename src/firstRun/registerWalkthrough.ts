/**
 * The Get Started walkthrough (package.json contributes.walkthroughs, media/walkthrough/): its commands
 * (Show Hardware, Open Sample Note) and the context keys that complete its steps when the thing has
 * actually happened: a model loaded, a Bedside suggestion accepted into a note, literature imported, a
 * differential finished.
 */
import * as os from "node:os";
import { readFileSync } from "node:fs";
import * as vscode from "vscode";
import { gpuSetting, type BedsideConfig } from "../config";
import type { EngineSwitch } from "../engine/engineSwitch";
import type { AiTextMarkers } from "../provenance/aiTextMarkers";
import type { DifferentialPanel } from "../ddx/differentialPanel";
import type { LiteratureService } from "../literature/literatureService";
import type { AccelerationParts } from "../packaging/registerAcceleration";
import { currentTarget, platformBinaries } from "../packaging/platforms";
import { cudaVerdict } from "../packaging/cudaReadiness";
import { hardwareReport, type HardwareFacts } from "./hardwareReport";

export const WALKTHROUGH_ID = "bedside.bedside#gettingStarted";
export const CONTEXT = {
  modelReady: "bedside.walkthrough.modelReady",
  completionAccepted: "bedside.walkthrough.completionAccepted",
  literatureImported: "bedside.walkthrough.literatureImported",
  differentialDone: "bedside.walkthrough.differentialDone",
} as const;

export interface WalkthroughParts {
  /** Which steps' context keys are set (tests read it). */
  readonly done: ReadonlySet<string>;
  hardwareFacts(): Promise<HardwareFacts>;
}

export interface WalkthroughDeps {
  config: BedsideConfig;
  engineSwitch: EngineSwitch;
  markers: AiTextMarkers;
  differential: DifferentialPanel;
  library: LiteratureService;
  acceleration: AccelerationParts;
}

const HARDWARE_URI = vscode.Uri.parse("bedside-info:/Bedside%20Hardware.md");

export function registerWalkthrough(context: vscode.ExtensionContext, deps: WalkthroughDeps): WalkthroughParts {
  const done = new Set<string>();
  const mark = (key: string): void => {
    if (done.has(key)) return;
    done.add(key);
    void vscode.commands.executeCommand("setContext", key, true);
  };

  // Step 1: a model loaded (locally or on the team's server).
  const onState = (): void => {
    const kind = deps.engineSwitch.state.kind;
    if (kind === "ready" || kind === "busy") mark(CONTEXT.modelReady);
  };
  onState();
  context.subscriptions.push(deps.engineSwitch.onDidChangeState(onState));

  // Step 3: Bedside text accepted into a note (the provenance markers record each acceptance).
  context.subscriptions.push(
    deps.markers.onDidAccept((uri) => {
      if (vscode.workspace.textDocuments.some((d) => d.uri.toString() === uri.toString() && d.languageId === "note")) mark(CONTEXT.completionAccepted);
    }),
  );

  // Step 4: literature in the library.
  const checkLibrary = (): void => {
    try {
      if (deps.library.count() > 0) mark(CONTEXT.literatureImported);
    } catch {
      // the library is not open yet; it says so when it changes
    }
  };
  checkLibrary();
  context.subscriptions.push(deps.library.onDidChange(checkLibrary));

  // Step 5: a differential that finished with a result.
  context.subscriptions.push(deps.differential.onDidFinish((result) => result && mark(CONTEXT.differentialDone)));

  const hardwareFacts = async (): Promise<HardwareFacts> => {
    const target = currentTarget(process.platform, process.arch);
    const binaries = target ? platformBinaries(target) : undefined;
    const acceleration = await deps.acceleration.status();
    const state = deps.engineSwitch.state;
    const info = state.kind === "ready" || state.kind === "busy" ? state.info : undefined;
    const cpus = os.cpus();
    const gpu = gpuSetting();
    return {
      platform: process.platform,
      arch: process.arch,
      cpuModel: cpus[0]?.model.trim() ?? "",
      logicalCores: cpus.length,
      threads: deps.config.modelChoice?.threads,
      totalMemoryBytes: os.totalmem(),
      freeMemoryBytes: os.freemem(),
      gpuSetting: gpu,
      gpuBackendsInside: binaries?.gpuInside ?? [],
      nvidiaDriver: acceleration.nvidiaDriver,
      cudaPack: acceleration.pack ? { installed: acceleration.installed, approxBytes: acceleration.pack.approxBytes } : undefined,
      ...(acceleration.pack
        ? {
            cuda: cudaVerdict({
              packForPlatform: true,
              gpuSetting: gpu,
              nvidiaDriver: acceleration.nvidiaDriver,
              runtimes: acceleration.runtimes,
              searched: acceleration.searched,
              packInstalled: acceleration.installed,
              fallbackInstalled: acceleration.fallbackInstalled,
              ...(info ? { loadedBackend: info.backend } : {}),
            }),
          }
        : {}),
      ...(info
        ? {
            loaded: {
              backend: info.backend,
              gpuLayers: info.gpuLayers,
              totalLayers: info.totalLayers,
              threads: info.threads,
              modelName: info.name ?? info.path.split(/[\\/]/).pop() ?? info.path,
              contextSize: info.contextSize,
            },
          }
        : {}),
    };
  };

  let report = "";
  let sampleNote: vscode.TextDocument | undefined;
  const changed = new vscode.EventEmitter<vscode.Uri>();
  context.subscriptions.push(
    changed,
    vscode.workspace.registerTextDocumentContentProvider("bedside-info", { onDidChange: changed.event, provideTextDocumentContent: () => report }),
    vscode.commands.registerCommand("bedside.showHardware", async () => {
      report = hardwareReport(await hardwareFacts());
      // Shown again while the page is open: wait until the open document holds the new report (the
      // provider's change event updates it asynchronously; without the wait the old page stayed).
      const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === HARDWARE_URI.toString());
      if (open && open.getText() !== report) {
        const updated = new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            sub.dispose();
            resolve();
          }, 5_000);
          const sub = vscode.workspace.onDidChangeTextDocument((e) => {
            if (e.document.uri.toString() !== HARDWARE_URI.toString() || e.document.getText() !== report) return;
            clearTimeout(timer);
            sub.dispose();
            resolve();
          });
        });
        changed.fire(HARDWARE_URI);
        await updated;
      } else changed.fire(HARDWARE_URI);
      // A read-only document (the markdown preview cannot show a virtual document in every host).
      const document = await vscode.languages.setTextDocumentLanguage(await vscode.workspace.openTextDocument(HARDWARE_URI), "markdown");
      await vscode.window.showTextDocument(document, { preview: true });
    }),
    vscode.commands.registerCommand("bedside.openSampleNote", async () => {
      // One sample note: asked again while it is open (edited or not), it is shown, not opened a second time.
      if (!sampleNote || sampleNote.isClosed) {
        const content = readFileSync(context.asAbsolutePath("media/walkthrough/sample.note"), "utf8");
        sampleNote = await vscode.workspace.openTextDocument({ language: "note", content });
      }
      const document = sampleNote;
      const editor = await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.One });
      const end = document.positionAt(document.getText().trimEnd().length);
      editor.selection = new vscode.Selection(end, end);
      editor.revealRange(new vscode.Range(end, end), vscode.TextEditorRevealType.InCenter);
      await vscode.commands.executeCommand("editor.action.inlineSuggest.trigger");
    }),
    vscode.commands.registerCommand("bedside.openWalkthrough", async () => {
      // VS Code (1.139) records a step's context as already true when it first registers the walkthrough,
      // which it does lazily when the Welcome page first opens, and then never ticks that step. Clear the
      // keys while the page opens and set them again after, so a step done before it opened shows as done.
      const already = [...done];
      for (const key of already) await vscode.commands.executeCommand("setContext", key, false);
      await vscode.commands.executeCommand("workbench.action.openWalkthrough", WALKTHROUGH_ID, false);
      for (const key of already) await vscode.commands.executeCommand("setContext", key, true);
    }),
  );
  return { done, hardwareFacts };
}
