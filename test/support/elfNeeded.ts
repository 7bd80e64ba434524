/**
 * The DT_NEEDED entries of a 64-bit little-endian ELF shared library (what `readelf -d` lists as
 * "Shared library: [...]"), read with positional reads so a 370 MB library is not loaded whole.
 * Tests use it to check what node-llama-cpp's CUDA packs link against.
 */
import { closeSync, openSync, readSync } from "node:fs";

export function elfNeeded(file: string): string[] {
  const fd = openSync(file, "r");
  try {
    const read = (offset: number, length: number): Buffer => {
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, offset);
      return buffer;
    };
    const header = read(0, 64);
    if (header.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${file} is not an ELF file`);
    if (header[4] !== 2 || header[5] !== 1) throw new Error(`${file} is not a 64-bit little-endian ELF file`);
    const sectionsAt = Number(header.readBigUInt64LE(0x28));
    const entrySize = header.readUInt16LE(0x3a);
    const count = header.readUInt16LE(0x3c);
    const sections = Array.from({ length: count }, (_, i) => {
      const s = read(sectionsAt + i * entrySize, entrySize);
      return { type: s.readUInt32LE(4), offset: Number(s.readBigUInt64LE(0x18)), size: Number(s.readBigUInt64LE(0x20)), link: s.readUInt32LE(0x28) };
    });
    const dynamic = sections.find((s) => s.type === 6);
    if (!dynamic) return [];
    const strings = sections[dynamic.link]!;
    const table = read(strings.offset, strings.size);
    const entries = read(dynamic.offset, dynamic.size);
    const needed: string[] = [];
    for (let at = 0; at + 16 <= entries.length; at += 16) {
      const tag = entries.readBigUInt64LE(at);
      if (tag === 0n) break;
      if (tag !== 1n) continue;
      const start = Number(entries.readBigUInt64LE(at + 8));
      needed.push(table.toString("latin1", start, table.indexOf(0, start)));
    }
    return needed;
  } finally {
    closeSync(fd);
  }
}
