/**
 * A `llama` GGUF from trained weights and a learned SentencePiece vocabulary (issue 19's trained clinical
 * model): the same container and tensor names as the generated test models, but tokens, scores and types
 * come from the vocabulary the trainer learned, the weights from the trainer's export, and the training
 * recipe goes into the metadata (`bedside.recipe`, JSON) so a file says how it was made.
 *
 * Input (written by test/train/trainer.py `export`): `weights.bin` (F32 tensors back to back),
 * `weights.json` ({recipe, tensors: [{name, shape (ggml order), offset, bytes}]}) and `vocab.json`
 * ({info, vocab: [{piece, score, type}]}). 2-D weights are stored F16 (or F32 with `matrixType: "F32"`, the
 * type llama.cpp's `llama-finetune` trains), norms F32 (as converters do).
 *
 * Pure apart from reading those files; knows nothing of torch.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { float32ToFloat16Bits, kv, type GgufFileSpec, type GgufTensorSpec, type GgufValue } from "./ggufWriter";

export interface LearnedPiece {
  readonly piece: string;
  readonly score: number;
  /** llama.cpp token type (1 normal, 2 unknown, 3 control, 6 byte, ...): SentencePiece's kinds. */
  readonly type: number;
}

export interface LearnedVocabulary {
  readonly pieces: readonly LearnedPiece[];
}

export interface TrainedRecipe {
  readonly seed: number;
  readonly layers: number;
  readonly width: number;
  readonly heads: number;
  readonly ffn: number;
  readonly ctx: number;
  readonly vocab: number;
  readonly [key: string]: unknown;
}

export interface ExportedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly bytes: number;
}

export interface ExportedWeights {
  readonly recipe: TrainedRecipe;
  readonly trained_steps: number;
  readonly params: number;
  readonly tensors: readonly ExportedTensor[];
  readonly history?: readonly Record<string, number>[];
}

export interface TrainedModelInput {
  readonly vocabulary: LearnedVocabulary;
  readonly weights: ExportedWeights;
  /** The F32 bytes of all tensors, at the offsets `weights.tensors` gives. */
  readonly data: Uint8Array;
  readonly name: string;
  /** Extra `bedside.*` metadata (corpus counts, figures), each written as a string. */
  readonly extra?: Readonly<Record<string, string>>;
  /** The type of the 2-D weights: F16 (default, half the size) or F32 (what ggml-opt trains). */
  readonly matrixType?: MatrixType;
}

export type MatrixType = "F16" | "F32";

/** Reads the trainer's export folder (`<stem>.bin`, `<stem>.json`, vocab.json); stem "weights" or "untrained". */
export function readTrainerExport(dir: string, stem = "weights"): { vocabulary: LearnedVocabulary; weights: ExportedWeights; data: Uint8Array } {
  const vocabFile = JSON.parse(readFileSync(join(dir, "vocab.json"), "utf8")) as { vocab: LearnedPiece[] };
  const weights = JSON.parse(readFileSync(join(dir, `${stem}.json`), "utf8")) as ExportedWeights;
  const data = new Uint8Array(readFileSync(join(dir, `${stem}.bin`)));
  return { vocabulary: { pieces: vocabFile.vocab }, weights, data };
}

function idOf(pieces: readonly LearnedPiece[], text: string): number {
  const id = pieces.findIndex((p) => p.piece === text);
  if (id < 0) throw new Error(`the vocabulary has no ${text}`);
  return id;
}

function f16Chunks(f32: Float32Array): Iterable<Uint8Array> {
  const halves = new Uint16Array(f32.length);
  for (let i = 0; i < f32.length; i++) halves[i] = float32ToFloat16Bits(f32[i] as number);
  return [new Uint8Array(halves.buffer)];
}

/** The GGUF spec of the trained model: llama architecture, learned vocabulary, F16 (or F32) matrices. */
export function trainedLlamaSpec(input: TrainedModelInput): GgufFileSpec {
  const { vocabulary, weights, data } = input;
  const matrixType = input.matrixType ?? "F16";
  const r = weights.recipe;
  const pieces = vocabulary.pieces;
  if (pieces.length !== r.vocab) throw new Error(`vocabulary has ${pieces.length} pieces, the recipe says ${r.vocab}`);
  const headDim = r.width / r.heads;
  const metadata: Array<[string, GgufValue]> = [
    ["general.architecture", kv.str("llama")],
    ["general.name", kv.str(input.name)],
    ["general.file_type", kv.u32(matrixType === "F16" ? 1 : 0)], // llama_ftype: 1 mostly F16, 0 all F32
    ["general.alignment", kv.u32(32)],
    ["llama.vocab_size", kv.u32(pieces.length)],
    ["llama.context_length", kv.u32(r.ctx)],
    ["llama.embedding_length", kv.u32(r.width)],
    ["llama.block_count", kv.u32(r.layers)],
    ["llama.feed_forward_length", kv.u32(r.ffn)],
    ["llama.rope.dimension_count", kv.u32(headDim)],
    ["llama.rope.freq_base", kv.f32(10000)],
    ["llama.attention.head_count", kv.u32(r.heads)],
    ["llama.attention.head_count_kv", kv.u32(r.heads)],
    ["llama.attention.layer_norm_rms_epsilon", kv.f32(1e-5)],
    ["tokenizer.ggml.model", kv.str("llama")],
    ["tokenizer.ggml.tokens", kv.strs(pieces.map((p) => p.piece))],
    ["tokenizer.ggml.scores", kv.f32s(Float32Array.from(pieces.map((p) => p.score)))],
    ["tokenizer.ggml.token_type", kv.i32s(Int32Array.from(pieces.map((p) => p.type)))],
    ["tokenizer.ggml.bos_token_id", kv.u32(idOf(pieces, "<s>"))],
    ["tokenizer.ggml.eos_token_id", kv.u32(idOf(pieces, "</s>"))],
    ["tokenizer.ggml.unknown_token_id", kv.u32(idOf(pieces, "<unk>"))],
    ["tokenizer.ggml.add_bos_token", kv.bool(true)],
    ["tokenizer.ggml.add_eos_token", kv.bool(false)],
    // The trainer's SentencePiece model adds a dummy prefix ("▁") as Llama's does.
    ["tokenizer.ggml.add_space_prefix", kv.bool(true)],
    ["tokenizer.ggml.fim_pre_token_id", kv.u32(idOf(pieces, "<fim_prefix>"))],
    ["tokenizer.ggml.fim_suf_token_id", kv.u32(idOf(pieces, "<fim_suffix>"))],
    ["tokenizer.ggml.fim_mid_token_id", kv.u32(idOf(pieces, "<fim_middle>"))],
    ["bedside.recipe", kv.str(JSON.stringify({ ...r, trained_steps: weights.trained_steps, params: weights.params }))],
  ];
  for (const [key, value] of Object.entries(input.extra ?? {})) metadata.push([`bedside.${key}`, kv.str(value)]);

  const tensors: GgufTensorSpec[] = weights.tensors.map((t) => {
    const f32 = new Float32Array(data.buffer.slice(data.byteOffset + t.offset, data.byteOffset + t.offset + t.bytes));
    if (t.shape.length === 1 || matrixType === "F32") return { name: t.name, shape: [...t.shape], type: "F32", data: () => [new Uint8Array(f32.buffer)] };
    return { name: t.name, shape: [...t.shape], type: "F16", data: () => f16Chunks(f32) };
  });
  return { metadata, tensors };
}
