/**
 * Which objects the extension host kept more of between two heap snapshots of a soak run
 * (BEDSIDE_SOAK_HEAP_SNAPSHOTS=1 writes one when the warm-up ends and one when the day ends, under
 * .cache/soak/). Groups nodes by type and constructor/name and prints the groups that grew most in size.
 *
 *   npx tsx test/soak/heapDiff.ts .cache/soak/<first>.heapsnapshot .cache/soak/<last>.heapsnapshot [top]
 */
import { readFileSync } from "node:fs";

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

function groups(file: string): Map<string, { count: number; size: number }> {
  const snap = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const out = new Map<string, { count: number; size: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!] ?? "?";
    const rawName = snap.strings[snap.nodes[i + nameAt]!] ?? "";
    // Strings and code are grouped by type alone: their "name" is their content.
    const name = type === "object" || type === "closure" || type === "native" || type === "array" ? rawName.slice(0, 60) : "";
    const key = `${type} ${name}`;
    const g = out.get(key) ?? { count: 0, size: 0 };
    g.count++;
    g.size += snap.nodes[i + sizeAt]!;
    out.set(key, g);
  }
  return out;
}

const [firstFile, lastFile, topArg] = process.argv.slice(2);
if (!firstFile || !lastFile) {
  console.error("usage: tsx test/soak/heapDiff.ts FIRST.heapsnapshot LAST.heapsnapshot [top]");
  process.exit(2);
}
const first = groups(firstFile);
const last = groups(lastFile);
const rows = [...last.entries()].map(([key, g]) => {
  const f = first.get(key) ?? { count: 0, size: 0 };
  return { key, count: g.count - f.count, size: g.size - f.size, total: g.count };
});
rows.sort((a, b) => b.size - a.size);
console.log(`${"Δ bytes".padStart(10)}  ${"Δ count".padStart(8)}  ${"count".padStart(8)}  group`);
for (const r of rows.slice(0, Number(topArg ?? 30))) console.log(`${String(r.size).padStart(10)}  ${String(r.count).padStart(8)}  ${String(r.total).padStart(8)}  ${r.key}`);
