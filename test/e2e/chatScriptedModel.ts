// A generated GGUF whose replies are known in advance: a bigram model. Attention and feed-forward blocks
// still run (so it costs what its shape costs) but add nothing to the residual stream, so the next token
// depends only on the current one. Token embeddings are one-hot: each scripted token has its own
// dimension and every other token shares the last one; the output matrix maps each scripted token's
// dimension to the token after it, and the shared dimension to the first scripted token. Whatever the
// prompt, the reply is the script, token by token, then end-of-text (or the script again, when looping).
// The script's pieces become vocabulary entries in place of some word pieces, so any text can be
// scripted, HTML included.
import { ggmlTensorElementCount, kv, type GgufTensorSpec, type GgufValue } from "../support/gguf/ggufWriter";
import { llamaTestModelSpec } from "../support/gguf/testModels";
import { writeGgufFile } from "../support/gguf/ggufWriter";
import { TokenType } from "../support/gguf/vocabulary";

export interface ScriptedModelOptions {
  /** The reply, in pieces: each becomes one token, so each piece must be unique. */
  readonly script: readonly string[];
  /** Repeat the script instead of ending after it (a reply that only maxTokens or Stop ends). */
  readonly loop?: boolean;
  /** With `loop`: the index of the piece that follows the last one (default 0, the whole script again). */
  readonly loopTo?: number;
  readonly width?: number;
  readonly layers?: number;
  readonly ffn?: number;
  readonly contextLength?: number;
  /** `false`: no chat template (a base model, prompted with a User/Assistant transcript). */
  readonly chatTemplate?: false;
  /** general.name, as the Model view shows it (default bedside-scripted-chat). */
  readonly name?: string;
}

/**
 * Cuts text into unique pieces of about `length` characters (longer where a piece would repeat): one token
 * each in the scripted model.
 */
export function scriptPieces(text: string, length = 3): string[] {
  const pieces: string[] = [];
  const seen = new Set<string>();
  let at = 0;
  while (at < text.length) {
    let size = Math.min(length, text.length - at);
    while (seen.has(text.slice(at, at + size)) && at + size < text.length) size++;
    let piece = text.slice(at, at + size);
    // The very last piece may repeat an earlier one: take it together with the piece before.
    if (seen.has(piece)) {
      const previous = pieces.pop() as string;
      seen.delete(previous);
      piece = previous + piece;
    }
    seen.add(piece);
    pieces.push(piece);
    at += size;
  }
  return pieces;
}

function f32(values: Float32Array): () => Iterable<Uint8Array> {
  return () => [new Uint8Array(values.buffer, values.byteOffset, values.byteLength)];
}

export async function writeScriptedChatModel(path: string, options: ScriptedModelOptions): Promise<string> {
  const width = options.width ?? 128;
  const script = options.script;
  if (new Set(script).size !== script.length) throw new Error("script pieces must be unique");
  if (script.length >= width) throw new Error(`a script of ${script.length} pieces needs a width above that`);
  const spec = llamaTestModelSpec({
    layers: options.layers ?? 4,
    width,
    heads: 4,
    ffn: options.ffn ?? width * 2,
    contextLength: options.contextLength ?? 4096,
    ...(options.chatTemplate === false ? { chatTemplate: false } : {}),
    name: options.name ?? "bedside-scripted-chat",
  });
  const metadata = spec.metadata.map(([k, v]) => [k, v] as [string, GgufValue]);
  const entry = (key: string): GgufValue => {
    const found = metadata.find(([k]) => k === key);
    if (!found) throw new Error(`the spec has no ${key}`);
    return found[1];
  };
  const strings = (key: string): string[] => {
    const v = entry(key);
    if (v.type !== "array" || v.itemType !== "str") throw new Error(`${key} is not a string array`);
    return [...v.items];
  };
  const numbers = (key: string): ArrayLike<number> => {
    const v = entry(key);
    if (v.type !== "array" || typeof v.items[0] !== "number") throw new Error(`${key} is not a number array`);
    return v.items as ArrayLike<number>;
  };
  const scalar = (key: string): number => {
    const v = entry(key);
    if (v.type === "array" || typeof v.value !== "number") throw new Error(`${key} is not a number`);
    return v.value;
  };
  const tokens = strings("tokenizer.ggml.tokens");
  const types = numbers("tokenizer.ggml.token_type");
  const eos = scalar("tokenizer.ggml.eos_token_id");
  const eot = scalar("tokenizer.ggml.eot_token_id");
  // A piece the vocabulary already has is that token; the others replace word pieces from the end of the
  // vocabulary (llama.cpp refuses a vocabulary with two equal pieces).
  const pieces = script.map((p) => p.replace(/ /g, "\u2581"));
  const existing = new Map(tokens.map((t, id) => [t, id] as const));
  const spare: number[] = [];
  for (let id = tokens.length - 1; id >= 0; id--) if (types[id] === TokenType.NORMAL && !pieces.includes(tokens[id] as string)) spare.push(id);
  const ids = pieces.map((piece) => {
    const id = existing.get(piece) ?? spare.shift();
    if (id === undefined) throw new Error("the vocabulary is too small for the script");
    if (types[id] !== TokenType.NORMAL && types[id] !== TokenType.BYTE) throw new Error(`the piece ${JSON.stringify(piece)} is a control token`);
    tokens[id] = piece;
    return id;
  });
  const tokensAt = metadata.findIndex(([k]) => k === "tokenizer.ggml.tokens");
  metadata[tokensAt] = ["tokenizer.ggml.tokens", kv.strs(tokens)];

  const vocab = tokens.length;
  const shared = width - 1;
  const embedding = new Float32Array(width * vocab);
  for (let t = 0; t < vocab; t++) embedding[t * width + shared] = 1;
  ids.forEach((id, i) => {
    embedding[id * width + shared] = 0;
    embedding[id * width + i] = 1;
  });
  const gain = 4;
  const output = new Float32Array(width * vocab);
  output[(ids[0] as number) * width + shared] = gain;
  for (let i = 0; i + 1 < ids.length; i++) output[(ids[i + 1] as number) * width + i] = gain;
  const last = script.length - 1;
  if (options.loop) output[(ids[options.loopTo ?? 0] as number) * width + last] = gain;
  else for (const end of new Set([eos, eot])) output[end * width + last] = gain;

  const tensors: GgufTensorSpec[] = spec.tensors.map((t) => {
    if (t.name === "token_embd.weight") return { ...t, type: "F32", data: f32(embedding) };
    if (t.name === "output.weight") return { ...t, type: "F32", data: f32(output) };
    if (/\.(attn_output|ffn_down)\.weight$/.test(t.name)) {
      const zeros = new Float32Array(ggmlTensorElementCount(t.shape));
      return { ...t, type: "F32", data: f32(zeros) };
    }
    return t;
  });
  await writeGgufFile(path, { metadata, tensors });
  return path;
}
