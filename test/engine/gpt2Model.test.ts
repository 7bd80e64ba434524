/**
 * A GPT-2-architecture base model (BioMedLM's layout at a small width: learned position embeddings, no
 * FIM tokens, no chat template, a 1,024-token context, byte-level BPE) through the real worker and each
 * feature's own path, with the prompt format the catalog gives a base model: completion from the text
 * before the cursor only, a literature answer and a differential as JSON-constrained completions, and
 * chat as a few-shot "User:/Assistant:" transcript.
 * Random weights: these prove the plumbing (the file loads, every path runs and keeps its shape), not quality.
 */
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ensureTestModel } from "../support/gguf/testModels";
import { cpuChoice, projectRoot, startTestEngine, type TestEngine } from "../support/engineFixture";
import { parseCatalog } from "../../src/models/catalog";
import { CompletionSession } from "../../src/completion/completionSession";
import { buildDifferential } from "../../src/ddx/differential";
import { answerSchema, buildAnswerPrompt, parseAnswer } from "../../src/literature/qa/answerPrompt";
import { chatMessages, fewShotPrompt, systemText } from "../../src/chat/chatPrompt";
import type { LiteratureSource } from "../../src/literature/library";
import type { ModelInfo } from "../../src/engine/protocol";

const NOTE = [
  "Chief complaint: chest pain.",
  "History of present illness: 58 year old man with sudden onset of sharp chest pain radiating to the left arm, worse on exertion. He reports shortness of breath and nausea. He denies fever or cough.",
  "Past medical history: hypertension, diabetes mellitus type 2, hyperlipidemia. Smoking for 30 years.",
  "Examination: pulse 104 bpm, irregular. Mild edema of both legs.",
  "Assessment and plan:",
].join("\n");

const SOURCES: LiteratureSource[] = [
  {
    key: "pmid:1001",
    pmid: "1001",
    title: "Troponin testing in acute chest pain",
    journal: "Emergency Medicine",
    year: 2020,
    authors: ["A Author"],
    publicationTypes: ["Journal Article"],
    passage: "High sensitivity troponin testing at admission and after one hour rules out myocardial infarction in most patients with acute chest pain.",
    rank: 1,
    score: 9,
    relevance: 0.9,
  },
  {
    key: "pmid:1002",
    pmid: "1002",
    title: "Aspirin in suspected acute coronary syndrome",
    journal: "Cardiology",
    year: 2019,
    authors: ["B Author"],
    publicationTypes: ["Journal Article"],
    passage: "Early aspirin reduces mortality in patients with suspected acute coronary syndrome.",
    rank: 2,
    score: 7,
    relevance: 0.7,
  },
];

describe("GPT-2-architecture base model (BioMedLM layout) through the product path", function () {
  this.timeout(180_000);
  let t: TestEngine;
  let info: ModelInfo;

  const biomedlm = parseCatalog(JSON.parse(readFileSync(join(projectRoot, "models", "catalog.json"), "utf8"))).models.find((m) => m.id === "biomedlm-2.7b");

  before(async () => {
    t = startTestEngine();
    // The context BioMedLM was trained with; the worker never goes past the file's own.
    t.engine.configure(cpuChoice(await ensureTestModel("gpt2"), { contextSize: 2048 }));
    info = await t.engine.ensureReady();
  });
  after(async () => {
    await t?.engine.dispose();
  });

  it("is what the catalog says BioMedLM is: gpt2, a base model without infill or chat, 1,024 tokens", () => {
    assert.ok(biomedlm, "the catalog lists BioMedLM");
    assert.equal(biomedlm.architecture, "gpt2");
    assert.equal(biomedlm.promptFormat.kind, "completion");
    assert.deepEqual(biomedlm.capabilities, { infill: false, chat: false, embeddings: false });
    assert.equal(info.architecture, biomedlm.architecture);
    assert.equal(info.trainContextLength, biomedlm.contextLength);
    assert.equal(info.contextSize, biomedlm.contextLength, "a larger setting is capped at the model's 1,024 tokens");
    assert.equal(info.infillSupported, biomedlm.capabilities.infill);
    assert.equal(info.chatTemplate, undefined, "no chat template: chat uses the few-shot transcript");
  });

  it("tokenizes byte-level BPE with its merges, words after a space whole", async () => {
    const text = "He reports chest pain.\nÜnïcødé 你好";
    const { tokens } = await t.engine.tokenize(text);
    const words = (await t.engine.tokenize(" chest pain")).count;
    assert.equal(words, 2, "' chest' and ' pain' are one token each");
    assert.ok(tokens.length > 0);
  });

  it("completes from the text before the cursor only (no FIM tokens), even with text after the cursor", async () => {
    const session = new CompletionSession(t.engine, () => ({ contextTokens: 512, maxTokens: 12, timeoutMs: 60_000, allowNumbers: false, fillInTheMiddle: false }));
    session.debounce.record(0);
    const prefix = `${NOTE}\nThe patient reports chest pain and`;
    const suggestion = await session.suggest(
      { documentKey: "note-1", prefix, suffix: "\nFollow up in clinic.", infillSupported: info.infillSupported },
      new AbortController().signal,
    );
    assert.ok(suggestion?.context, "a suggestion came from the model");
    assert.equal(suggestion.context.mode, "continue");
    assert.ok(suggestion.result && suggestion.result.generatedTokens > 0);
    await assert.rejects(t.engine.infill({ prefix, suffix: "x", maxTokens: 4, lane: "completion" }), /fill-in-the-middle/);
  });

  it("answers a literature question as JSON citing only the sources it was given", async () => {
    const answerTokens = Math.floor(info.contextSize / 3);
    const fitted = buildAnswerPrompt("Which test rules out myocardial infarction?", SOURCES, { contextTokens: info.contextSize, answerTokens });
    const measured = (await t.engine.tokenize(fitted.prompt)).count;
    assert.ok(measured + answerTokens <= info.contextSize, `prompt ${measured} + answer ${answerTokens} fit ${info.contextSize}`);
    const result = await t.engine.json({
      prompt: fitted.prompt,
      schema: answerSchema(fitted.sources.length),
      asciiOnly: true,
      lane: "general",
      maxTokens: answerTokens,
      temperature: 0,
    });
    const sentences = parseAnswer(result.value);
    assert.ok(sentences && sentences.length > 0, `an answer: ${result.text.slice(0, 200)}`);
    for (const s of sentences) for (const n of s.citations) assert.ok(n >= 1 && n <= fitted.sources.length, `citation [${n}] is one of the sources`);
  });

  it("ranks a differential from the note within the 1,024-token context", async () => {
    const result = await buildDifferential(t.engine, NOTE, { contextSize: info.contextSize });
    assert.equal(result.cancelled, false);
    assert.ok(result.diagnoses.length > 0, "at least one diagnosis");
    assert.ok(result.answers.length > 0);
  });

  it("chats through the few-shot transcript a base model gets, stopping at the next speaker", async () => {
    const messages = chatMessages(systemText([{ label: "the note", text: NOTE }]), [{ id: "u1", role: "user", text: "Summarise the plan for the patient.", at: 0 }]);
    const { prompt, stop } = fewShotPrompt(messages);
    assert.match(prompt, /\nAssistant:$/);
    const chunks: string[] = [];
    const result = await t.engine.complete({ prompt, stop, maxTokens: 24, temperature: 0, lane: "general" }, { onText: (c) => chunks.push(c) });
    assert.ok(result.generatedTokens > 0);
    assert.equal(chunks.join(""), result.text);
    assert.doesNotMatch(result.text, /\nUser:/, "the reply stops before writing the clinician's next line");
  });
});

describe("GPT-2 file with a tied output (as BioMedLM converts: no output.weight)", function () {
  this.timeout(120_000);
  it("loads and generates from the token embeddings", async () => {
    const t = startTestEngine();
    try {
      t.engine.configure(cpuChoice(await ensureTestModel("gpt2-tied")));
      const info = await t.engine.ensureReady();
      assert.equal(info.architecture, "gpt2");
      const result = await t.engine.complete({ prompt: "The patient reports chest pain and", maxTokens: 6, temperature: 0, lane: "general" });
      assert.ok(result.generatedTokens > 0);
    } finally {
      await t.engine.dispose();
    }
  });
});
