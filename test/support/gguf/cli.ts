/**
 * Writes a generated test model and prints its path.
 *
 *   npx tsx test/support/gguf/cli.ts tiny|tiny-no-infill|bert|gpt2|gpt2-tied|medium|7b [outPath]
 *
 * Without outPath the model goes to (or is found in) the cache, `.cache/models/`.
 */
import { ensureTestModel, TEST_MODEL_KINDS, writeTestModel, type TestModelKind } from "./testModels";

function isKind(value: string | undefined): value is TestModelKind {
  return TEST_MODEL_KINDS.some((kind) => kind === value);
}

async function main(argv: readonly string[]): Promise<number> {
  const [kind, outPath] = argv;
  if (!isKind(kind)) {
    process.stderr.write(`usage: cli.ts ${TEST_MODEL_KINDS.join("|")} [outPath]\n`);
    return 2;
  }
  const path = outPath === undefined ? await ensureTestModel(kind) : (await writeTestModel(kind, outPath)).path;
  process.stdout.write(`${path}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
