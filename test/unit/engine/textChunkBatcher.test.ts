import * as assert from "node:assert/strict";
import { TextChunkBatcher } from "../../../src/engine/worker/textChunkBatcher";
import type { TextChunk } from "../../../src/engine/protocol";

describe("streamed text batching", () => {
  it("sends the first chunk at once, then one message per stream for the rest, in order", () => {
    const sent: TextChunk[] = [];
    const batcher = new TextChunkBatcher((c) => sent.push(c), 1000);
    for (const piece of ["Pat", "ient ", "has ", "chest ", "pain"]) batcher.push(7, piece);
    batcher.push(8, "other");
    assert.deepEqual(sent, [{ streamId: 7, text: "Pat" }], "only the first chunk goes before the flush");
    batcher.flushAll();
    assert.deepEqual(sent, [
      { streamId: 7, text: "Pat" },
      { streamId: 7, text: "ient has chest pain" },
      { streamId: 8, text: "other" },
    ]);
  });

  it("flushes by itself after the interval", async () => {
    const sent: TextChunk[] = [];
    const batcher = new TextChunkBatcher((c) => sent.push(c), 5);
    batcher.push(1, "a");
    batcher.push(1, "b");
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(sent, [
      { streamId: 1, text: "a" },
      { streamId: 1, text: "b" },
    ]);
  });

  it("ignores empty text", () => {
    const sent: TextChunk[] = [];
    const batcher = new TextChunkBatcher((c) => sent.push(c), 1000);
    batcher.push(1, "");
    batcher.flushAll();
    assert.deepEqual(sent, []);
  });
});
