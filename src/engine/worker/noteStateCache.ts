/**
 * Saved KV states of long notes on disk, so the first completion after a model reload or an editor
 * restart restores the note's prefix instead of re-reading it (on a 7B model on a laptop CPU a
 * 1,500-token note takes over a minute to read).
 *
 * Each entry is two files in the cache folder: `<id>.kv` (llama.cpp's sequence state, written by the
 * caller) and `<id>.json` (which model, the exact tokens, the state file's size and SHA-256). The JSON is
 * written last, so an entry without it is an interrupted save and is deleted. A state file is only handed
 * to llama.cpp when its model key matches and its bytes hash to what was saved: llama.cpp trusts the file
 * and a foreign or damaged one can crash the process.
 *
 * The folder is bounded: least recently used entries are deleted beyond `maxBytes`.
 * No node-llama-cpp here; the caller supplies the functions that write and read states.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";

const FORMAT = 1;

export interface NoteStateEntry {
  format: number;
  modelKey: string;
  tokens: number[];
  bytes: number;
  sha256: string;
  savedAt: number;
}

export interface NoteStateMatch {
  id: string;
  entry: NoteStateEntry;
  /** Tokens the entry shares with the prompt from the start. */
  common: number;
  statePath: string;
}

export function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

function isPrefix(shorter: readonly number[], longer: readonly number[]): boolean {
  return shorter.length <= longer.length && commonPrefixLength(shorter, longer) === shorter.length;
}

function isEntry(value: unknown): value is NoteStateEntry {
  const v = value as Partial<NoteStateEntry> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    v.format === FORMAT &&
    typeof v.modelKey === "string" &&
    Array.isArray(v.tokens) &&
    v.tokens.every((t) => Number.isInteger(t)) &&
    typeof v.bytes === "number" &&
    typeof v.sha256 === "string" &&
    typeof v.savedAt === "number"
  );
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export class NoteStateCache {
  private index: Map<string, NoteStateEntry> | undefined;

  constructor(
    readonly dir: string,
    private readonly maxBytes: number,
    private readonly log: (message: string) => void = () => undefined,
  ) {}

  private statePath(id: string): string {
    return join(this.dir, `${id}.kv`);
  }

  private metaPath(id: string): string {
    return join(this.dir, `${id}.json`);
  }

  private static idFor(modelKey: string, tokens: readonly number[]): string {
    return createHash("sha256").update(modelKey).update("\0").update(Uint32Array.from(tokens)).digest("hex").slice(0, 32);
  }

  /** Reads the folder once: valid entries in, interrupted saves and stray files out. */
  private async entries(): Promise<Map<string, NoteStateEntry>> {
    if (this.index) return this.index;
    const index = new Map<string, NoteStateEntry>();
    await mkdir(this.dir, { recursive: true });
    const names = await readdir(this.dir);
    const metas = new Set(names.filter((n) => n.endsWith(".json")).map((n) => n.slice(0, -5)));
    for (const id of metas) {
      try {
        const parsed: unknown = JSON.parse(await readFile(this.metaPath(id), "utf8"));
        const size = (await stat(this.statePath(id))).size;
        if (isEntry(parsed) && parsed.bytes === size) index.set(id, parsed);
        else await this.removeFiles(id);
      } catch {
        await this.removeFiles(id);
      }
    }
    for (const name of names) {
      const id = name.replace(/\.kv(\.tmp-.*)?$/, "");
      if (name !== `${id}.json` && !index.has(id)) await rm(join(this.dir, name), { force: true });
    }
    this.index = index;
    return index;
  }

  private async removeFiles(id: string): Promise<void> {
    await rm(this.metaPath(id), { force: true });
    await rm(this.statePath(id), { force: true });
  }

  async remove(id: string): Promise<void> {
    (await this.entries()).delete(id);
    await this.removeFiles(id);
  }

  /** The entry for this model sharing the longest prefix with `prompt` (at least `minTokens`). */
  async bestMatch(modelKey: string, prompt: readonly number[], minTokens: number): Promise<NoteStateMatch | undefined> {
    let best: NoteStateMatch | undefined;
    for (const [id, entry] of await this.entries()) {
      if (entry.modelKey !== modelKey) continue;
      const common = commonPrefixLength(entry.tokens, prompt);
      if (common >= minTokens && (!best || common > best.common)) best = { id, entry, common, statePath: this.statePath(id) };
    }
    return best;
  }

  /** True when the state file is byte for byte what was saved; a damaged entry is deleted. */
  async verify(match: NoteStateMatch): Promise<boolean> {
    try {
      const size = (await stat(match.statePath)).size;
      if (size === match.entry.bytes && (await sha256File(match.statePath)) === match.entry.sha256) {
        const now = new Date();
        await utimes(this.metaPath(match.id), now, now).catch(() => undefined);
        return true;
      }
    } catch {
      // missing file: treated as damaged
    }
    this.log(`Saved note state ${match.id} is damaged; deleting it.`);
    await this.remove(match.id);
    return false;
  }

  /**
   * Saves a state for `tokens` through `write(path)`. Skips an identical entry; an entry whose tokens are
   * a prefix of these (the same note, shorter) is replaced.
   */
  async save(modelKey: string, tokens: readonly number[], write: (path: string) => Promise<void>): Promise<{ saved: boolean; bytes: number; reason?: string }> {
    const index = await this.entries();
    const id = NoteStateCache.idFor(modelKey, tokens);
    if (index.has(id)) return { saved: false, bytes: index.get(id)!.bytes, reason: "already saved" };
    const temp = `${this.statePath(id)}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
    try {
      await write(temp);
      const bytes = (await stat(temp)).size;
      if (bytes > this.maxBytes) {
        await rm(temp, { force: true });
        return { saved: false, bytes, reason: `state (${bytes} bytes) is larger than the cache limit` };
      }
      const sha256 = await sha256File(temp);
      await rename(temp, this.statePath(id));
      const entry: NoteStateEntry = { format: FORMAT, modelKey, tokens: [...tokens], bytes, sha256, savedAt: Date.now() };
      await writeFile(this.metaPath(id), JSON.stringify(entry));
      index.set(id, entry);
      for (const [otherId, other] of [...index]) {
        if (otherId !== id && other.modelKey === modelKey && isPrefix(other.tokens, tokens)) await this.remove(otherId);
      }
      await this.evict(id);
      return { saved: true, bytes };
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  /** Deletes least recently used entries until the folder fits `maxBytes` (never `keep`). */
  private async evict(keep: string): Promise<void> {
    const index = await this.entries();
    let total = [...index.values()].reduce((sum, e) => sum + e.bytes, 0);
    if (total <= this.maxBytes) return;
    const byAge: { id: string; used: number }[] = [];
    for (const id of index.keys()) {
      const used = await stat(this.metaPath(id)).then(
        (s) => s.mtimeMs,
        () => 0,
      );
      byAge.push({ id, used });
    }
    byAge.sort((a, b) => a.used - b.used);
    for (const { id } of byAge) {
      if (total <= this.maxBytes) break;
      if (id === keep) continue;
      total -= index.get(id)!.bytes;
      await this.remove(id);
    }
  }

  async totalBytes(): Promise<number> {
    return [...(await this.entries()).values()].reduce((sum, e) => sum + e.bytes, 0);
  }
}
