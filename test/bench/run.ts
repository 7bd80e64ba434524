/** `npm run bench -- <suite> [--quick]`: runs one benchmark suite. */
const suites: Record<string, () => Promise<{ run(quick: boolean): Promise<void> }>> = {
  engine: () => import("./engine.bench"),
  completion: () => import("./completion.bench"),
  parity: () => import("./parity.bench"),
  lookup: () => import("./lookup.bench"),
  warmstart: () => import("./warmstart.bench"),
  retrieval: () => import("./retrieval.bench"),
  threads: () => import("./threads.bench"),
  context: () => import("./context.bench"),
  memory: () => import("./memory.bench"),
  embedding: () => import("./embeddingMemory.bench"),
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const name = args.find((a) => !a.startsWith("--"));
  const quick = args.includes("--quick");
  const load = name ? suites[name] : undefined;
  if (!load) {
    console.error(`usage: npm run bench -- <${Object.keys(suites).join("|")}> [--quick]`);
    process.exit(2);
  }
  await (await load()).run(quick);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
