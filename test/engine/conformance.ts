/**
 * The engine conformance suite: what every `Engine` (the local worker, the remote server client) must do
 * the same way, so features never care which one is behind them. Each engine's test file calls
 * `describeEngineConformance` with a way to get a ready engine on a small generated model.
 */
import * as assert from "node:assert/strict";
import { EngineError, type Engine } from "../../src/engine/engine";

export interface ConformanceSubject {
  engine: Engine;
  /** The engine that embeds (the same one locally; a server started with --embeddings remotely). */
  embedder: Engine;
  /** Prompts the server cut to fit its context without an error (Ollama does), where that can be seen. */
  promptsCut?: () => number;
}

/** A clinical sentence to fill prompts with. */
const FILLER = "Patient reports chest pain radiating to the left arm, worse on exertion, with shortness of breath. ";

export interface ConformanceExpectations {
  /**
   * Whether this engine fills in the middle with the suite's model. Both the local worker and llama-server
   * do (the generated model has FIM tokens); an engine that cannot must say so as EngineError "unsupported",
   * and only a subject declared `false` may.
   */
  infill: boolean;
}

export function describeEngineConformance(
  name: string,
  setup: () => Promise<ConformanceSubject>,
  teardown: () => Promise<void>,
  expectations: ConformanceExpectations = { infill: true },
): void {
  describe(`engine conformance: ${name}`, function () {
    this.timeout(120_000);
    let s: ConformanceSubject;
    before(async function () {
      // The first run builds llama-server from source (cached in .cache/llama.cpp): minutes on 2 cores.
      this.timeout(60 * 60_000);
      s = await setup();
    });
    after(() => teardown());

    it("gets ready and says what it runs", async () => {
      const info = await s.engine.ensureReady();
      assert.ok(info.contextSize > 0, `context ${info.contextSize}`);
      assert.ok(["cpu", "cuda", "metal", "vulkan", "remote"].includes(info.backend));
      assert.equal(s.engine.state.kind, "ready");
    });

    it("streams a completion whose chunks add up to the result, up to maxTokens", async () => {
      let streamed = "";
      let chunks = 0;
      const result = await s.engine.complete({ prompt: "Patient has chest pain and", maxTokens: 16, lane: "completion" }, { onText: (t) => ((streamed += t), chunks++) });
      assert.ok(result.text.length > 0);
      assert.equal(streamed, result.text);
      assert.ok(chunks > 1, `${chunks} chunks: streamed, not all at once`);
      assert.equal(result.stopReason, "maxTokens");
      assert.equal(result.generatedTokens, 16);
      assert.ok(result.promptTokens > 0);
    });

    it("is deterministic at temperature 0, and stops before a stop string and leaves it out", async () => {
      const request = { prompt: "Assessment:", maxTokens: 30, lane: "completion" as const };
      const free = await s.engine.complete(request);
      const again = await s.engine.complete(request);
      assert.equal(again.text, free.text);
      const middle = Math.floor(free.text.length / 2);
      const stop = free.text.slice(middle, middle + 3);
      assert.ok(stop.length === 3, `free text too short: ${JSON.stringify(free.text)}`);
      const stopped = await s.engine.complete({ ...request, stop: [stop] });
      assert.equal(stopped.stopReason, "stop");
      assert.equal(stopped.text, free.text.slice(0, free.text.indexOf(stop)));
    });

    it("cancels a generation in flight, returns what it had, and answers the next request", async () => {
      const controller = new AbortController();
      let chunks = 0;
      const result = await s.engine.complete(
        { prompt: "Plan:", maxTokens: 5000, lane: "completion" },
        { signal: controller.signal, onText: () => ++chunks === 2 && controller.abort() },
      );
      assert.equal(result.stopReason, "aborted");
      assert.ok(result.text.length > 0, "the partial text is returned");
      const next = await s.engine.complete({ prompt: "Plan:", maxTokens: 3, lane: "completion" });
      assert.equal(next.generatedTokens, 3);
    });

    it("returns at once for a request cancelled before it starts", async () => {
      const controller = new AbortController();
      controller.abort();
      const result = await s.engine.complete({ prompt: "x", maxTokens: 50, lane: "general" }, { signal: controller.signal });
      assert.equal(result.stopReason, "aborted");
      assert.equal(result.generatedTokens, 0);
    });

    it("generates JSON that follows a schema", async () => {
      const schema = {
        type: "object",
        properties: { diagnosis: { type: "string", maxLength: 24 }, likelihood: { enum: ["high", "moderate", "low"] } },
        required: ["diagnosis", "likelihood"],
      };
      const result = await s.engine.json({ prompt: "Differential:", schema, maxTokens: 80, lane: "general", asciiOnly: true });
      const value = result.value as { diagnosis: unknown; likelihood: unknown };
      assert.equal(typeof value.diagnosis, "string");
      assert.ok(["high", "moderate", "low"].includes(value.likelihood as string), JSON.stringify(value));
    });

    if (expectations.infill) {
      it("fills in the middle between a prefix and a suffix", async () => {
        let streamed = "";
        const filled = await s.engine.infill({ prefix: "Blood pressure was ", suffix: " on arrival.", maxTokens: 8, lane: "completion" }, { onText: (t) => (streamed += t) });
        assert.ok(filled.generatedTokens > 0, `generated ${filled.generatedTokens} tokens`);
        assert.ok(filled.text.length > 0, "the filled-in text");
        assert.equal(streamed, filled.text);
        assert.ok(["maxTokens", "eos", "stop"].includes(filled.stopReason), filled.stopReason);
      });
    } else {
      it("says clearly that it cannot fill in the middle", async () => {
        await assert.rejects(
          s.engine.infill({ prefix: "Blood pressure was ", suffix: " on arrival.", maxTokens: 8, lane: "completion" }),
          (error: unknown) => error instanceof EngineError && error.kind === "unsupported" && /fill in the middle|fill-in-the-middle|infill/i.test(error.message),
        );
      });
    }

    it("counts tokens", async () => {
      const tokens = await s.engine.tokenize("Patient has chest pain.");
      // A server without a tokenizer (Ollama) gives an estimate and no token ids.
      assert.ok(tokens.count > 0 && (tokens.estimated === true ? tokens.tokens.length === 0 : tokens.count === tokens.tokens.length), JSON.stringify(tokens));
      const longer = await s.engine.tokenize("Patient has chest pain and shortness of breath.");
      assert.ok(longer.count > tokens.count);
    });

    it("counts a prompt at no fewer tokens than the model evaluates (one allowed for BOS)", async () => {
      // Prose and dense vitals/labs (digits and symbols take more tokens per character).
      const prompt = `${FILLER}Vitals: BP 162/94, HR 112, RR 24, SpO2 88%, T 37.9°C; Na 131, K 5.4, Cr 2.1 (1.6), BNP 1,840. Assessment:`;
      const counted = await s.engine.tokenize(prompt);
      const result = await s.engine.complete({ prompt, maxTokens: 2, lane: "general" });
      assert.ok(result.promptTokens > 0, "the engine reports the prompt's size");
      assert.ok(counted.count + 1 >= result.promptTokens, `counted ${counted.count}, the model evaluated ${result.promptTokens}`);
    });

    it("completes a prompt filled to the context by its own count, without the server refusing or cutting it", async () => {
      const info = await s.engine.ensureReady();
      const maxTokens = 4;
      let prompt = "";
      // Bounded: an engine that undercounts would otherwise grow the prompt for ever (each sentence is at least one token).
      for (let i = 0; i < info.contextSize; i++) {
        const candidate = `${prompt}${FILLER}`;
        if ((await s.engine.tokenize(`${candidate}Plan:`)).count + 1 + maxTokens > info.contextSize) break;
        prompt = candidate;
      }
      assert.ok(prompt.length > 0, "at least one sentence fits");
      const cutBefore = s.promptsCut?.() ?? 0;
      const result = await s.engine.complete({ prompt: `${prompt}Plan:`, maxTokens, lane: "general" });
      assert.equal(result.generatedTokens, maxTokens);
      assert.ok(result.promptTokens + maxTokens <= info.contextSize, `${result.promptTokens} + ${maxTokens} > ${info.contextSize}`);
      assert.equal(s.promptsCut?.() ?? 0, cutBefore, "the server cut the prompt");
    });

    it("embeds texts into vectors of one length that tell texts apart", async () => {
      const { vectors } = await s.embedder.embed(["chest pain", "ankle sprain", "chest pain"]);
      assert.equal(vectors.length, 3);
      assert.ok(vectors[0]!.length > 0 && vectors.every((v) => v.length === vectors[0]!.length));
      assert.notDeepEqual(vectors[0], vectors[1]);
      const close = (a: number[], b: number[]): boolean => a.every((x, i) => Math.abs(x - b[i]!) < 1e-4);
      assert.ok(close(vectors[0]!, vectors[2]!), "the same text embeds the same");
    });
  });
}
