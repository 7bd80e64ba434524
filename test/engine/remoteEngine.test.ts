/**
 * What only the remote engine does: API keys, timeouts and unreachable servers, against real servers on
 * 127.0.0.1 (llama-server with --api-key; a TCP server that accepts and never answers).
 */
import * as assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { EngineError } from "../../src/engine/engine";
import { RemoteEngine } from "../../src/engine/remote/remoteEngine";
import { ensureTestModel } from "../support/gguf/testModels";
import { startLlamaServer, type LlamaServer } from "./llamaServer";
import { startOllamaShapedServer, startVllmShapedServer, type ShapedServer } from "./shapedServers";
import { LineLog } from "../../src/log/log";

const isEngineError = (kind: EngineError["kind"], pattern: RegExp) => (e: unknown) => e instanceof EngineError && e.kind === kind && pattern.test(e.message);

describe("remote engine", function () {
  this.timeout(120_000);

  it("says clearly when the server cannot be reached", async () => {
    const silent = http.createServer();
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as AddressInfo).port;
    await new Promise<void>((r) => silent.close(() => r()));
    const engine = new RemoteEngine({ endpoint: `http://127.0.0.1:${port}` });
    await assert.rejects(engine.ensureReady(), isEngineError("failed", /Cannot reach the model server at http:\/\/127\.0\.0\.1:\d+.*bedside\.engine\.endpoint/));
    assert.equal(engine.state.kind, "error");
    await engine.dispose();
  });

  it("sends a request again when the server drops the connection under it, once", async () => {
    // A real server that closes the connection of every other request without answering, as a server does
    // with an idle kept-alive connection just as a request goes out on it.
    let requests = 0;
    const dropping = http.createServer((req, res) => {
      requests++;
      if (requests % 2 === 1) return req.socket.destroy();
      res.setHeader("content-type", "application/json");
      if (req.url === "/v1/models") return res.end(JSON.stringify({ data: [{ id: "dropping", meta: { n_ctx_train: 512 } }] }));
      if (req.url === "/props") return res.end(JSON.stringify({ default_generation_settings: { n_ctx: 512 } }));
      if (req.url === "/tokenize") return res.end(JSON.stringify({ tokens: [1, 2, 3] }));
      res.statusCode = 404;
      res.end("{}");
    });
    await new Promise<void>((r) => dropping.listen(0, "127.0.0.1", r));
    const engine = new RemoteEngine({ endpoint: `http://127.0.0.1:${(dropping.address() as AddressInfo).port}` });
    try {
      assert.equal((await engine.ensureReady()).name, "dropping");
      assert.equal((await engine.tokenize("chest pain")).count, 3);
      // /v1/models, /props and /tokenize each dropped once and answered on the second try.
      assert.equal(requests, 6);
    } finally {
      await engine.dispose();
      dropping.closeAllConnections();
      await new Promise<void>((r) => dropping.close(() => r()));
    }
  });

  it("times out a server that never answers, with a message that says so", async () => {
    const hanging = http.createServer(() => {
      /* accepts, never answers */
    });
    await new Promise<void>((r) => hanging.listen(0, "127.0.0.1", r));
    const engine = new RemoteEngine({ endpoint: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`, timeoutMs: 500 });
    try {
      await assert.rejects(engine.ensureReady(), isEngineError("failed", /did not finish within 1 s/));
    } finally {
      await engine.dispose();
      hanging.closeAllConnections();
      await new Promise<void>((r) => hanging.close(() => r()));
    }
  });

  describe("with llama-server requiring an API key", () => {
    let server: LlamaServer;
    before(async function () {
      this.timeout(60 * 60_000); // builds llama-server on the first run
      server = await startLlamaServer(await ensureTestModel("tiny"), ["-c", "512", "--api-key", "team-secret"]);
    });
    after(() => server?.stop());

    it("is refused without the key, with a message that says how to set it", async () => {
      const engine = new RemoteEngine({ endpoint: server.url, apiKey: async () => "wrong" });
      await assert.rejects(engine.complete({ prompt: "Patient has", maxTokens: 4, lane: "general" }), isEngineError("failed", /refused the API key.*Set Server API Key/));
      await engine.dispose();
    });

    it("sends the key as a bearer token and completes", async () => {
      const engine = new RemoteEngine({ endpoint: server.url, apiKey: async () => "team-secret" });
      const result = await engine.complete({ prompt: "Patient has", maxTokens: 4, lane: "general" });
      assert.equal(result.generatedTokens, 4);
      assert.equal(engine.state.kind, "ready");
      assert.equal(engine.state.kind === "ready" && engine.state.info.backend, "remote");
      await engine.dispose();
    });
  });

  describe("speaking each server's own dialect (vLLM- and Ollama-shaped servers over llama-server)", () => {
    let backend: LlamaServer;
    let vllm: ShapedServer;
    let ollama: ShapedServer;
    before(async function () {
      this.timeout(60 * 60_000);
      backend = await startLlamaServer(await ensureTestModel("tiny"), ["-c", "512"]);
      vllm = await startVllmShapedServer({ backend: { url: backend.url, contextSize: 512 }, model: "bedside/tiny" });
      ollama = await startOllamaShapedServer({
        models: [{ name: "bedside-tiny:latest", backend: { url: backend.url, contextSize: 512 }, architecture: "llama", trainContext: 512 }],
      });
    });
    after(async () => {
      await vllm?.close();
      await ollama?.close();
      await backend?.stop();
    });
    const schema = { type: "object", properties: { likelihood: { enum: ["high", "low"] } }, required: ["likelihood"] };

    function logged(): { log: LineLog; lines: string[] } {
      const lines: string[] = [];
      return { log: new LineLog((l) => lines.push(l), { debug: () => false, includeNoteText: () => false }), lines };
    }

    it("vLLM: tokenizes with /tokenize {model, prompt}, asks for JSON with response_format, has no infill and says so once", async () => {
      const { log, lines } = logged();
      const engine = new RemoteEngine({ endpoint: `${vllm.url}/v1`, log });
      try {
        const info = await engine.ensureReady();
        assert.equal(engine.serverKind, "vllm");
        assert.match(info.architecture, /vLLM 0\.8\.5/);
        assert.equal(info.contextSize, 512, "max_model_len from /v1/models");
        assert.equal(info.infillSupported, false);
        const counted = await engine.tokenize("Patient has chest pain.");
        assert.ok(counted.count > 0 && counted.estimated === undefined);
        const json = await engine.json({ prompt: "Likelihood:", schema, maxTokens: 80, lane: "general", asciiOnly: true });
        assert.ok(["high", "low"].includes((json.value as { likelihood: string }).likelihood));
        const sent = vllm.generationBodies.at(-1)!;
        assert.deepEqual(sent.response_format, { type: "json_schema", json_schema: { name: "bedside", schema } });
        assert.equal(sent.json_schema, undefined, "llama-server's field is not sent to vLLM");
        await assert.rejects(
          engine.infill({ prefix: "BP ", suffix: " mmHg", maxTokens: 4, lane: "completion" }),
          isEngineError("unsupported", /\(vLLM\) cannot fill in the middle/),
        );
        await engine.complete({ prompt: "Plan:", maxTokens: 2, lane: "completion" });
        await engine.complete({ prompt: "Plan:", maxTokens: 2, lane: "completion" });
        assert.equal(lines.filter((l) => /no fill-in-the-middle endpoint, so completions send the text before the cursor only/.test(l)).length, 1);
        assert.ok(!vllm.requests.includes("POST /infill"), "no infill request went out");
        const tokenizeCalls = vllm.requests.filter((r) => r === "POST /tokenize").length;
        assert.ok(tokenizeCalls >= 1);
      } finally {
        await engine.dispose();
      }
    });

    it("vLLM: a prompt over max_model_len is refused by the server with its message", async () => {
      const engine = new RemoteEngine({ endpoint: vllm.url });
      try {
        await assert.rejects(
          engine.complete({ prompt: "chest pain ".repeat(400), maxTokens: 4, lane: "general" }),
          isEngineError("failed", /maximum context length is 512 tokens/),
        );
      } finally {
        await engine.dispose();
      }
    });

    it("Ollama: generates raw with num_ctx and a format schema, calibrates its token estimate on what Ollama counts", async () => {
      const { log, lines } = logged();
      const engine = new RemoteEngine({ endpoint: ollama.url, model: "bedside-tiny:latest", log });
      try {
        const info = await engine.ensureReady();
        assert.equal(engine.serverKind, "ollama");
        assert.match(info.architecture, /Ollama 0\.6\.8/);
        assert.equal(info.contextSize, 512, "the trained context from /api/show, under Bedside's 4,096 cap");
        assert.equal(info.infillSupported, false);
        assert.ok(
          lines.some((l) => /tokens per byte \(densest of 1 prompt/.test(l)),
          lines.join("\n"),
        );
        const prompt = "Patient reports chest pain radiating to the left arm. Assessment:";
        const estimate = await engine.tokenize(prompt);
        assert.equal(estimate.estimated, true);
        const result = await engine.complete({ prompt, maxTokens: 3, lane: "general" });
        assert.ok(estimate.count >= result.promptTokens, `estimated ${estimate.count}, Ollama counted ${result.promptTokens}`);
        assert.ok(estimate.count < Buffer.byteLength(prompt) + 3, "calibrated: tighter than one token per byte");
        const json = await engine.json({ prompt: "Likelihood:", schema, maxTokens: 80, lane: "general", asciiOnly: true });
        assert.ok(["high", "low"].includes((json.value as { likelihood: string }).likelihood));
        const sent = ollama.generationBodies.at(-1)!;
        assert.equal(sent.raw, true, "no template around Bedside's prompt");
        assert.deepEqual(sent.format, schema);
        assert.equal((sent.options as { num_ctx?: number }).num_ctx, 512);
        assert.ok(!ollama.requests.includes("POST /tokenize"), "Ollama has no tokenize endpoint; none was called");
        assert.equal(ollama.promptsCut, 0);
      } finally {
        await engine.dispose();
      }
    });
  });
});
