/**
 * Runs the engine conformance suite against both engines: the local worker (node-llama-cpp) on a generated
 * model, and the remote engine against llama.cpp's own llama-server (built from the llama.cpp source that
 * node-llama-cpp ships, cached in .cache/llama.cpp) serving the same generated model on 127.0.0.1.
 */
import { ensureTestModel } from "../support/gguf/testModels";
import { cpuChoice, startTestEngine, type TestEngine } from "../support/engineFixture";
import { RemoteEngine } from "../../src/engine/remote/remoteEngine";
import { describeEngineConformance } from "./conformance";
import { startLlamaServer, type LlamaServer } from "./llamaServer";

let local: TestEngine | undefined;
describeEngineConformance(
  "local worker",
  async () => {
    local = startTestEngine();
    local.engine.configure(cpuChoice(await ensureTestModel("tiny")));
    return { engine: local.engine, embedder: local.engine };
  },
  async () => {
    await local?.engine.dispose();
  },
);

let servers: LlamaServer[] = [];
let remote: RemoteEngine[] = [];
describeEngineConformance(
  "remote engine against llama-server",
  async () => {
    const [generation, embedding] = await Promise.all([
      startLlamaServer(await ensureTestModel("tiny"), ["-c", "512"]),
      startLlamaServer(await ensureTestModel("bert"), ["--embeddings", "--pooling", "mean"]),
    ]);
    servers = [generation, embedding];
    remote = [new RemoteEngine({ endpoint: generation.url, timeoutMs: 60_000 }), new RemoteEngine({ endpoint: `${embedding.url}/v1`, timeoutMs: 60_000 })];
    return { engine: remote[0]!, embedder: remote[1]! };
  },
  async () => {
    for (const r of remote) await r.dispose();
    for (const s of servers) await s.stop();
  },
);
