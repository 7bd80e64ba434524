/** `npm run eval -- <task> [options]`: runs one evaluation. Add a task with one line below. */
export {};
const tasks: Record<string, () => Promise<{ run(args: string[]): Promise<void> }>> = {
  retrieval: () => import("./retrieval.eval"),
  mcqa: () => import("./mcqa.eval"),
  phi: () => import("./phi.eval"),
  ddx: () => import("./ddx.eval"),
  lm: () => import("./lm.eval"),
  citations: () => import("./citations.eval"),
  documents: () => import("./documents.eval"),
  completion: () => import("./completion.eval"),
};

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const load = name ? tasks[name] : undefined;
  if (!load) {
    console.error(`usage: npm run eval -- <${Object.keys(tasks).join("|")}> [options]`);
    process.exit(2);
  }
  await (await load()).run(args);
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
