/**
 * The library's optional dense vectors (one embedding per record, in the `vectors` table): embedding the
 * records that have none, and the exact cosine ranking of a query's embedding against all of them, for
 * hybrid ranking. The `meta` row `vectorModel` names the embedding model that made them: vectors of another
 * model are dropped when the model changes (their dimensions and geometry do not compare). Node only; no vscode.
 */
import type { SqlDatabase } from "./sqlDatabase";

export type Embedder = (texts: string[]) => Promise<number[][]>;

export class VectorStore {
  private cache: { ids: Int32Array; dim: number; data: Float32Array } | undefined;

  constructor(private readonly db: SqlDatabase) {}

  count(): number {
    return Number(this.db.get("SELECT count(*) AS n FROM vectors")?.n ?? 0);
  }

  /** Records that have no vector yet. */
  missingCount(): number {
    return Number(this.db.get("SELECT count(*) AS n FROM docs d LEFT JOIN vectors v ON v.id = d.id WHERE v.id IS NULL")?.n ?? 0);
  }

  /** The embedding model that made the stored vectors (as `useModel` was told), if any. */
  model(): string | undefined {
    const row = this.db.get("SELECT value FROM meta WHERE name = 'vectorModel'");
    return row ? String(row.value) : undefined;
  }

  /** From now on vectors come from `model`: those made by another model are deleted. Returns how many. */
  useModel(model: string): number {
    if (this.model() === model) return 0;
    const dropped = this.count();
    this.db.exec("BEGIN");
    this.db.run("DELETE FROM vectors");
    this.db.run("INSERT OR REPLACE INTO meta VALUES ('vectorModel', ?)", [model]);
    this.db.exec("COMMIT");
    this.cache = undefined;
    return dropped;
  }

  /** Forgets the vectors held in memory (records changed). */
  invalidate(): void {
    this.cache = undefined;
  }

  /** Embeds records that have no vector yet, `batch` at a time; returns how many were embedded. */
  async embedMissing(embed: Embedder, options: { batch?: number; signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<number> {
    const missing = this.db.all("SELECT d.id, d.title, d.abstract FROM docs d LEFT JOIN vectors v ON v.id = d.id WHERE v.id IS NULL");
    const batch = options.batch ?? 16;
    let done = 0;
    for (let i = 0; i < missing.length; i += batch) {
      if (options.signal?.aborted) break;
      const rows = missing.slice(i, i + batch);
      const texts = rows.map((r) => `${String(r.title)}\n${String(r.abstract)}`.slice(0, 2000));
      // A text longer than the embedding model's context is shortened until it fits.
      const vectors: number[][] = [];
      for (let j = 0; j < texts.length; j++) {
        for (let text = texts[j]; ; text = text.slice(0, Math.floor(text.length / 2))) {
          try {
            vectors.push((await embed([text]))[0]);
            break;
          } catch (error) {
            if (text.length < 100) throw error;
          }
        }
      }
      this.db.exec("BEGIN");
      rows.forEach((row, j) => {
        const v = Float32Array.from(vectors[j]);
        // A record removed while it was being embedded gets no vector.
        this.db.run("INSERT OR REPLACE INTO vectors SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM docs WHERE id = ?)", [
          Number(row.id),
          v.length,
          new Uint8Array(v.buffer),
          Number(row.id),
        ]);
      });
      this.db.exec("COMMIT");
      done += rows.length;
      options.onProgress?.(done, missing.length);
    }
    this.cache = undefined;
    return done;
  }

  private load(): { ids: Int32Array; dim: number; data: Float32Array } {
    if (this.cache) return this.cache;
    const rows = this.db.all("SELECT id, dim, v FROM vectors ORDER BY id");
    const dim = rows.length ? Number(rows[0].dim) : 0;
    const ids = new Int32Array(rows.length);
    const data = new Float32Array(rows.length * dim);
    rows.forEach((row, i) => {
      ids[i] = Number(row.id);
      const bytes = row.v as Uint8Array;
      const v = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      let norm = 0;
      for (let j = 0; j < dim; j++) norm += v[j] * v[j];
      norm = Math.sqrt(norm) || 1;
      for (let j = 0; j < dim; j++) data[i * dim + j] = v[j] / norm;
    });
    this.cache = { ids, dim, data };
    return this.cache;
  }

  /** Cosine similarity of a query's embedding `q` against every stored vector (exact), best first. */
  rank(q: readonly number[] | undefined, limit: number): Array<{ id: number; score: number }> {
    const { ids, dim, data } = this.load();
    if (!q || q.length !== dim) return [];
    let norm = 0;
    for (const x of q) norm += x * x;
    norm = Math.sqrt(norm) || 1;
    const scored: Array<{ id: number; score: number }> = [];
    for (let i = 0; i < ids.length; i++) {
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += data[i * dim + j] * q[j];
      scored.push({ id: ids[i], score: dot / norm });
    }
    return scored.sort((a, b) => b.score - a.score).slice(0, limit);
  }
}
