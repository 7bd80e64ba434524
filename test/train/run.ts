/**
 * `npm run train [-- options]`: trains the small clinical llama from scratch (issue 19) and writes it as
 * a GGUF with the project's writer. Pipeline, each step skipped when its output is already there:
 *   1. corpus   test/train/prepare.ts: MTSamples dev notes deduplicated by content, then split into
 *               train / held-out by a hash of the content; PubMedQA + BEIR abstracts (training only)
 *   2. tokenizer trainer.py: SentencePiece BPE learned from the training text (byte fallback, FIM tokens)
 *   3. train    trainer.py: stages of at most --stage-minutes that each save a checkpoint and resume
 *   4. export   trainer.py: F32 tensors in GGUF names; then test/support/gguf/learnedModel.ts writes the
 *               GGUF (F16 matrices, or F32 with --f32; learned vocabulary with scores, recipe in `bedside.recipe`)
 *
 * Deterministic for a seed (data order is a function of seed and step; one torch thread).
 * Needs Debian's python3-torch and python3-sentencepiece (or any python with torch + sentencepiece:
 * BEDSIDE_PYTHON). The product never ships any of this.
 *
 * Options: --out DIR (default .cache/train/clinical) --gguf FILE (default DIR/model.gguf)
 *   --seed N --vocab N --layers N --width N --heads N --ffn N --ctx N --steps N --micro N --accum N
 *   --lr X --min-lr X --warmup N --note-share X --fim-rate X --stage-minutes M --eval-every N --log-every N
 *   --init CHECKPOINT  a second stage from another run's weights (e.g. the copy-forward stage)
 *   --procs N   data-parallel training processes, one thread each (2 on an idle 2-core machine: ~1.7x)
 *   --fixture   also copy the GGUF and recipe to test/fixtures/clinical-lm/
 *   --f32       write F32 matrices (both GGUFs): the untrained one is then a starting model for llama.cpp's
 *               `llama-finetune`, which trains F32 parameters only (docs/trained-model.md)
 */
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeGgufFile } from "../support/gguf/ggufWriter";
import { readTrainerExport, trainedLlamaSpec, type MatrixType } from "../support/gguf/learnedModel";
import { prepareCorpus, type CorpusSummary } from "./prepare";

export const PROJECT_ROOT = resolve(__dirname, "..", "..");
export const FIXTURE_DIR = join(PROJECT_ROOT, "test", "fixtures", "clinical-lm");
export const FIXTURE_MODEL = join(FIXTURE_DIR, "bedside-clinical-tiny.gguf");
/** The same shape and vocabulary with the seeded initial weights the training started from (the eval's baseline). */
export const FIXTURE_UNTRAINED = join(FIXTURE_DIR, "bedside-clinical-tiny-untrained.gguf");
const TRAINER = join(__dirname, "trainer.py");

/** The recipe of the committed fixture: chosen by measured tokens/s on this 2-core machine (docs/trained-model.md). */
export const DEFAULT_RECIPE = {
  seed: 1,
  vocab: 2048,
  layers: 4,
  width: 256,
  heads: 4,
  ffn: 688,
  ctx: 384,
  steps: 3600,
  micro: 4,
  accum: 2,
  lr: 2e-3,
  min_lr: 2e-4,
  warmup: 100,
  wd: 0.1,
  note_share: 0.9,
  fim_rate: 0.25,
  copy_rate: 0.1,
  threads: 1,
  eval_every: 250,
  log_every: 25,
} as const;

export type TrainRecipe = { -readonly [K in keyof typeof DEFAULT_RECIPE]: number };

export interface TrainOptions {
  readonly out: string;
  readonly gguf?: string;
  readonly recipe: TrainRecipe;
  readonly stageMinutes: number;
  /** Data-parallel training processes (one thread each); not part of the recipe: the result is the same. */
  readonly procs?: number;
  /** A second stage: start from this checkpoint's weights (its recipe is kept in this one's). */
  readonly init?: string;
  /** Reuse a prepared corpus folder (tests share one). */
  readonly dataDir?: string;
  /** The GGUFs' matrix type (default F16); not part of the recipe. */
  readonly matrixType?: MatrixType;
  readonly log?: (line: string) => void;
}

export interface TrainResult {
  readonly gguf: string;
  readonly untrainedGguf: string;
  readonly corpus: CorpusSummary;
  readonly tokenizer: { vocab_size: number; heldout_tokens_per_char: number; heldout_tokens: number; heldout_chars: number };
  readonly history: ReadonlyArray<Record<string, number>>;
  readonly params: number;
  readonly trainedSteps: number;
}

/** The python with torch + sentencepiece: BEDSIDE_PYTHON, else Debian's /usr/bin/python3, else python3. */
export function findTrainerPython(): string {
  const candidates = [process.env.BEDSIDE_PYTHON, "/usr/bin/python3", "python3"].filter((c): c is string => !!c);
  for (const python of candidates) {
    const probe = spawnSync(python, ["-c", "import torch, sentencepiece"], { stdio: "ignore" });
    if (probe.status === 0) return python;
  }
  throw new TrainerUnavailable("no python3 with torch and sentencepiece (apt-get install python3-torch python3-sentencepiece, or set BEDSIDE_PYTHON)");
}

export class TrainerUnavailable extends Error {}

function trainerArgs(command: string, dataDir: string, out: string, recipe: TrainRecipe, init?: string): string[] {
  const args = [TRAINER, command, "--data", dataDir, "--out", out, ...(init ? ["--init", init] : [])];
  for (const [key, value] of Object.entries(recipe)) args.push(`--${key}`, String(value));
  return args;
}

function runPython(python: string, args: readonly string[], log: (line: string) => void): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    // One BLAS / OpenMP thread: on a shared 2-core machine more threads wait on each other (measured 4x slower).
    const env = { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1", MKL_NUM_THREADS: "1" };
    const child = spawn(python, [...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let tail = "";
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString("utf8");
      tail = (tail + text).slice(-4000);
      for (const line of text.split("\n")) if (line.trim()) log(line);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolvePromise() : reject(new Error(`trainer ${args[1]} exited ${code}:\n${tail}`))));
  });
}

export async function trainClinicalModel(options: TrainOptions): Promise<TrainResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const python = findTrainerPython();
  const out = resolve(options.out);
  mkdirSync(out, { recursive: true });
  const dataDir = options.dataDir ?? join(out, "data");
  const corpus = existsSync(join(dataDir, "corpus.json")) ? (JSON.parse(readFileSync(join(dataDir, "corpus.json"), "utf8")) as CorpusSummary) : prepareCorpus(dataDir);
  log(
    `corpus: ${corpus.notesRead} notes read, ${corpus.notesUnique} after deduplication by content, ${corpus.notesTrain} train / ${corpus.notesHeldout} held out; ${corpus.abstracts} abstracts`,
  );
  const recipe = options.recipe;
  if (!existsSync(join(out, "tokenizer.model"))) await runPython(python, trainerArgs("tokenizer", dataDir, out, recipe), log);
  // Stages: each run stops after stageMinutes with a checkpoint; the next resumes it. Until --steps.
  for (;;) {
    await runPython(
      python,
      [...trainerArgs("train", dataDir, out, recipe, options.init), "--stage_minutes", String(options.stageMinutes), "--procs", String(options.procs ?? 1)],
      log,
    );
    const done = spawnSync(python, ["-c", `import torch,sys; sys.exit(0 if torch.load(sys.argv[1])["step"] >= ${recipe.steps} else 1)`, join(out, "checkpoint.pt")]);
    if (done.status === 0) break;
  }
  await runPython(python, trainerArgs("export", dataDir, out, recipe, options.init), log);
  const exported = readTrainerExport(out);
  const tokenizer = (JSON.parse(readFileSync(join(out, "vocab.json"), "utf8")) as { info: TrainResult["tokenizer"] }).info;
  const gguf = resolve(options.gguf ?? join(out, "model.gguf"));
  const spec = trainedLlamaSpec({
    ...exported,
    name: `bedside-clinical-tiny-${recipe.layers}x${recipe.width}`,
    ...(options.matrixType ? { matrixType: options.matrixType } : {}),
    extra: {
      corpus: JSON.stringify(corpus),
      tokenizer: JSON.stringify(tokenizer),
      purpose: "Trained on CPU from MTSamples sample notes and PubMed/BEIR abstracts for Bedside's tests and measurements; not a medical model, not for patient care.",
    },
  });
  await writeGgufFile(gguf, spec);
  await runPython(python, [...trainerArgs("export", dataDir, out, recipe, options.init), "--untrained"], log);
  const untrained = readTrainerExport(out, "untrained");
  const untrainedGguf = gguf.replace(/\.gguf$/, "") + "-untrained.gguf";
  await writeGgufFile(
    untrainedGguf,
    trainedLlamaSpec({
      ...untrained,
      name: `bedside-clinical-tiny-untrained-${recipe.layers}x${recipe.width}`,
      ...(options.matrixType ? { matrixType: options.matrixType } : {}),
    }),
  );
  const result: TrainResult = {
    gguf,
    untrainedGguf,
    corpus,
    tokenizer,
    history: exported.weights.history ?? [],
    params: exported.weights.params,
    trainedSteps: exported.weights.trained_steps,
  };
  writeFileSync(join(out, "recipe.json"), JSON.stringify(recipeDocument(result, recipe), null, 2) + "\n");
  log(`wrote ${gguf}`);
  return result;
}

export function recipeDocument(result: TrainResult, recipe: TrainRecipe): Record<string, unknown> {
  const evals = result.history.filter((h) => h.heldout_loss !== undefined);
  return {
    model: "bedside-clinical-tiny (llama architecture, trained from scratch; for tests and measurement only, not for patient care)",
    recipe,
    params: result.params,
    trained_steps: result.trainedSteps,
    tokens_seen: result.trainedSteps * recipe.micro * recipe.accum * recipe.ctx,
    corpus: result.corpus,
    tokenizer: result.tokenizer,
    heldout_loss_curve: evals.map((h) => ({ step: h.step, train_loss: h.loss, heldout_loss: h.heldout_loss })),
    command: "npm run train -- --fixture",
  };
}

function parseArgs(argv: readonly string[]): { options: TrainOptions; fixture: boolean } {
  const recipe: TrainRecipe = { ...DEFAULT_RECIPE };
  let out = join(PROJECT_ROOT, ".cache", "train", "clinical");
  let gguf: string | undefined;
  let stageMinutes = 25;
  let fixture = false;
  let dataDir: string | undefined;
  let procs = 1;
  let init: string | undefined;
  let matrixType: MatrixType | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--fixture") fixture = true;
    else if (arg === "--out") out = resolve(argv[++i]!);
    else if (arg === "--gguf") gguf = resolve(argv[++i]!);
    else if (arg === "--data") dataDir = resolve(argv[++i]!);
    else if (arg === "--stage-minutes") stageMinutes = Number(argv[++i]);
    else if (arg === "--procs") procs = Number(argv[++i]);
    else if (arg === "--init") init = resolve(argv[++i]!);
    else if (arg === "--f32") matrixType = "F32";
    else if (arg.startsWith("--")) {
      const key = arg.slice(2).replace(/-/g, "_");
      if (!(key in recipe)) throw new Error(`unknown option ${arg}`);
      recipe[key as keyof TrainRecipe] = Number(argv[++i]);
    }
  }
  return {
    options: { out, ...(gguf ? { gguf } : {}), ...(dataDir ? { dataDir } : {}), recipe, stageMinutes, procs, ...(init ? { init } : {}), ...(matrixType ? { matrixType } : {}) },
    fixture,
  };
}

async function main(): Promise<void> {
  const { options, fixture } = parseArgs(process.argv.slice(2));
  const result = await trainClinicalModel(options);
  if (fixture) {
    mkdirSync(FIXTURE_DIR, { recursive: true });
    copyFileSync(result.gguf, FIXTURE_MODEL);
    copyFileSync(result.untrainedGguf, FIXTURE_UNTRAINED);
    copyFileSync(join(options.out, "recipe.json"), join(FIXTURE_DIR, "recipe.json"));
    console.log(`fixture: ${FIXTURE_MODEL}`);
  }
  const last = result.history[result.history.length - 1];
  console.log(
    JSON.stringify({
      gguf: result.gguf,
      params: result.params,
      steps: result.trainedSteps,
      train_loss: last?.loss,
      heldout_loss: last?.heldout_loss,
      tokens_per_char: result.tokenizer.heldout_tokens_per_char,
    }),
  );
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
