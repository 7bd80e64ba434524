/** Structural corruptions of a GGUF file: where each field sits, and a value that is certainly invalid there. */

/** Where each structural field of a GGUF file sits, found by walking a valid file. */
export interface Field {
  at: number;
  size: 4 | 8;
  kind: "magic" | "version" | "tensorCount" | "kvCount" | "stringLength" | "valueType" | "arrayItemType" | "arrayLength" | "nDims" | "dim" | "tensorType" | "tensorOffset";
}

export function walk(bytes: Buffer): { fields: Field[]; dataEnd: number } {
  const fields: Field[] = [
    { at: 0, size: 4, kind: "magic" },
    { at: 4, size: 4, kind: "version" },
    { at: 8, size: 8, kind: "tensorCount" },
    { at: 16, size: 8, kind: "kvCount" },
  ];
  let p = 24;
  const str = (): void => {
    fields.push({ at: p, size: 8, kind: "stringLength" });
    p += 8 + Number(bytes.readBigUInt64LE(p));
  };
  const sizes: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const tensorCount = Number(bytes.readBigUInt64LE(8));
  const kvCount = Number(bytes.readBigUInt64LE(16));
  let alignment = 32;
  for (let i = 0; i < kvCount; i++) {
    const keyAt = p;
    str();
    const key = bytes.toString("utf8", keyAt + 8, p);
    fields.push({ at: p, size: 4, kind: "valueType" });
    const type = bytes.readUInt32LE(p);
    p += 4;
    if (type === 8) str();
    else if (type === 9) {
      fields.push({ at: p, size: 4, kind: "arrayItemType" });
      const item = bytes.readUInt32LE(p);
      p += 4;
      fields.push({ at: p, size: 8, kind: "arrayLength" });
      const n = Number(bytes.readBigUInt64LE(p));
      p += 8;
      if (item === 8)
        for (let j = 0; j < n; j++) p += 8 + Number(bytes.readBigUInt64LE(p)); // item strings: not recorded (too many)
      else p += sizes[item]! * n;
    } else {
      if (key === "general.alignment") alignment = bytes.readUInt32LE(p);
      p += sizes[type]!;
    }
  }
  let dataEnd = 0;
  const tensorOffsets: number[] = [];
  for (let i = 0; i < tensorCount; i++) {
    str();
    fields.push({ at: p, size: 4, kind: "nDims" });
    const nDims = bytes.readUInt32LE(p);
    p += 4;
    for (let d = 0; d < nDims; d++) {
      fields.push({ at: p, size: 8, kind: "dim" });
      p += 8;
    }
    fields.push({ at: p, size: 4, kind: "tensorType" });
    p += 4;
    fields.push({ at: p, size: 8, kind: "tensorOffset" });
    tensorOffsets.push(Number(bytes.readBigUInt64LE(p)));
    p += 8;
  }
  const dataOffset = Math.ceil(p / alignment) * alignment;
  // The last tensor's end: the largest offset's tensor ends at most at the file's end; be conservative.
  dataEnd = dataOffset + Math.max(...tensorOffsets) + 1;
  return { fields, dataEnd };
}

/** A value that makes the field certainly invalid for a file of `fileBytes` bytes. */
export function invalidValue(kind: Field["kind"], fileBytes: number, pick: number): bigint {
  const beyond = BigInt(fileBytes) + 1n + BigInt(pick % 1_000_000) * 4099n;
  switch (kind) {
    case "magic":
      return BigInt(0x46554747 ^ (1 + (pick % 0xffff))); // anything but "GGUF"
    case "version":
      return BigInt([0, 1, 4, 5, 99, 0xffffffff][pick % 6]!);
    case "tensorCount":
      return pick % 2 === 0 ? 0n : 1_000_001n + BigInt(pick);
    case "kvCount":
      return 1_000_001n + BigInt(pick);
    case "stringLength":
      return beyond;
    case "valueType":
      return 13n + BigInt(pick % 1000);
    case "arrayItemType":
      return pick % 2 === 0 ? 9n : 13n + BigInt(pick % 1000);
    case "arrayLength":
      return beyond;
    case "nDims":
      return pick % 2 === 0 ? 0n : 5n + BigInt(pick % 1000);
    case "dim":
      return pick % 2 === 0 ? 0n : (1n << 40n) + 1n + BigInt(pick);
    case "tensorType":
      return BigInt([4, 5, 31, 32, 33, 36, 37, 38, 43, 200][pick % 10]!);
    case "tensorOffset":
      return pick % 2 === 0 ? beyond : 1n + BigInt(pick % 31);
  }
}
