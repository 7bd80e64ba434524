/**
 * The library's BM25 ranking is exact: on random corpora, after imports in many batches (segments and
 * their merges), re-imports and removals, and after reopening the file, its top k (MaxScore with block-max
 * pruning) equals, score for score and in the same order, an exhaustive BM25 computed here from the live
 * records alone; and the pruning does skip documents. Real SQLite (the runtime's driver) on disk.
 */
import * as assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { queryTerms, terms } from "../../../src/literature/index/analyzer";
import { bm25Score, termCounts } from "../../../src/literature/index/bm25";
import { decodePostings, encodePostings, PostingCursor } from "../../../src/literature/index/postings";
import { mergeRecords, SqliteLiteratureLibrary } from "../../../src/literature/index/sqliteLibrary";
import type { LiteratureRecord } from "../../../src/literature/library";
import { mulberry32 } from "../../support/seededRandom";

const VOCABULARY =
  "patient trial insulin metformin diabetes stroke sepsis mortality cohort randomized placebo dose kidney liver lung asthma fracture dementia vaccine antibiotic infection pain heart cancer children women surgery outcome risk therapy blood pressure statin aspirin warfarin bleeding renal cardiac pulmonary fever cough rash nausea".split(
    " ",
  );

/** Zipf-like draws: a few words in most documents (long posting lists), most in few. */
function word(random: () => number): string {
  return VOCABULARY[Math.floor(VOCABULARY.length * random() ** 2.5)];
}

function text(random: () => number, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(random() < 0.1 ? "the" : word(random));
  return out.join(" ");
}

interface Live {
  id: number;
  record: LiteratureRecord;
  counts: ReturnType<typeof termCounts>;
}

const live = (id: number, record: LiteratureRecord): Live => ({ id, record, counts: termCounts(terms(`${record.title} ${record.abstract}`)) });

/** Exhaustive Lucene BM25 over the live records, best first, ties by id (the library's order). */
function reference(records: Map<string, Live>, query: string, k: number, accept: (r: LiteratureRecord) => boolean = () => true): Array<{ key: string; score: number }> {
  const docs = [...records.values()];
  const df = new Map<string, number>();
  let total = 0;
  for (const d of docs) {
    total += d.counts.length;
    for (const t of d.counts.tf.keys()) df.set(t, (df.get(t) ?? 0) + 1);
  }
  const stats = { docCount: docs.length, avgLength: docs.length ? total / docs.length : 0, df: (t: string) => df.get(t) ?? 0 };
  const q = queryTerms(query).map((t) => t.term);
  return docs
    .filter((d) => accept(d.record))
    .map((d) => ({ key: d.record.key, id: d.id, score: bm25Score(q, d.counts, stats) }))
    .filter((d) => d.score > 0)
    .sort((a, b) => b.score - a.score || a.id - b.id)
    .slice(0, k)
    .map(({ key, score }) => ({ key, score }));
}

describe("literature ranking: exact top k with MaxScore pruning", function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "bedside-prune-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("encodes and decodes posting blocks, and skips to any id", () => {
    const random = mulberry32(3);
    const ids: number[] = [];
    for (let id = 0; ids.length < 1000; id += 1 + Math.floor(random() * 300)) ids.push(id);
    const tfs = ids.map(() => 1 + Math.floor(random() * 40));
    const data = encodePostings(
      ids,
      tfs,
      ids.map(() => 100),
    );
    const decoded = decodePostings(data);
    assert.deepEqual([...decoded.ids], ids);
    assert.deepEqual([...decoded.tfs], tfs);
    for (let n = 0; n < 200; n++) {
      const target = Math.floor(random() * (ids[ids.length - 1] + 10));
      const cursor = new PostingCursor(data);
      cursor.advance(target);
      const expected = ids.find((id) => id >= target);
      assert.equal(cursor.doc === 2 ** 31 - 1 ? undefined : cursor.doc, expected);
    }
  });

  for (const seed of [1, 2, 3]) {
    it(`equals exhaustive BM25 on a random corpus through imports, re-imports, removals and reopening (seed ${seed})`, async () => {
      const random = mulberry32(seed);
      const path = join(dir, "library.sqlite");
      let library = new SqliteLiteratureLibrary(path);
      const current = new Map<string, Live>();
      let maxId = 0;
      let nextKey = 0;
      let scored = 0;
      let candidates = 0;
      const newRecord = (key: string, origin: string): LiteratureRecord => ({
        key,
        pmid: key.slice(5),
        title: text(random, 3 + Math.floor(random() * 8)),
        abstract: `${text(random, 10 + Math.floor(random() * 120))}.`,
        authors: [],
        publicationTypes: [random() < 0.5 ? "Review" : "Journal Article"],
        year: 2000 + Math.floor(random() * 20),
        origin,
      });
      const check = async (round: number): Promise<void> => {
        for (let n = 0; n < 12; n++) {
          const query = Array.from({ length: 1 + Math.floor(random() * 8) }, () => (random() < 0.05 ? "zzunknown" : word(random))).join(" ");
          const k = [1, 3, 10, 25][Math.floor(random() * 4)];
          const filtered = random() < 0.25;
          const ours = filtered ? library.rankBm25(query, k, { yearFrom: 2010, publicationTypes: ["review"] }) : library.rankBm25(query, k);
          const expected = reference(current, query, k, filtered ? (r) => (r.year ?? 0) >= 2010 && r.publicationTypes.includes("Review") : undefined);
          assert.deepEqual(
            ours.map((o) => ({ key: o.row.key, score: o.score })),
            expected,
            `round ${round}, query "${query}", k ${k}${filtered ? ", filtered" : ""}`,
          );
          scored += library.lastScored;
          candidates += current.size;
        }
        const hits = await library.search("insulin diabetes", 5);
        assert.deepEqual(
          hits.map((h) => h.key),
          reference(current, "insulin diabetes", 5).map((r) => r.key),
        );
      };
      for (let round = 0; round < 14; round++) {
        const action = round < 4 ? 0 : Math.floor(random() * 3);
        if (action === 0 || action === 1) {
          // New records in batches of random size (many segments, merged ten of a size at a time).
          const batches = 1 + Math.floor(random() * 8);
          for (let b = 0; b < batches; b++) {
            const batch: LiteratureRecord[] = [];
            const size = 1 + Math.floor(random() ** 2 * 300);
            for (let i = 0; i < size; i++) batch.push(newRecord(`pmid:${++nextKey}`, `file${round % 3}.xml`));
            library.upsert(batch);
            // SQLite's rowid: one above the largest in the table.
            for (const record of batch) current.set(record.key, live(++maxId, record));
          }
        }
        if (action === 1 || action === 2) {
          // Re-import some records with new text (the same key and id).
          const keys = [...current.keys()].filter(() => random() < 0.1);
          const batch = keys.map((key) => newRecord(key, current.get(key)!.record.origin!));
          library.upsert(batch);
          for (const record of batch) current.set(record.key, live(current.get(record.key)!.id, mergeRecords(current.get(record.key)!.record, record)));
        }
        if (action === 2) {
          // Remove some records by key, sometimes a whole file (the largest id among them too).
          const keys = [...current.keys()].filter(() => random() < 0.08);
          assert.equal(library.remove({ keys }), keys.length);
          for (const key of keys) current.delete(key);
          if (random() < 0.3) {
            const origin = `file${Math.floor(random() * 3)}.xml`;
            const gone = [...current.values()].filter((l) => l.record.origin === origin);
            assert.equal(library.remove({ origin }), gone.length);
            for (const l of gone) current.delete(l.record.key);
          }
          maxId = Math.max(0, ...[...current.values()].map((l) => l.id));
        }
        library.refreshStats();
        assert.equal(library.count(), current.size);
        await check(round);
        if (round % 5 === 4) {
          library.close();
          library = new SqliteLiteratureLibrary(path);
          await check(round);
        }
      }
      const shape = library.index.describe();
      library.close();
      assert.ok(shape.segments < 30, `segments are merged (${shape.segments} left)`);
      assert.ok(scored < candidates * 0.8, `the pruning skips documents (${scored} scored of ${candidates} live across queries)`);
    });
  }

  it("indexes a library made with the earlier FTS5 layout again when it opens", async () => {
    const path = join(dir, "library.sqlite");
    const first = new SqliteLiteratureLibrary(path);
    first.upsert([
      { key: "pmid:1", pmid: "1", title: "Metformin in pregnancy", abstract: "Metformin use in pregnant women with gestational diabetes.", authors: [], publicationTypes: [] },
      { key: "pmid:2", pmid: "2", title: "Insulin pumps", abstract: "Insulin pumps in type 1 diabetes in adults.", authors: [], publicationTypes: [] },
    ]);
    first.close();
    // As an older Bedside left it: FTS5 tables, no index of this layout.
    const { openSqlDatabase } = await import("../../../src/literature/index/sqlDatabase");
    const db = openSqlDatabase(path);
    db.exec(
      "DELETE FROM postings; DELETE FROM segments; DELETE FROM terms; DELETE FROM meta; CREATE VIRTUAL TABLE fts USING fts5(title, abstract, content='docs', content_rowid='id');",
    );
    db.close();
    const reopened = new SqliteLiteratureLibrary(path);
    assert.deepEqual(
      reopened.rankBm25("metformin diabetes", 2).map((r) => r.row.key),
      ["pmid:1", "pmid:2"],
    );
    assert.equal(reopened.index.describe().live, 2);
    reopened.close();
    // A record an earlier version added to a file of this layout (outside the index) is indexed too.
    const older = openSqlDatabase(path);
    older.run(
      "INSERT INTO docs (key, pmid, title, abstract, authors, pubtypes) VALUES ('pmid:3', '3', 'Warfarin bleeding', 'Warfarin and bleeding risk in the elderly.', '[]', '[]')",
    );
    older.close();
    const third = new SqliteLiteratureLibrary(path);
    assert.deepEqual(
      third.rankBm25("warfarin", 2).map((r) => r.row.key),
      ["pmid:3"],
    );
    third.close();
  });
});
