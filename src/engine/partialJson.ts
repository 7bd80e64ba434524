/**
 * Reading a JSON answer while the model is still writing it: the string values written so far, each with
 * the key it belongs to, the last one possibly unfinished. What a panel shows instead of raw JSON. Pure.
 */

export interface PartialString {
  /** The object key this string is the value of, or of the array it is in; "" at the top level. */
  key: string;
  value: string;
  complete: boolean;
}

const ESCAPES: Readonly<Record<string, string>> = { n: "\n", t: "\t", r: "\r", b: "\b", f: "\f", '"': '"', "\\": "\\", "/": "/" };

/** The string values in a (possibly cut-off) JSON text, in order; keys are not values. */
export function partialJsonStrings(raw: string): PartialString[] {
  const out: PartialString[] = [];
  /** Open containers: an array remembers the key it is the value of. */
  const stack: Array<{ kind: "array" | "object"; key: string }> = [];
  let pendingKey = "";
  let i = 0;
  while (i < raw.length) {
    const ch = raw[i]!;
    if (ch === '"') {
      let value = "";
      let j = i + 1;
      let complete = false;
      while (j < raw.length) {
        const c = raw[j]!;
        if (c === "\\") {
          const next = raw[j + 1];
          if (next === undefined) break;
          if (next === "u") {
            const hex = raw.slice(j + 2, j + 6);
            if (hex.length < 4) break;
            value += String.fromCharCode(parseInt(hex, 16));
            j += 6;
            continue;
          }
          value += ESCAPES[next] ?? next;
          j += 2;
          continue;
        }
        if (c === '"') {
          complete = true;
          j++;
          break;
        }
        value += c;
        j++;
      }
      // A key is a string where an object expects one (after "{" or ","), finished or not.
      const top = stack[stack.length - 1];
      const before = raw.slice(0, i).trimEnd().slice(-1);
      if (top?.kind === "object" && (before === "{" || before === ",")) pendingKey = complete ? value : "";
      else {
        out.push({ key: top?.kind === "array" ? top.key : pendingKey, value, complete });
      }
      i = j;
      continue;
    }
    if (ch === "[" || ch === "{") stack.push({ kind: ch === "[" ? "array" : "object", key: pendingKey });
    else if (ch === "]" || ch === "}") stack.pop();
    i++;
  }
  return out;
}
