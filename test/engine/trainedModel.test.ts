/**
 * The training pipeline of the clinical model (test/train/run.ts, `npm run train`) end to end at a tiny
 * size: corpus, SentencePiece vocabulary, torch training, export, GGUF through the project's writer; then
 * the file loads in node-llama-cpp, the training loss fell, and held-out perplexity (scored by
 * node-llama-cpp) beats the untrained twin's. About a minute of CPU; needs python3-torch and
 * python3-sentencepiece (skips by name when they or ../shared/data are absent).
 * Run: npx mocha --import=tsx --timeout 600000 'test/engine/trainedModel.test.ts'
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Token } from "node-llama-cpp";
import { scoreModel } from "../eval/lm.eval";
import { readClinicalCorpus } from "../train/corpus";
import { DEFAULT_RECIPE, findTrainerPython, trainClinicalModel, TrainerUnavailable, type TrainResult } from "../train/run";

describe("trained clinical model pipeline (npm run train, tiny)", function () {
  this.timeout(900_000);
  let dir: string;
  let result: TrainResult;

  before(async function () {
    if (!readClinicalCorpus()) this.skip(); // no ../shared/data (set BEDSIDE_SHARED_DATA)
    try {
      findTrainerPython();
    } catch (error) {
      if (error instanceof TrainerUnavailable) {
        console.log(`    skipped: ${error.message}`);
        this.skip();
      }
      throw error;
    }
    dir = mkdtempSync(join(tmpdir(), "bedside-train-"));
    result = await trainClinicalModel({
      out: dir,
      stageMinutes: 0,
      log: () => undefined,
      recipe: {
        ...DEFAULT_RECIPE,
        vocab: 512,
        layers: 1,
        width: 64,
        heads: 1,
        ffn: 128,
        ctx: 64,
        steps: 40,
        micro: 4,
        accum: 2,
        warmup: 5,
        note_share: 1,
        eval_every: 20,
        log_every: 10,
      },
    });
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("deduplicates the notes by content before the split and reports the counts", () => {
    assert.ok(result.corpus.notesUnique < result.corpus.notesRead, "MTSamples repeats transcriptions under several specialties");
    assert.equal(result.corpus.notesTrain + result.corpus.notesHeldout, result.corpus.notesUnique);
    assert.ok(result.corpus.notesHeldout > 0);
  });

  it("training loss falls", () => {
    const losses = result.history.map((h) => h.loss as number);
    assert.ok(losses.length >= 3, `logged losses: ${losses.join(", ")}`);
    assert.ok(losses[losses.length - 1]! < losses[0]! - 0.5, `loss ${losses[0]} -> ${losses[losses.length - 1]}`);
  });

  it("the GGUF loads in node-llama-cpp with its learned vocabulary and FIM tokens, and beats the untrained model on held-out notes", async () => {
    const lib = await import("node-llama-cpp");
    const llama = await lib.getLlama({ gpu: false, build: "never", logLevel: lib.LlamaLogLevel.error });
    try {
      const notes = readClinicalCorpus()!.heldoutNotes.slice(0, 4);
      const trained = await llama.loadModel({ modelPath: result.gguf });
      assert.equal(trained.fileInfo.metadata.tokenizer.ggml.tokens.length, 512);
      assert.ok(trained.tokens.infill.prefix !== null && trained.tokens.infill.middle !== null, "FIM tokens in the vocabulary");
      const docs: Token[][] = notes.map((n) => trained.tokenize(n.text));
      const a = await scoreModel(trained, docs, 64);
      await trained.dispose();
      const untrained = await llama.loadModel({ modelPath: result.untrainedGguf });
      const b = await scoreModel(untrained, docs, 64);
      await untrained.dispose();
      const ppl = (s: { nll: number; tokens: number }): number => Math.exp(s.nll / s.tokens);
      assert.ok(ppl(a) < ppl(b) * 0.8, `held-out perplexity trained ${ppl(a).toFixed(1)} vs untrained ${ppl(b).toFixed(1)}`);
    } finally {
      await llama.dispose();
    }
  });
});
