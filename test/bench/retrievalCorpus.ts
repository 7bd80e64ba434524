/**
 * Generated abstracts for the retrieval benchmark: words drawn from the word frequencies of real
 * abstracts (PubMedQA, SciFact, NFCorpus in ../shared/data, else a small built-in list), at the
 * lengths real abstracts have (title 8-16 words, abstract 150-300 words), seeded and repeatable.
 * Queries are built from a document's title (as a clinician's question resembles the title of the
 * paper that answers it), so each has one known target.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { LiteratureRecord } from "../../src/literature/library";
import { sharedDataDir } from "../support/sharedData";
import { mulberry32 } from "../support/seededRandom";

const FALLBACK =
  "the of and in to a with patients was were for is by as on at from or study that this are be treatment clinical risk disease results group after than between among mg associated cancer cells blood trial randomized children women therapy outcome mortality surgery infection pain heart stroke diabetes insulin kidney liver lung asthma pneumonia sepsis fracture dementia depression vaccine antibiotic dose hospital care years increased reduced significant analysis cohort".split(
    " ",
  );

export class WordSampler {
  private readonly words: string[];
  private readonly cumulative: Float64Array;

  constructor() {
    const counts = new Map<string, number>();
    const dir = sharedDataDir();
    const files = dir ? ["pubmedqa/corpus.jsonl", "beir/scifact/corpus.jsonl", "beir/nfcorpus/corpus.jsonl"].map((f) => join(dir, f)).filter(existsSync) : [];
    for (const file of files) {
      for (const line of readFileSync(file, "utf8").split("\n")) {
        if (!line) continue;
        const row = JSON.parse(line) as { title?: string; text?: string };
        for (const w of `${row.title ?? ""} ${row.text ?? ""}`.split(/\s+/)) {
          const word = w.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, "");
          if (word) counts.set(word, (counts.get(word) ?? 0) + 1);
        }
      }
    }
    if (counts.size === 0) FALLBACK.forEach((w, i) => counts.set(w, Math.round(1000 / (i + 1))));
    this.words = [...counts.keys()];
    this.cumulative = new Float64Array(this.words.length);
    let total = 0;
    this.words.forEach((w, i) => (this.cumulative[i] = total += counts.get(w)!));
    for (let i = 0; i < this.cumulative.length; i++) this.cumulative[i] /= total;
  }

  get vocabularySize(): number {
    return this.words.length;
  }

  word(random: () => number): string {
    const r = random();
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid] < r) lo = mid + 1;
      else hi = mid;
    }
    return this.words[lo];
  }

  sentence(random: () => number, n: number): string {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.word(random));
    return out.join(" ");
  }
}

const TYPES = ["Journal Article", "Randomized Controlled Trial", "Review", "Meta-Analysis", "Case Reports", "Guideline"];

/** Document `i` of the generated corpus (the same for the same i and seed). */
export function generatedRecord(sampler: WordSampler, i: number, seed = 7): LiteratureRecord {
  const random = mulberry32(seed * 1_000_003 + i);
  const title = sampler.sentence(random, 8 + Math.floor(random() * 9));
  const sentences: string[] = [];
  const words = 150 + Math.floor(random() * 150);
  for (let n = 0; n < words;) {
    const len = 12 + Math.floor(random() * 14);
    sentences.push(`${sampler.sentence(random, len)}.`);
    n += len;
  }
  return {
    key: `pmid:${10_000_000 + i}`,
    pmid: String(10_000_000 + i),
    title,
    abstract: sentences.join(" "),
    journal: `Journal ${Math.floor(random() * 500)}`,
    year: 1990 + Math.floor(random() * 36),
    authors: ["Author A", "Author B"],
    publicationTypes: [TYPES[Math.floor(random() * TYPES.length)]],
  };
}
