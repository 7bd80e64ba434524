/**
 * A compressed clinic day in a real VS Code (code-server), loaded by test/soak/run.ts: real MTSamples notes
 * typed word by word into .note files with inline suggestions asked through VS Code's own trigger command
 * (which calls Bedside's provider), a differential every third note and a chat message every fourth through
 * the product's commands, the PubMedQA library imported once and a cited literature answer every sixth
 * note, and two SIGKILLs of the engine worker with recovery checked. Every few seconds it samples the
 * extension host (this process) and the engine worker (its child running dist/worker.mjs): resident memory
 * (VmRSS), open descriptors, Node's active handles; it writes the series for run.ts to judge.
 *
 * A failed step is recorded as an error and the day goes on; the test fails only when the day itself cannot
 * run (no model, no notes). Environment: BEDSIDE_TEST_MODEL, BEDSIDE_SHARED_DATA, BEDSIDE_SOAK_MINUTES,
 * BEDSIDE_SOAK_SAMPLE_MS, BEDSIDE_SOAK_SERIES (where the series goes).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as v8 from "node:v8";
import * as vm from "node:vm";
import * as vscode from "vscode";
import type { BedsideApi } from "../../src/extension";
import type { ProvidedSuggestion } from "../../src/completion/noteCompletionProvider";
import type { DifferentialResult } from "../../src/ddx/differential";
import type { RequestLogEntry } from "../../src/engine/requestLog";
import { readSampleNotes, sharedDataDir } from "../support/sharedData";
import { childProcesses, openDescriptors, residentBytes } from "./procStats";
import type { SoakError, SoakKill, SoakSample, SoakSeries } from "./soakSeries";

const EXTENSION_ID = "bedside.bedside";
const WORKER = /dist\/worker\.mjs/;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves with the promise's value, or with `undefined` after `ms`. */
function within<T>(promise: PromiseLike<T>, ms: number): Promise<{ value: T } | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([Promise.resolve(promise).then((value) => ({ value })), new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]).finally(
    () => clearTimeout(timer),
  );
}

/** A full garbage collection before each sample, so that a sample measures what is kept, not garbage not yet collected. */
function garbageCollector(): () => void {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  return gc;
}

describe("Bedside soak: a clinic day", function () {
  const minutes = Number(process.env.BEDSIDE_SOAK_MINUTES ?? "30");
  const durationMs = minutes * 60_000;
  this.timeout(durationMs + 10 * 60_000);
  const sampleMs = Number(process.env.BEDSIDE_SOAK_SAMPLE_MS ?? "5000");
  // Model load, library import and the first notes allocate once: not counted as growth.
  const warmUpMs = Math.max(60_000, Math.round(durationMs * 0.1));
  const settleMs = 30_000;
  const killAt = [0.45, 0.62].map((f) => Math.round(durationMs * f));
  const typingDelayMs = 40;
  const noteChars = 700;
  const settings = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration("bedside");
  const global = vscode.ConfigurationTarget.Global;

  let api: BedsideApi;
  let notesDir: string | undefined;
  let started = 0;
  /** What the engine loaded: the setting (512), capped at what the model was trained on. */
  let contextSize = 0;
  const elapsed = (): number => Date.now() - started;
  const samples: SoakSample[] = [];
  const kills: SoakKill[] = [];
  const errors: SoakError[] = [];
  const counts: Record<string, number> = {
    notes: 0,
    wordsTyped: 0,
    completionsAsked: 0,
    completionsShown: 0,
    completionsEmpty: 0,
    engineRequests: 0,
    engineRequestsAborted: 0,
    differentials: 0,
    chats: 0,
    answers: 0,
    imports: 0,
  };
  const fail = (step: string, message: string): void => {
    errors.push({ t: elapsed(), step, message });
    console.log(`      ✗ ${step}: ${message}`);
  };

  /** The engine worker: this extension host's child running dist/worker.mjs (the client's own PID, checked against /proc). */
  function workerPid(): number | undefined {
    const children = childProcesses(process.pid, WORKER);
    const known = api.engine.workerPid;
    if (known !== undefined && children.includes(known)) return known;
    return children.length === 1 ? children[0] : undefined;
  }

  /** BEDSIDE_SOAK_HEAP_SNAPSHOTS=1: a heap snapshot of the extension host when the warm-up ends and when the day ends (test/soak/heapDiff.ts compares them). */
  function heapSnapshot(name: string): void {
    const file = process.env.BEDSIDE_SOAK_SERIES;
    if (process.env.BEDSIDE_SOAK_HEAP_SNAPSHOTS !== "1" || !file) return;
    gc();
    const written = v8.writeHeapSnapshot(file.replace(/\.json$/, `-${name}.heapsnapshot`));
    console.log(`      heap snapshot: ${written}`);
  }

  let gc: () => void = () => undefined;
  function sample(): void {
    gc();
    const host = process.pid;
    const rss = residentBytes(host);
    const fds = openDescriptors(host);
    if (rss === undefined || fds === undefined) return;
    const s: SoakSample = {
      t: elapsed(),
      host: { pid: host, rss, fds, handles: process.getActiveResourcesInfo().length, heapUsed: process.memoryUsage().heapUsed },
    };
    const pid = workerPid();
    const wRss = pid === undefined ? undefined : residentBytes(pid);
    const wFds = pid === undefined ? undefined : openDescriptors(pid);
    if (pid !== undefined && wRss !== undefined && wFds !== undefined) s.worker = { pid, rss: wRss, fds: wFds };
    samples.push(s);
  }

  // Engine requests seen so far; one that ended in "error" outside a kill's recovery is a failed step.
  const seenRequests = new Set<number>();
  function scanRequests(): void {
    for (const entry of api.engine.requestLog.recent()) {
      if (entry.finishedAt === undefined || seenRequests.has(entry.id)) continue;
      seenRequests.add(entry.id);
      counts.engineRequests!++;
      if (entry.stopReason === "aborted") counts.engineRequestsAborted!++;
      if (entry.stopReason === "error" && !duringKill(entry)) fail("engine request", `${entry.kind} on the ${entry.lane} lane ended in an error`);
    }
  }
  function duringKill(entry: RequestLogEntry): boolean {
    const at = (entry.finishedAt ?? entry.startedAt) - started;
    return kills.some((k) => at >= k.t - 1000 && (k.recoveredAt === undefined || at <= k.recoveredAt));
  }

  function writeSeries(): void {
    const file = process.env.BEDSIDE_SOAK_SERIES;
    if (!file) return;
    const series: SoakSeries = {
      settings: {
        minutes,
        sampleMs,
        model: path.basename(process.env.BEDSIDE_TEST_MODEL ?? ""),
        contextSize,
        threads: 1,
        gpu: "cpu",
        typingDelayMs,
        noteChars,
        differentialEvery: 3,
        chatEvery: 4,
        answerEvery: 6,
        killsAtFractions: "0.45,0.62",
        vscode: vscode.version,
        node: process.version,
      },
      warmUpMs,
      settleMs,
      durationMs: Math.max(elapsed(), 1),
      samples,
      kills,
      errors,
      counts,
    };
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(series));
  }

  before(async () => {
    const model = process.env.BEDSIDE_TEST_MODEL;
    assert.ok(model, "the runner passes BEDSIDE_TEST_MODEL (a generated GGUF)");
    assert.ok(sharedDataDir(), "the runner passes BEDSIDE_SHARED_DATA (MTSamples notes, PubMedQA)");
    api = await vscode.extensions.getExtension<BedsideApi>(EXTENSION_ID)!.activate();
    await settings().update("engine.gpu", "cpu", global);
    await settings().update("engine.threads", 1, global);
    await settings().update("engine.contextSize", 512, global);
    await settings().update("model.path", model, global);
    await settings().update("completion.enabled", true, global);
    await settings().update("chat.maxTokens", 48, global);
    await settings().update("literature.maxAnswerTokens", 96, global);
    for (const deadline = Date.now() + 60_000; ;) {
      const info = await api.engine.ensureReady();
      if (info.path === model) {
        contextSize = info.contextSize;
        break;
      }
      if (Date.now() > deadline) throw new Error("the engine did not load the soak model");
      await sleep(100);
    }
    notesDir = fs.mkdtempSync(path.join(os.tmpdir(), "bedside-soak-"));
    try {
      gc = garbageCollector();
    } catch (error) {
      console.log(`      (no forced garbage collection before samples: ${String(error)})`);
    }
  });

  after(async () => {
    for (let i = 0; i < 20 && vscode.window.activeTextEditor; i++) await vscode.commands.executeCommand("workbench.action.revertAndCloseActiveEditor");
    if (notesDir) fs.rmSync(notesDir, { recursive: true, force: true });
  });

  /** Asks for an inline suggestion at the cursor through VS Code's trigger command; waits until Bedside answered it. */
  async function askCompletion(editor: vscode.TextEditor, step: string): Promise<boolean> {
    counts.completionsAsked!++;
    const uri = editor.document.uri.toString();
    const offset = editor.document.offsetAt(editor.selection.active);
    const lastId = api.engine.requestLog.recent().at(-1)?.id ?? 0;
    let provided: ProvidedSuggestion | undefined;
    const sub = api.completions.provider.onDidProvide((p) => {
      if (p.uri === uri && p.offset === offset) provided = p;
    });
    try {
      await vscode.commands.executeCommand("editor.action.inlineSuggest.trigger");
      // Answered: the provider returned a suggestion here, or every request since the trigger ended (an empty suggestion).
      let quietSince: number | undefined;
      for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(25)) {
        if (provided) {
          counts.completionsShown!++;
          return true;
        }
        const since = api.engine.requestLog.recent().filter((r) => r.id > lastId && r.lane === "completion");
        const settled = since.length > 0 && since.every((r) => r.finishedAt !== undefined);
        if (!settled) quietSince = undefined;
        else if (quietSince === undefined) quietSince = Date.now();
        else if (Date.now() - quietSince > 300) {
          const errored = since.find((r) => r.stopReason === "error");
          if (errored) {
            fail(step, "the completion request ended in an error");
            return false;
          }
          counts.completionsEmpty!++;
          return true;
        }
      }
      fail(step, "no suggestion and no finished completion request within 30 s");
      return false;
    } finally {
      sub.dispose();
      scanRequests();
    }
  }

  async function openNote(name: string): Promise<vscode.TextEditor> {
    const file = path.join(notesDir!, name);
    fs.writeFileSync(file, "");
    const document = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
    if (document.languageId !== "note") await vscode.languages.setTextDocumentLanguage(document, "note");
    return vscode.window.showTextDocument(document, vscode.ViewColumn.One);
  }

  async function closeNote(editor: vscode.TextEditor): Promise<void> {
    await editor.document.save();
    await vscode.window.showTextDocument(editor.document, vscode.ViewColumn.One);
    await vscode.commands.executeCommand("workbench.action.closeActiveEditor");
  }

  /** Types the start of a note word by word; a suggestion is asked for at every line end and every tenth word. */
  async function typeNote(editor: vscode.TextEditor, text: string, label: string): Promise<void> {
    const words = text.slice(0, noteChars).match(/\S+[ \t]*\n?|\n/g) ?? [];
    let sinceAsked = 0;
    for (const word of words) {
      if (elapsed() > durationMs) return;
      await vscode.commands.executeCommand("type", { text: word });
      counts.wordsTyped!++;
      sinceAsked++;
      if (word.endsWith("\n") || sinceAsked >= 10) {
        sinceAsked = 0;
        // At a line end the suggestion is asked for before the newline is typed: move back over it.
        if (word.endsWith("\n")) await vscode.commands.executeCommand("cursorLeft");
        await askCompletion(editor, `completion in ${label}`);
        if (word.endsWith("\n")) await vscode.commands.executeCommand("cursorRight");
      } else {
        await sleep(typingDelayMs);
      }
    }
    const expected = words.join("");
    if (editor.document.getText() !== expected && elapsed() <= durationMs) fail(`typing ${label}`, "the note does not hold exactly what was typed");
  }

  async function differential(label: string): Promise<void> {
    const ran = await within(vscode.commands.executeCommand<DifferentialResult | undefined>("bedside.differentialDiagnosis"), 180_000);
    scanRequests();
    if (!ran) return fail(`differential on ${label}`, "did not finish within 180 s");
    const result = ran.value;
    if (!result || result.cancelled) return fail(`differential on ${label}`, result ? "cancelled" : "failed (no result)");
    counts.differentials!++;
  }

  let chatsInConversation = 0;
  async function chat(label: string): Promise<void> {
    if (chatsInConversation >= 3) {
      await vscode.commands.executeCommand("bedside.chat.new");
      chatsInConversation = 0;
    }
    const sent = await within(api.chat.session.send("Summarise the plan of this note in one line."), 120_000);
    scanRequests();
    if (!sent) return fail(`chat on ${label}`, "no reply within 120 s");
    if (!sent.value || sent.value.turn.error) return fail(`chat on ${label}`, sent.value?.turn.error ?? "no reply");
    chatsInConversation++;
    counts.chats!++;
  }

  let questions: string[] = [];
  async function answer(): Promise<void> {
    const question = questions[counts.answers! % questions.length]!;
    const asked = await within(vscode.commands.executeCommand("bedside.askLiterature", question), 180_000);
    scanRequests();
    if (!asked) return fail("literature answer", "did not finish within 180 s");
    const view = api.literature.answers.current;
    if (view?.status !== "done") return fail("literature answer", `ended ${view?.status ?? "without a view"}: ${view?.message ?? ""}`);
    counts.answers!++;
  }

  async function killWorker(index: number): Promise<void> {
    const pid = workerPid();
    if (pid === undefined) return fail(`engine kill ${index}`, "no engine worker found among the extension host's children");
    const kill: SoakKill = { t: elapsed(), pid };
    kills.push(kill);
    process.kill(pid, "SIGKILL");
    console.log(`      killed engine worker ${pid} (SIGKILL) at ${Math.round(kill.t / 1000)} s`);
    // Recovery: a new worker is the host's child, the engine is ready, and it answers a suggestion in a note.
    let newPid: number | undefined;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline && newPid === undefined; await sleep(100)) {
      const now = workerPid();
      if (now !== undefined && now !== pid) newPid = now;
    }
    if (newPid === undefined) return fail(`engine kill ${index}`, "no new engine worker within 60 s");
    const ready = await within(
      api.engine.ensureReady().then(
        () => true,
        () => false,
      ),
      60_000,
    );
    if (!ready?.value) return fail(`engine kill ${index}`, "the engine did not become ready after the kill");
    const editor = await openNote(`recovery-${index}.note`);
    await editor.edit((b) => b.insert(new vscode.Position(0, 0), "PLAN:\nContinue "));
    const end = editor.document.positionAt(editor.document.getText().length);
    editor.selection = new vscode.Selection(end, end);
    const before = errors.length;
    const answered = await askCompletion(editor, `completion after kill ${index}`);
    await closeNote(editor);
    if (answered && errors.length === before) {
      kill.recoveredAt = elapsed();
      kill.newPid = newPid;
      console.log(`      worker ${newPid} answered ${Math.round((kill.recoveredAt - kill.t) / 1000)} s after the kill`);
    }
  }

  it("types, asks, survives two engine kills and keeps its memory and handles flat", async () => {
    const notes = readSampleNotes(400).filter((n) => n.text.length >= 200);
    assert.ok(notes.length > 0, "MTSamples notes to type");
    const pubmedqa = path.join(sharedDataDir()!, "pubmedqa");
    questions = fs
      .readFileSync(path.join(pubmedqa, "queries_dev.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { text: string }).text);

    started = Date.now();
    sample();
    const sampler = setInterval(() => {
      sample();
      scanRequests();
      if (samples.length % 12 === 0) writeSeries();
    }, sampleMs);
    try {
      // Morning: the library is imported once (inside the warm-up), then the day's first answer.
      const imported = await within(api.literature.importPaths([path.join(pubmedqa, "corpus.jsonl")]), 240_000);
      if (!imported) fail("literature import", "did not finish within 240 s");
      else if (imported.value.failed.length > 0 || imported.value.added + imported.value.updated !== 1000)
        fail("literature import", `failed ${imported.value.failed.length}, added ${imported.value.added}, updated ${imported.value.updated}`);
      else counts.imports!++;
      await answer();

      let nextKill = 0;
      let snapshotTaken = false;
      for (let i = 0; elapsed() < durationMs; i++) {
        if (!snapshotTaken && elapsed() >= warmUpMs) {
          heapSnapshot("after-warm-up");
          snapshotTaken = true;
        }
        if (nextKill < killAt.length && elapsed() >= killAt[nextKill]!) await killWorker(++nextKill);
        const note = notes[i % notes.length]!;
        const label = `note ${i + 1} (MTSamples ${note.id})`;
        const editor = await openNote(`note-${i + 1}.note`);
        await typeNote(editor, note.text, label);
        if (elapsed() < durationMs) {
          if (i % 3 === 2) await differential(label);
          if (i % 4 === 3) {
            await vscode.window.showTextDocument(editor.document, vscode.ViewColumn.One);
            await chat(label);
          }
          if (i % 6 === 5) await answer();
        }
        await closeNote(editor);
        counts.notes!++;
        if (i % 5 === 4)
          console.log(
            `      ${Math.round(elapsed() / 1000)} s: ${counts.notes} notes, ${counts.completionsAsked} suggestions asked, ${errors.length} errors; host ${Math.round((samples.at(-1)?.host.rss ?? 0) / 1048576)} MB, worker ${Math.round((samples.at(-1)?.worker?.rss ?? 0) / 1048576)} MB`,
          );
      }
      while (nextKill < killAt.length) await killWorker(++nextKill);
      heapSnapshot("end");
    } finally {
      clearInterval(sampler);
      sample();
      scanRequests();
      writeSeries();
    }
    console.log(`      day over: ${JSON.stringify(counts)}; ${errors.length} errors`);
  });
});
