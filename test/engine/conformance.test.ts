/**
 * Runs the engine conformance suite against every engine: the local worker (node-llama-cpp) on a generated
 * model, and the remote engine against llama.cpp's own llama-server (built from the llama.cpp source that
 * node-llama-cpp ships, cached in .cache/llama.cpp) serving the same generated model on 127.0.0.1, and
 * against a vLLM-shaped and an Ollama-shaped server (test/engine/shapedServers.ts: each one's documented
 * API, generating with a llama-server behind it).
 */
import { ensureTestModel } from "../support/gguf/testModels";
import { cpuChoice, startTestEngine, type TestEngine } from "../support/engineFixture";
import { RemoteEngine } from "../../src/engine/remote/remoteEngine";
import { describeEngineConformance } from "./conformance";
import { startLlamaServer, type LlamaServer } from "./llamaServer";
import { startOllamaShapedServer, startVllmShapedServer, type ShapedServer } from "./shapedServers";

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

/** The llama-servers the vLLM- and Ollama-shaped servers generate and embed with, shared by both suites. */
let backends: Promise<[LlamaServer, LlamaServer]> | undefined;
const startBackends = (): Promise<[LlamaServer, LlamaServer]> =>
  (backends ??= (async () =>
    Promise.all([startLlamaServer(await ensureTestModel("tiny"), ["-c", "512"]), startLlamaServer(await ensureTestModel("bert"), ["--embeddings", "--pooling", "mean"])]))());
after(async () => {
  if (!backends) return;
  for (const b of await backends.catch(() => [])) await b.stop();
});

let vllm: ShapedServer[] = [];
let vllmEngines: RemoteEngine[] = [];
describeEngineConformance(
  "remote engine against a vLLM-shaped server",
  async () => {
    const [tiny, bert] = await startBackends();
    vllm = [
      await startVllmShapedServer({ backend: { url: tiny.url, contextSize: 512 }, model: "bedside/tiny" }),
      await startVllmShapedServer({ backend: { url: bert.url, contextSize: 512 }, model: "bedside/bert" }),
    ];
    vllmEngines = [new RemoteEngine({ endpoint: vllm[0]!.url, timeoutMs: 60_000 }), new RemoteEngine({ endpoint: `${vllm[1]!.url}/v1`, timeoutMs: 60_000 })];
    return { engine: vllmEngines[0]!, embedder: vllmEngines[1]! };
  },
  async () => {
    for (const r of vllmEngines) await r.dispose();
    for (const s of vllm) await s.close();
  }, // vLLM has no fill-in-the-middle endpoint: the engine must say so (completions then send the prefix only).
  { infill: false },
);

let ollama: ShapedServer | undefined;
let ollamaEngines: RemoteEngine[] = [];
describeEngineConformance(
  "remote engine against an Ollama-shaped server",
  async () => {
    const [tiny, bert] = await startBackends();
    const server = await startOllamaShapedServer({
      models: [
        {
          name: "bedside-tiny:latest",
          backend: { url: tiny.url, contextSize: 512 },
          architecture: "llama",
          trainContext: 512,
          template: "<|im_start|>user\n{{ .Prompt }}<|im_end|>\n<|im_start|>assistant\n",
        },
        { name: "bedside-bert:latest", backend: { url: bert.url, contextSize: 512 }, architecture: "bert", trainContext: 512, embedding: true },
      ],
    });
    ollama = server;
    ollamaEngines = [
      new RemoteEngine({ endpoint: server.url, model: "bedside-tiny:latest", timeoutMs: 60_000 }),
      new RemoteEngine({ endpoint: `${server.url}/v1`, model: "bedside-bert:latest", timeoutMs: 60_000 }),
    ];
    return { engine: ollamaEngines[0]!, embedder: ollamaEngines[1]!, promptsCut: () => server.promptsCut };
  },
  async () => {
    for (const r of ollamaEngines) await r.dispose();
    await ollama?.close();
  }, // Ollama's API has no fill-in-the-middle request Bedside uses: the engine must say so.
  { infill: false },
);
