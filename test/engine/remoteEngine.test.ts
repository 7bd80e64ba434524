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
});
