import assert from "node:assert/strict";
import type { GgufTensorSpec, GgufValue } from "../../support/gguf/ggufWriter";
import { trainedLlamaSpec, type LearnedPiece, type MatrixType, type TrainedModelInput } from "../../support/gguf/learnedModel";

// A trainer export of the smallest shape the writer accepts: 1 layer is enough to see matrices and norms.
const PIECES: LearnedPiece[] = ["<unk>", "<s>", "</s>", "<fim_prefix>", "<fim_suffix>", "<fim_middle>", "▁a", "b"].map((piece, i) => ({
  piece,
  score: -i,
  type: i === 0 ? 2 : i < 6 ? 3 : 1,
}));

function exportOf(): TrainedModelInput {
  const width = 4;
  const shapes: Array<[string, number[]]> = [
    ["token_embd.weight", [width, PIECES.length]],
    ["blk.0.attn_norm.weight", [width]],
    ["blk.0.attn_q.weight", [width, width]],
  ];
  let offset = 0;
  const tensors = shapes.map(([name, shape]) => {
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    const t = { name, shape, offset, bytes };
    offset += bytes;
    return t;
  });
  // Values F16 cannot hold exactly, so a matrix written F16 differs from the F32 input.
  const values = Float32Array.from({ length: offset / 4 }, (_, i) => 0.1 + i / 3);
  return {
    vocabulary: { pieces: PIECES },
    weights: { recipe: { seed: 1, layers: 1, width, heads: 2, ffn: 8, ctx: 16, vocab: PIECES.length }, trained_steps: 0, params: offset / 4, tensors },
    data: new Uint8Array(values.buffer),
    name: "tiny",
  };
}

function bytesOf(tensor: GgufTensorSpec): Uint8Array {
  const chunks = [...(tensor.data() as Iterable<Uint8Array>)];
  return Uint8Array.from(chunks.flatMap((c) => [...c]));
}

function fileType(metadata: ReadonlyArray<readonly [string, GgufValue]>): unknown {
  const entry = metadata.find(([key]) => key === "general.file_type");
  return entry && "value" in entry[1] ? entry[1].value : undefined;
}

describe("trained model GGUF spec (learnedModel.ts)", () => {
  it("writes matrices F16 and norms F32 by default (general.file_type 1)", () => {
    const spec = trainedLlamaSpec(exportOf());
    assert.deepEqual(
      spec.tensors.map((t) => [t.name, t.type]),
      [
        ["token_embd.weight", "F16"],
        ["blk.0.attn_norm.weight", "F32"],
        ["blk.0.attn_q.weight", "F16"],
      ],
    );
    assert.equal(fileType(spec.metadata), 1);
  });

  it("with matrixType F32 writes every tensor F32, byte for byte the trainer's export (general.file_type 0)", () => {
    const input = exportOf();
    const matrixType: MatrixType = "F32";
    const spec = trainedLlamaSpec({ ...input, matrixType });
    assert.deepEqual(
      spec.tensors.map((t) => t.type),
      ["F32", "F32", "F32"],
    );
    assert.equal(fileType(spec.metadata), 0);
    for (const [i, tensor] of spec.tensors.entries()) {
      const t = input.weights.tensors[i]!;
      assert.deepEqual(bytesOf(tensor), input.data.subarray(t.offset, t.offset + t.bytes), tensor.name);
    }
  });
});
