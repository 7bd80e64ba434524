/**
 * `npm run eval -- mcqa --model FILE --task pubmedqa|medqa|medmcqa|mmlu [--limit N] [--shots K] [--data DIR]`
 *
 * Scores a GGUF model on medical multiple-choice QA the way the Meditron and BioMedLM papers did for base
 * models: a few-shot prompt, then the answer with the highest likelihood among the options (the letter
 * A-E, or yes/no/maybe for PubMedQA), no free generation. Prints accuracy with a 95% Wilson interval.
 * With a generated test model this only proves the harness (about chance); with Meditron-7B a user can
 * compare with the published figures (PubMedQA 74.4, MedMCQA 59.2, MedQA 52.0 after fine-tuning; few-shot
 * figures are lower) on their own machine. Data: ../shared/data (see its README) or --data.
 *
 * Uses node-llama-cpp in-process (test code; the product's host never loads it), for token probabilities.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chooseThreads, readMachineCpus } from "../../src/engine/threads";
import { sharedDataDir } from "../support/sharedData";

export type McqaTask = "pubmedqa" | "medqa" | "medmcqa" | "mmlu";
export const MCQA_TASKS: readonly McqaTask[] = ["pubmedqa", "medqa", "medmcqa", "mmlu"];

export interface McqaItem {
  id: string;
  /** The question with any context, ready to put after "Question:" (PubMedQA: the abstract first). */
  context?: string;
  question: string;
  /** Option key -> text; for PubMedQA the keys are the answers themselves. */
  options: [string, string][];
  answer: string;
}

/** Reads a task's items from the shared data folder layout. */
export function loadMcqa(task: McqaTask, dataDir: string): McqaItem[] {
  if (task === "pubmedqa") {
    const file = join(dataDir, "pubmedqa", "pqal_dev.json");
    const raw = JSON.parse(readFileSync(file, "utf8")) as Record<string, { QUESTION: string; CONTEXTS: string[]; final_decision: string }>;
    return Object.entries(raw).map(([id, r]) => ({
      id,
      context: r.CONTEXTS.join(" "),
      question: r.QUESTION,
      options: [
        ["yes", "yes"],
        ["no", "no"],
        ["maybe", "maybe"],
      ],
      answer: r.final_decision,
    }));
  }
  const file = join(dataDir, "mcqa", task, "test.jsonl");
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((line, i) => {
      const r = JSON.parse(line) as { realidx?: string | number; question: string; options: Record<string, string>; answer_idx: string };
      return { id: String(r.realidx ?? i), question: r.question, options: Object.entries(r.options).sort(([a], [b]) => a.localeCompare(b)), answer: r.answer_idx };
    });
}

function formatItem(item: McqaItem, withAnswer: boolean): string {
  if (item.options[0]![0] === "yes") {
    return `${item.context ? `Context: ${item.context}\n` : ""}Question: ${item.question}\nAnswer (yes, no or maybe):${withAnswer ? ` ${item.answer}\n\n` : ""}`;
  }
  const options = item.options.map(([k, v]) => `${k}. ${v}`).join("\n");
  return `Question: ${item.question}\nOptions:\n${options}\nAnswer:${withAnswer ? ` ${item.answer}\n\n` : ""}`;
}

export function buildPrompt(task: McqaTask, item: McqaItem, shots: McqaItem[]): string {
  const intro =
    task === "pubmedqa" ? "Answer each biomedical research question with yes, no or maybe.\n\n" : "The following are multiple choice questions (with answers) about medicine.\n\n";
  return intro + shots.map((s) => formatItem(s, true)).join("") + formatItem(item, false);
}

/** 95% Wilson score interval for k successes in n trials. */
export function wilsonInterval(k: number, n: number, z = 1.96): [number, number] {
  if (n === 0) return [0, 1];
  const p = k / n;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

export async function run(args: string[]): Promise<void> {
  const task = option(args, "task") as McqaTask | undefined;
  const modelPath = option(args, "model");
  if (!task || !MCQA_TASKS.includes(task) || !modelPath) {
    console.error(`usage: npm run eval -- mcqa --model FILE --task ${MCQA_TASKS.join("|")} [--limit N] [--shots K] [--data DIR] [--threads N]`);
    process.exitCode = 2;
    return;
  }
  const dataDir = option(args, "data") ?? sharedDataDir();
  if (!dataDir || !existsSync(dataDir)) {
    console.error("No evaluation data: pass --data DIR or put the shared data at ../shared/data (see its README).");
    process.exitCode = 2;
    return;
  }
  const limit = Number(option(args, "limit") ?? Infinity);
  const shotCount = Number(option(args, "shots") ?? (task === "pubmedqa" ? 1 : 3));
  const threads = Number(option(args, "threads") ?? chooseThreads(0, readMachineCpus()));
  const all = loadMcqa(task, dataDir);
  // Few-shot examples come from the end of the set; evaluated items from the start, never overlapping.
  const shots = all.slice(all.length - shotCount);
  const items = all.slice(0, Math.min(all.length - shotCount, limit));

  const lib = await import("node-llama-cpp");
  const llama = await lib.getLlama({ gpu: "auto", build: "never", logLevel: lib.LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath, defaultContextFlashAttention: true });
  const contextSize = Math.min(model.trainContextSize, 4096);
  const context = await model.createContext({ contextSize, threads, flashAttention: true });
  const sequence = context.getSequence();
  console.log(`mcqa ${task}: ${items.length} questions, ${shotCount}-shot, model ${modelPath} (context ${contextSize}, ${threads} threads, ${llama.gpu || "cpu"})`);

  let correct = 0;
  let truncated = 0;
  const started = Date.now();
  for (const [n, item] of items.entries()) {
    let usedShots = shots;
    let promptTokens = model.tokenize(buildPrompt(task, item, usedShots), false);
    const longestOption = Math.max(...item.options.map(([k]) => model.tokenize(` ${k}`, false).length));
    while (promptTokens.length + longestOption + 1 > contextSize && usedShots.length > 0) {
      usedShots = usedShots.slice(1);
      promptTokens = model.tokenize(buildPrompt(task, item, usedShots), false);
    }
    if (promptTokens.length + longestOption + 1 > contextSize) {
      truncated++;
      promptTokens = promptTokens.slice(promptTokens.length - (contextSize - longestOption - 1));
    }
    const bos = model.tokens.bos;
    const prefix = bos !== null && bos !== undefined ? [bos, ...promptTokens] : promptTokens;

    // Log-likelihood of each option's tokens as the continuation of the prompt.
    const scores: [string, number][] = [];
    for (const [key] of item.options) {
      const optionTokens = model.tokenize(` ${key}`, false);
      await sequence.clearHistory();
      const input = [...prefix, ...optionTokens];
      const output = await sequence.controlledEvaluate(input.map((t, i) => (i >= prefix.length - 1 && i < input.length - 1 ? [t, { generateNext: { probabilities: true } }] : t)));
      let logLikelihood = 0;
      for (let i = prefix.length - 1; i < input.length - 1; i++) {
        const probabilities = output[i]?.next?.probabilities;
        logLikelihood += Math.log(Math.max(1e-30, probabilities?.get(input[i + 1]!) ?? 0));
      }
      scores.push([key, logLikelihood]);
    }
    if (process.env.BEDSIDE_EVAL_DEBUG) console.log(item.answer, JSON.stringify(scores));
    const best = scores.reduce((a, b) => (b[1] > a[1] ? b : a))[0];
    if (best === item.answer) correct++;
    if ((n + 1) % 25 === 0 || n === items.length - 1) {
      const [lo, hi] = wilsonInterval(correct, n + 1);
      console.log(`  ${n + 1}/${items.length}: accuracy ${((correct / (n + 1)) * 100).toFixed(1)}% (95% CI ${(lo * 100).toFixed(1)}-${(hi * 100).toFixed(1)}%)`);
    }
  }
  const [lo, hi] = wilsonInterval(correct, items.length);
  const chance = 1 / (items[0]?.options.length ?? 4);
  console.log(
    `${task}: accuracy ${((correct / items.length) * 100).toFixed(1)}% (95% CI ${(lo * 100).toFixed(1)}-${(hi * 100).toFixed(1)}%), ${correct}/${items.length} correct, chance ${(chance * 100).toFixed(0)}%` +
      `${truncated ? `, ${truncated} prompts cut to fit the context` : ""}, ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  console.log(JSON.stringify({ eval: "mcqa", task, model: modelPath, n: items.length, correct, accuracy: correct / items.length, ci95: [lo, hi], shots: shotCount }));
  await context.dispose();
  await model.dispose();
  await llama.dispose();
}
