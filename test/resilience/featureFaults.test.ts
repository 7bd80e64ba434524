/**
 * Faults during the features, not only the engine calls: SIGKILL of the worker at random moments while a
 * chat reply, a differential or a literature answer is being written; all four features at once with
 * completion still answering; and the literature library on a full disk and with a damaged index file.
 * Each feature runs through its real code (ChatSession, buildDifferential, the answer's prompt and JSON
 * schema over a real SQLite library, importRecords, openLibrary) against the real worker. Expected: no
 * hang, a clear message, the next request works, and the note and the library lose nothing.
 *
 * BEDSIDE_RESILIENCE_FEATURE_KILLS sets the kills (default 30, a third per feature); the seed is printed
 * (BEDSIDE_RESILIENCE_SEED replays it).
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ChatHistory, type StateStore } from "../../src/chat/chatHistory";
import { ChatSession } from "../../src/chat/chatSession";
import { buildDifferential, type DifferentialResult } from "../../src/ddx/differential";
import { EngineError } from "../../src/engine/engine";
import { importRecords } from "../../src/literature/import/importRecords";
import type { LiteratureRecord } from "../../src/literature/library";
import { isDamagedLibraryError, openLibrary, saveImportedFiles, setAsideDamagedLibrary } from "../../src/literature/index/libraryRecovery";
import type { SqliteDriver } from "../../src/literature/index/sqlDatabase";
import { SqliteLiteratureLibrary } from "../../src/literature/index/sqliteLibrary";
import { answerSchema, buildAnswerPrompt, parseAnswer, selectAnswerSources } from "../../src/literature/qa/answerPrompt";
import { cpuChoice, startTestEngine, type TestEngine } from "../support/engineFixture";
import { ensureTestModel } from "../support/gguf/testModels";
import { codeServerNode } from "../support/vscodeHost/hostNode";
import { mulberry32 as random } from "../support/seededRandom";
import { skipBecause } from "../support/skip";
import { isClearMessage, killWorkerAfter, record, settle, tally } from "./tally";

const KILLS = Number(process.env.BEDSIDE_RESILIENCE_FEATURE_KILLS ?? 30);
const SEED = Number(process.env.BEDSIDE_RESILIENCE_SEED ?? Date.now() % 100_000);
const root = resolve(__dirname, "..", "..");
const sha = (text: string | Buffer): string => createHash("sha256").update(text).digest("hex");

const NOTE = readFileSync(join(root, "media", "sample-notes", "history-and-physical.note"), "utf8");

/** A small library of abstracts as JSON Lines (the BEIR shape), with words the questions use. */
function libraryFile(dir: string, records: number, name = "abstracts.jsonl"): string {
  const topics = ["community-acquired pneumonia", "bacterial meningitis", "pulmonary embolism", "diabetic ketoacidosis", "acute pancreatitis"];
  const lines = Array.from({ length: records }, (_, i) => {
    const topic = topics[i % topics.length]!;
    return JSON.stringify({
      _id: String(31000000 + i),
      title: `${topic} in adults: cohort ${i}`,
      text: `We studied ${topic} with fever, cough, chest pain and dyspnoea in ${100 + i} adults. Early treatment reduced mortality. `.repeat(3),
    });
  });
  const file = join(dir, name);
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

/** Records as an import makes them, from `origin`. */
function records(n: number, origin: string): LiteratureRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `pmid:${32000000 + i}`,
    pmid: String(32000000 + i),
    title: `Pneumonia in adults: cohort ${i}`,
    abstract: `Fever, cough and dyspnoea in ${100 + i} adults with pneumonia; early treatment reduced mortality.`,
    authors: [],
    publicationTypes: [],
    origin,
  }));
}

class MemoryStore implements StateStore {
  private readonly values = new Map<string, unknown>();
  get<T>(key: string, defaultValue: T): T {
    return (this.values.has(key) ? this.values.get(key) : defaultValue) as T;
  }
  update(key: string, value: unknown): Promise<void> {
    this.values.set(key, structuredClone(value));
    return Promise.resolve();
  }
}

describe("resilience: faults during chat, differential, answers and the library", function () {
  this.timeout(30 * 60_000);
  let t: TestEngine;
  let tiny: string;
  let dir: string;
  let library: SqliteLiteratureLibrary;
  let chat: ChatSession;

  before(async () => {
    tiny = await ensureTestModel("tiny");
    dir = mkdtempSync(join(tmpdir(), "bedside-feature-faults-"));
    t = startTestEngine({ restartDelaysMs: [20], maxConsecutiveCrashes: 10_000 });
    t.engine.configure(cpuChoice(tiny));
    await t.engine.ensureReady();
    library = new SqliteLiteratureLibrary(join(dir, "library.sqlite"));
    await importRecords(library, [libraryFile(dir, 40)]);
    library.refreshStats();
    chat = new ChatSession({
      engine: t.engine,
      history: new ChatHistory(new MemoryStore()),
      readContexts: () => Promise.resolve([{ label: "history-and-physical.note", text: NOTE }]),
      autoChip: () => undefined,
      library: () => undefined,
      settings: () => ({ maxTokens: 120, temperature: 0.2, libraryPassages: 3, libraryRelevance: 0.4 }),
      post: () => undefined,
    });
  });
  after(async () => {
    chat?.dispose();
    library?.close();
    await t?.engine.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A chat reply: resolves with the error the clinician sees in the reply, or undefined when it worked. */
  async function chatOnce(question: string): Promise<{ error?: string; text: string }> {
    const outcome = await chat.send(question);
    assert.ok(outcome, "a reply was made");
    return { text: outcome.turn.text, ...(outcome.turn.error !== undefined ? { error: outcome.turn.error } : {}) };
  }

  /** A literature answer the way the answer panel makes one: search, fit, JSON answer. */
  async function answerOnce(question: string): Promise<number> {
    const found = selectAnswerSources(await library.search(question, 5), 0.2);
    assert.ok(found.length > 0, "the library has sources for the question");
    const fitted = buildAnswerPrompt(question, found, { contextTokens: 512, answerTokens: 120 });
    const result = await t.engine.json({ prompt: fitted.prompt, schema: answerSchema(fitted.sources.length), asciiOnly: true, lane: "general", maxTokens: 120, temperature: 0 });
    return parseAnswer(result.value)?.length ?? 0;
  }

  /** Messages a differential shows per diagnosis when a step failed: they must be clear too. */
  const ddxMessages = (r: DifferentialResult): string[] =>
    r.diagnoses.map((d) => d.evidenceMissing).filter((m): m is string => m !== undefined && m !== "pending" && m !== "cancelled");

  type Feature = "chat" | "differential" | "answer";
  const FEATURES: readonly Feature[] = ["chat", "differential", "answer"];

  it(`survives ${KILLS} SIGKILLs at random moments during chat replies, differentials and literature answers`, async () => {
    console.log(`    seed ${SEED} (BEDSIDE_RESILIENCE_SEED=${SEED} replays it)`);
    const next = random(SEED + 1);
    const noteHash = sha(NOTE);
    const stats = new Map<Feature, { kills: number; finishedFirst: number; clear: number }>();
    const problems: string[] = [];
    for (let i = 0; i < KILLS; i++) {
      const feature = FEATURES[i % FEATURES.length]!;
      const s = stats.get(feature) ?? { kills: 0, finishedFirst: 0, clear: 0 };
      stats.set(feature, s);
      const ready = await settle(t.engine.ensureReady(), 60_000);
      if (ready.kind !== "ok") {
        problems.push(`kill ${i}: engine not ready before the kill`);
        tally.notRecovered++;
        if (ready.kind === "hang") tally.hangs++;
        continue;
      }
      // The differential takes seconds on the test model, a chat reply a fraction of one, an answer less.
      const delayMs = Math.floor(next() * (feature === "differential" ? 1200 : feature === "chat" ? 250 : 100));
      const request: Promise<{ messages: string[] }> =
        feature === "chat"
          ? chatOnce("Summarise the assessment in one line.").then((r) => ({ messages: r.error !== undefined ? [r.error] : [] }))
          : feature === "differential"
            ? buildDifferential(t.engine, NOTE, { contextSize: 512 }).then((r) => ({ messages: ddxMessages(r) }))
            : answerOnce("Does early treatment reduce mortality in community-acquired pneumonia?").then(() => ({ messages: [] }));
      const pid = await killWorkerAfter(t.engine, delayMs);
      s.kills++;
      tally.faults++;

      const outcome = await settle(request, 60_000);
      if (outcome.kind === "hang") {
        tally.hangs++;
        problems.push(`kill ${i} (${feature}, ${delayMs} ms): hung`);
      } else {
        const messages = outcome.kind === "ok" ? outcome.value.messages : [outcome.error instanceof Error ? outcome.error.message : String(outcome.error)];
        if (messages.length === 0) s.finishedFirst++;
        const unclear = messages.filter((m) => !isClearMessage(m));
        const wrongKind = outcome.kind === "error" && !(outcome.error instanceof EngineError);
        if (unclear.length > 0 || wrongKind) {
          tally.unclearMessages++;
          problems.push(
            `kill ${i} (${feature}): unclear message ${JSON.stringify(messages)}${wrongKind ? ` (${(outcome as { error: unknown }).error instanceof Error ? (outcome as { error: Error }).error.name : "not an Error"})` : ""}`,
          );
        } else if (messages.length > 0) s.clear++;
      }

      // Recovery: once the client has seen the worker go, the same feature works again.
      for (const deadline = Date.now() + 10_000; pid !== undefined && t.engine.workerPid === pid && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 10));
      const again: Promise<unknown> =
        feature === "chat"
          ? chatOnce("And the plan?").then((r) => {
              if (r.error !== undefined) throw new Error(r.error);
            })
          : feature === "differential"
            ? buildDifferential(t.engine, NOTE, { contextSize: 512 }).then((r) => {
                if (ddxMessages(r).length > 0) throw new Error(ddxMessages(r).join("; "));
              })
            : answerOnce("Does early treatment reduce mortality in community-acquired pneumonia?");
      const after = await settle(again, 90_000);
      if (after.kind !== "ok") {
        tally.notRecovered++;
        if (after.kind === "hang") tally.hangs++;
        problems.push(`kill ${i} (${feature}): no recovery (${after.kind === "hang" ? "hang" : String((after as { error: unknown }).error)})`);
      }
    }
    // The chat kept every question, and the note was only read.
    const turns = chat.history.current().turns;
    const questions = turns.filter((turn) => turn.role === "user").length;
    const chatKills = stats.get("chat")?.kills ?? 0;
    if (questions !== chatKills * 2) {
      tally.lostEdits++;
      problems.push(`the chat holds ${questions} questions, ${chatKills * 2} were asked`);
    }
    if (sha(NOTE) !== noteHash) tally.unexpectedEdits++;
    for (const [feature, s] of stats) {
      record("features", `SIGKILL during ${feature === "answer" ? "a literature answer" : feature === "chat" ? "a chat reply" : "a differential"}`, s.kills);
      console.log(
        `    ${feature.padEnd(12)} kills ${String(s.kills).padStart(3)}  finished before the kill ${String(s.finishedFirst).padStart(3)}  failed with a clear message ${String(s.clear).padStart(3)}`,
      );
    }
    assert.deepEqual(problems, []);
  });

  it("all features at once: chat, differential and an answer while completions keep answering", async () => {
    await settle(t.engine.ensureReady(), 60_000);
    const timeCompletion = async (): Promise<number> => {
      const started = Date.now();
      const r = await t.engine.complete({ prompt: "ASSESSMENT: The patient ", maxTokens: 8, lane: "completion" });
      assert.equal(typeof r.text, "string");
      return Date.now() - started;
    };
    const idle: number[] = [];
    for (let i = 0; i < 5; i++) idle.push(await timeCompletion());

    let busy = true;
    const others = Promise.all([
      chatOnce("List the differential in one line."),
      buildDifferential(t.engine, NOTE, { contextSize: 512 }),
      answerOnce("What reduced mortality in bacterial meningitis?"),
      chatOnce("And the next step?"),
    ]).finally(() => {
      busy = false;
    });
    const loaded: number[] = [];
    const failures: string[] = [];
    while (busy || loaded.length < 5) {
      const outcome = await settle(timeCompletion(), 60_000);
      if (outcome.kind === "ok") loaded.push(outcome.value);
      else {
        if (outcome.kind === "hang") tally.hangs++;
        failures.push(outcome.kind === "hang" ? "a completion hung" : String((outcome as { error: unknown }).error));
        break;
      }
    }
    const done = await settle(others, 120_000);
    if (done.kind === "hang") tally.hangs++;
    const [chat1, ddx, , chat2] = done.kind === "ok" ? done.value : [];
    const percentile = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? 0;
    const figures = `completion p50 ${percentile(idle, 0.5)} ms idle, ${percentile(loaded, 0.5)} ms (max ${Math.max(...loaded)} ms) under load`;
    console.log(`    ${loaded.length} completions answered while the others ran; ${figures}`);
    record(
      "features",
      `all at once (2 chats, ddx, answer): ${loaded.length} completions, p50 ${percentile(idle, 0.5)}->${percentile(loaded, 0.5)} ms, max ${Math.max(...loaded)} ms`,
      1,
    );
    tally.faults++;
    assert.deepEqual(failures, [], "every completion answered");
    assert.equal(done.kind, "ok", `the other features finished (${done.kind === "error" ? String(done.error) : done.kind})`);
    assert.equal(chat1?.error, undefined);
    assert.equal(chat2?.error, undefined);
    assert.ok(ddx && ddx.diagnoses.length > 0, "the differential has diagnoses");
  });

  it("a damaged library file: set aside with its bytes kept, a clear message, an empty library that works", async () => {
    const cases: Array<{ what: string; damage: (bytes: Buffer) => Buffer }> = [
      { what: "garbage bytes", damage: (b) => randomBytes(b.length) },
      { what: "header kept, pages overwritten", damage: (b) => Buffer.concat([b.subarray(0, 100), randomBytes(b.length - 100)]) },
      { what: "cut to half its length", damage: (b) => b.subarray(0, Math.floor(b.length / 2)) },
      { what: "first page zeroed", damage: (b) => Buffer.concat([Buffer.alloc(4096), b.subarray(4096)]) },
      { what: "last pages overwritten, found by a search", damage: (b) => Buffer.concat([b.subarray(0, b.length - 8192), randomBytes(8192)]) },
    ];
    const problems: string[] = [];
    const setAside: string[] = [];
    for (const [k, c] of cases.entries()) {
      const libDir = mkdtempSync(join(dir, `damaged-${k}-`));
      const path = join(libDir, "library.sqlite");
      const source = libraryFile(libDir, 30);
      const built = new SqliteLiteratureLibrary(path);
      built.upsert(records(30, source));
      built.refreshStats();
      saveImportedFiles(
        path,
        built.origins().map((o) => o.origin),
      );
      built.close();
      rmSync(`${path}.lock`, { recursive: true, force: true });
      const damaged = c.damage(readFileSync(path));
      writeFileSync(path, damaged);
      tally.badInputs++;

      let opened: ReturnType<typeof openLibrary> | undefined;
      try {
        opened = openLibrary(path);
      } catch (error) {
        problems.push(`${c.what}: ${(error as Error).message}`);
        tally.notRecovered++;
        continue;
      }
      let { library: fresh, recovery } = opened;
      if (!recovery) {
        // Opened: the damage shows when a page is read. LiteratureService does then what openLibrary does.
        const searched = await settle(fresh.search("pneumonia fever", 3), 30_000);
        if (searched.kind === "ok") {
          record("library", `damaged index (${c.what}): still readable, nothing set aside`, 1);
          fresh.close();
          continue;
        }
        if (searched.kind === "hang" || !isDamagedLibraryError(searched.error)) {
          if (searched.kind === "hang") tally.hangs++;
          problems.push(`${c.what}: the search failed without saying the library is damaged (${searched.kind === "hang" ? "hang" : String(searched.error)})`);
          tally.unclearMessages++;
          continue;
        }
        try {
          fresh.close();
        } catch {
          // a damaged file may not close cleanly
        }
        recovery = setAsideDamagedLibrary(path);
        fresh = new SqliteLiteratureLibrary(path);
      }
      if (!isClearMessage(recovery.message) || !/damaged/.test(recovery.message)) {
        tally.unclearMessages++;
        problems.push(`${c.what}: unclear message ${recovery.message}`);
      }
      if (!existsSync(recovery.setAsideAs) || !readFileSync(recovery.setAsideAs).equals(damaged)) {
        tally.lostEdits++;
        problems.push(`${c.what}: the damaged file was not kept as it was`);
      }
      assert.deepEqual(recovery.importedFiles, [source], `${c.what}: the files to re-import are known`);
      assert.equal(fresh.count(), 0);
      fresh.upsert([{ key: "pmid:1", pmid: "1", title: "Pneumonia in adults", abstract: "Fever and cough in adults with pneumonia.", authors: [], publicationTypes: [] }]);
      fresh.remove({ keys: ["pmid:1"] });
      fresh.close();
      record("library", `damaged index (${c.what}): set aside, re-import offered`, 1);
      setAside.push(c.what);
    }
    tally.faults += cases.length;
    assert.deepEqual(problems, []);
    // Not vacuous: a case that stays readable is let through unchecked, so the recovery path itself must have
    // run; garbage bytes and a zeroed first page leave no SQLite file to read.
    assert.ok(setAside.includes("garbage bytes") && setAside.includes("first page zeroed"), `set aside: ${setAside.join(", ")}`);
  });

  it("a damaged library rebuilds from the imported files: every record back", async () => {
    const libDir = mkdtempSync(join(dir, "rebuild-"));
    const path = join(libDir, "library.sqlite");
    const source = libraryFile(libDir, 60);
    const first = openLibrary(path).library;
    const report = await importRecords(first, [source]);
    first.refreshStats();
    const before = first.count();
    saveImportedFiles(
      path,
      first.origins().map((o) => o.origin),
    );
    first.close();
    rmSync(`${path}.lock`, { recursive: true, force: true });
    writeFileSync(path, randomBytes(readFileSync(path).length));
    const { library: fresh, recovery } = openLibrary(path);
    assert.ok(recovery, "the damage was noticed");
    const again = await importRecords(fresh, recovery.importedFiles);
    fresh.refreshStats();
    assert.equal(report.added, 60);
    assert.equal(again.added, before, "every record is back after re-importing");
    assert.equal((await fresh.search("pneumonia mortality", 3)).length, 3);
    fresh.close();
    record("library", "damaged index rebuilt by re-importing its files: all records back", 1);
    tally.faults++;
  });

  /** The import and download on a 4 MiB tmpfs, in `node` with the library on `driver`. */
  function fullDisk(ctx: Mocha.Context, node: string, driver: SqliteDriver): void {
    // A real ENOSPC: a 4 MiB tmpfs as the library's folder, in a private mount namespace.
    const child = join(__dirname, "diskFullChild.ts");
    const attempts = [
      ["unshare", "-m"],
      ["unshare", "-r", "-m"],
    ];
    const mountDir = mkdtempSync(join(dir, "tmpfs-"));
    const source = libraryFile(dir, 2000, "large.jsonl");
    // Which way of getting a private mount works here (root: -m; else a user namespace: -r -m)?
    const prefix = attempts.find((p) => spawnSync(p[0]!, [...p.slice(1), "sh", "-c", `mount -t tmpfs -o size=4m tmpfs "$0"`, mountDir], { encoding: "utf8" }).status === 0);
    if (!prefix) {
      record("library", `full disk during import and download (${driver}): SKIPPED (needs unshare -m or -r -m)`, 0);
      skipBecause(ctx, "no private tmpfs here: mounting one needs unshare -m (root) or unshare -r -m (user namespaces)");
    }
    const result = spawnSync(
      prefix[0]!,
      [...prefix.slice(1), "sh", "-c", `mount -t tmpfs -o size=4m tmpfs "$0" && exec "$1" "$2" "$3" "$0" "$4"`, mountDir, node, "--import=tsx", child, source],
      { cwd: root, encoding: "utf8", timeout: 120_000, env: { ...process.env, BEDSIDE_SQLITE: driver === "wasm" ? "wasm" : "" } },
    );
    assert.equal(result.status, 0, `the import and download on a full disk ran to the end: ${result.stderr}`);
    const out = JSON.parse(String(result.stdout).trim().split("\n").pop()!) as {
      diskFull: boolean;
      message: string;
      kept: number;
      countAfterFull: number;
      searchAfterFull: number;
      addedWithSpace: number;
      countWithSpace: number;
      reopened: number;
      driver: SqliteDriver;
      download: { firstKind: string; firstMessage: string; keptBytes: number; resumedBytes: number; intact: boolean };
    };
    assert.equal(out.driver, driver, "the library ran on the SQLite asked for");
    console.log(`    ${driver}: disk full after ${out.kept} records: "${out.message.slice(0, 110)}…"; with space again ${out.countWithSpace} records`);
    tally.faults++;
    record("library", `full disk during import (tmpfs, ${driver}): message, ${out.kept} of 2000 kept, all in after freeing space`, 1);
    assert.ok(out.diskFull, "the import reported the full disk");
    if (!isClearMessage(out.message) || !/disk/.test(out.message) || /rollback|no transaction/i.test(out.message)) {
      tally.unclearMessages++;
      assert.fail(`unclear message: ${out.message}`);
    }
    assert.ok(out.kept > 0 && out.kept < 2000, `some records fitted before the disk was full (${out.kept})`);
    if (out.countAfterFull !== out.kept || out.reopened !== out.countWithSpace) {
      tally.lostEdits++;
      assert.fail(`records lost: ${JSON.stringify(out)}`);
    }
    assert.ok(out.searchAfterFull > 0, "search works on the full disk");
    assert.equal(out.countWithSpace, 2000, "with space again the whole file imports");

    // The model download on the same full disk: a clear message, the partial file kept, and it resumes.
    const d = out.download;
    console.log(`    download: disk full after ${d.keptBytes} bytes: "${d.firstMessage.slice(0, 100)}…"; resumed from ${d.resumedBytes} bytes, intact ${d.intact}`);
    tally.faults++;
    record("models", `full disk mid-download (tmpfs): message, ${Math.round(d.keptBytes / 1024)} KiB kept, resumed, checksum ok`, 1);
    assert.equal(d.firstKind, "noSpace", `the download failed as noSpace: ${d.firstMessage}`);
    if (!isClearMessage(d.firstMessage)) {
      tally.unclearMessages++;
      assert.fail(`unclear download message: ${d.firstMessage}`);
    }
    assert.ok(d.keptBytes > 0 && d.resumedBytes === d.keptBytes, "the partial download was kept and resumed");
    assert.ok(d.intact, "the resumed file matches its checksum");
  }

  it("a full disk during a literature import and a model download: a clear message, what was written before kept, and it works once there is space", function () {
    fullDisk(this, process.execPath, "wasm");
  });

  it("the same full disk with the library on Node's built-in SQLite (the Node 24 that runs code-server)", function () {
    // The extension host of current VS Code and code-server has node:sqlite; the Node running these tests
    // may not. code-server's own Node: installed by test/runAll.ts before the network is cut, or here (a
    // no-op when it is there).
    this.timeout(600_000);
    fullDisk(this, codeServerNode(), "node:sqlite");
  });
});
