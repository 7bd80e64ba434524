/**
 * Greedy continuations (and one fill-in-the-middle) of held-out note openings from a GGUF model, as the
 * docs show them: `npx tsx test/train/samples.ts [MODEL] [COUNT]` (default: the committed fixture, 5 notes).
 */
import { FIXTURE_MODEL } from "./run";
import { readClinicalCorpus } from "./corpus";

async function main(): Promise<void> {
  const modelPath = process.argv[2] ?? FIXTURE_MODEL;
  const count = Number(process.argv[3] ?? 5);
  const corpus = readClinicalCorpus();
  if (!corpus) throw new Error("No MTSamples notes (../shared/data/mtsamples); set BEDSIDE_SHARED_DATA.");
  const lib = await import("node-llama-cpp");
  const llama = await lib.getLlama({ gpu: false, build: "never", logLevel: lib.LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath });
  const context = await model.createContext({ contextSize: model.trainContextSize, threads: 1 });
  const completion = new lib.LlamaCompletion({ contextSequence: context.getSequence() });
  for (const note of corpus.heldoutNotes.slice(0, count)) {
    const cut = note.text.lastIndexOf(" ", 160);
    const opening = note.text.slice(0, cut);
    const text = await completion.generateCompletion(opening, { maxTokens: 40, temperature: 0 });
    console.log(`--- held-out note ${note.id}\n[prompt] ${JSON.stringify(opening)}\n[greedy] ${JSON.stringify(text)}\n[actual] ${JSON.stringify(note.text.slice(cut, cut + 160))}`);
  }
  const note = corpus.heldoutNotes[0]!;
  const a = Math.floor(note.text.length * 0.1);
  const prefix = note.text.slice(0, note.text.lastIndexOf(" ", a));
  const suffix = note.text.slice(note.text.indexOf(". ", a) + 1, note.text.indexOf(". ", a) + 200);
  const middle = await completion.generateInfillCompletion(prefix, suffix, { maxTokens: 30, temperature: 0 });
  console.log(
    `--- fill in the middle (note ${note.id})\n[prefix] ${JSON.stringify(prefix.slice(-120))}\n[middle] ${JSON.stringify(middle)}\n[suffix] ${JSON.stringify(suffix.slice(0, 120))}`,
  );
  await context.dispose();
  await model.dispose();
  await llama.dispose();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
