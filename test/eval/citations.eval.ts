/**
 * `npm run eval -- citations [--data DIR] [--per-question N]`: how well the citation support check
 * (src/literature/qa/citationSupport.ts) finds sentences their cited source does not support, on pairs built from
 * PubMedQA (../shared/data/pubmedqa, dev questions). For each question the library retrieves 5 sources as
 * the answer panel does (1,200-character passages); sentences are taken from the gold abstract's passage:
 *   - cited to that passage: supported;
 *   - cited to another retrieved source (the best-ranked other one): unsupported;
 *   - with one number changed, cited to the gold passage: unsupported.
 * Sentences are verbatim, so this measures the check on wrong sources and wrong figures, not on a
 * paraphrase. The abbreviation list of ../shared/data/abbreviations is read here only (the product ships
 * its own short list); `--abbreviations builtin` uses the product's. Ends with one JSON line.
 */
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseBeirJsonl } from "../../src/literature/import/json";
import { splitSentences } from "../../src/literature/index/passage";
import { SqliteLiteratureLibrary } from "../../src/literature/index/sqliteLibrary";
import type { LiteratureRecord } from "../../src/literature/library";
import { checkCitations } from "../../src/literature/qa/citationCheck";
import { checkSupport, contentTerms, numbersIn, parseAbbreviations } from "../../src/literature/qa/citationSupport";
import { mulberry32 } from "../support/seededRandom";
import { sharedDataDir } from "../support/sharedData";
import { readQrels, readQueries } from "./retrieval.eval";

interface Pair {
  kind: "supported" | "otherSource" | "changedNumber";
  sentence: string;
  cite: number;
  passages: string[];
}

export async function run(args: string[]): Promise<void> {
  const option = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const shared = sharedDataDir();
  const dir = option("data") ?? (shared ? join(shared, "pubmedqa") : undefined);
  if (!dir || !existsSync(join(dir, "corpus.jsonl"))) {
    console.log(`citations eval skipped: no PubMedQA folder (looked for ${dir ?? "../shared/data/pubmedqa"}; give --data DIR)`);
    return;
  }
  const abbreviationFile = shared ? join(shared, "abbreviations", "clinical_abbreviations_merged.tsv") : undefined;
  const abbreviations =
    option("abbreviations") !== "builtin" && abbreviationFile && existsSync(abbreviationFile) ? parseAbbreviations(readFileSync(abbreviationFile, "utf8")) : undefined;
  const perQuestion = Number(option("per-question") ?? 2);
  const work = mkdtempSync(join(tmpdir(), "bedside-citations-"));
  const library = new SqliteLiteratureLibrary(join(work, "library.sqlite"));
  try {
    const records: LiteratureRecord[] = [];
    const chunks = (async function* () {
      for await (const c of createReadStream(join(dir, "corpus.jsonl"), { encoding: "utf8" })) yield c as string;
    })();
    for await (const record of parseBeirJsonl(chunks, undefined, { idsArePmids: false })) records.push(record);
    library.upsert(records);
    library.refreshStats();
    const { qrels } = readQrels(dir, "dev");
    const queries = readQueries(dir, "dev");
    const random = mulberry32(11);
    const pairs: Pair[] = [];
    for (const [qid, rels] of qrels) {
      const question = queries.get(qid);
      if (!question) continue;
      const sources = await library.search(question, 5, { passageChars: 1200 });
      const gold = sources.findIndex((s) => (rels.get(s.key.replace(/^beir:/, "")) ?? 0) > 0);
      if (gold < 0) continue;
      const other = sources.findIndex((_, i) => i !== gold);
      const passages = sources.map((s) => s.passage);
      const sentences = splitSentences(passages[gold].replace(/^… |…$| …$/g, "")).filter((s) => contentTerms(s).length >= 5);
      for (let n = 0; n < perQuestion && sentences.length > 0; n++) {
        const sentence = sentences.splice(Math.floor(random() * sentences.length), 1)[0];
        pairs.push({ kind: "supported", sentence, cite: gold + 1, passages });
        if (other >= 0) pairs.push({ kind: "otherSource", sentence, cite: other + 1, passages });
        const numbers = numbersIn(sentence);
        if (numbers.length > 0) {
          const match = [...sentence.matchAll(/\d+(?:\.\d+)?/g)];
          const pick = match[Math.floor(random() * match.length)];
          const value = pick[0];
          const changed = value.includes(".")
            ? (Number(value) + 0.1 * (1 + Math.floor(random() * 5))).toFixed(value.split(".")[1].length)
            : String(Number(value) + 1 + Math.floor(random() * 9));
          pairs.push({ kind: "changedNumber", sentence: `${sentence.slice(0, pick.index)}${changed}${sentence.slice(pick.index! + value.length)}`, cite: gold + 1, passages });
        }
      }
    }
    const counts = { supported: [0, 0], otherSource: [0, 0], changedNumber: [0, 0] } as Record<Pair["kind"], [number, number]>;
    for (const pair of pairs) {
      const checked = checkSupport(checkCitations([{ text: pair.sentence, citations: [pair.cite] }], pair.passages.length), pair.passages, abbreviations ? { abbreviations } : {});
      const flagged = checked.sentences[0]?.unsupported !== undefined;
      counts[pair.kind][0]++;
      if (flagged) counts[pair.kind][1]++;
    }
    const truePositives = counts.otherSource[1] + counts.changedNumber[1];
    const unsupportedPairs = counts.otherSource[0] + counts.changedNumber[0];
    const falsePositives = counts.supported[1];
    const recall = unsupportedPairs ? truePositives / unsupportedPairs : 0;
    const precision = truePositives + falsePositives ? truePositives / (truePositives + falsePositives) : 0;
    console.log(
      `${dir}: ${pairs.length} pairs from ${qrels.size} dev questions (abbreviations: ${abbreviations ? `${abbreviations.size} short forms from ${abbreviationFile}` : "the product's built-in list"})`,
    );
    for (const [kind, [n, flagged]] of Object.entries(counts))
      console.log(`  ${kind.padEnd(14)} ${String(n).padStart(5)} pairs, marked unsupported ${flagged} (${n ? ((100 * flagged) / n).toFixed(1) : "0"}%)`);
    console.log(
      JSON.stringify({
        eval: "citations",
        unsupported_recall: +recall.toFixed(4),
        unsupported_precision: +precision.toFixed(4),
        pairs: pairs.length,
        supported_pairs: counts.supported[0],
        other_source_pairs: counts.otherSource[0],
        changed_number_pairs: counts.changedNumber[0],
        abbreviations: abbreviations ? "shared" : "builtin",
        settings: "5 sources, passageChars 1200, minSupport 0.6, betterBy 0.2, verbatim sentences",
      }),
    );
  } finally {
    library.close();
    rmSync(work, { recursive: true, force: true });
  }
}
