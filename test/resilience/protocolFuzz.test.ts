/**
 * Fuzzing the engine worker's protocol decoder (fast-check, 10,000+ messages): raw IPC messages to the real
 * worker, from well-formed JSON-RPC with wrong parameter types to things that are not JSON-RPC at all.
 * The worker must stay alive, answer every request that has an id (a result or an error), and still
 * answer a health check afterwards. BEDSIDE_FUZZ_RUNS sets the number of messages (default 10,000).
 */
import * as assert from "node:assert/strict";
import { fork, type ChildProcess } from "node:child_process";
import fc from "fast-check";
import { Requests } from "../../src/engine/protocol";
import { workerPath } from "../support/engineFixture";
import { ensureTestModel } from "../support/gguf/testModels";
import { record, settle, tally } from "./tally";

const RUNS = Number(process.env.BEDSIDE_FUZZ_RUNS ?? 10_000);
const METHODS = [...Object.values(Requests).map((r) => r.method), "engine/textChunk", "engine/log", "$/cancelRequest", "engine/nope", "", "__proto__"];

interface Reply {
  id?: unknown;
  result?: unknown;
  error?: { code: number; message: string };
}

class RawWorker {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<number, (reply: Reply) => void>();
  exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor() {
    this.child = fork(workerPath, [], {
      execArgv: [],
      stdio: ["ignore", "ignore", process.env.BEDSIDE_FUZZ_VERBOSE ? "inherit" : "ignore", "ipc"],
      serialization: "json",
      env: { ...process.env, NODE_LLAMA_CPP_GPU: "false" },
    });
    this.child.on("message", (m: Reply) => {
      if (typeof m?.id === "number") this.waiting.get(m.id)?.(m);
    });
    this.child.on("exit", (code, signal) => {
      this.exited = { code, signal };
      if (process.env.BEDSIDE_FUZZ_VERBOSE) console.log(`worker exit ${code} ${signal}; last sent:\n${this.lastSent.join("\n")}`);
    });
  }

  readonly lastSent: string[] = [];

  send(message: unknown): void {
    this.lastSent.push(JSON.stringify(message)?.slice(0, 300) ?? String(message));
    if (this.lastSent.length > 5) this.lastSent.shift();
    this.child.send(message as never);
  }

  /** Sends a request with this id and waits for the reply with the same id. */
  request(id: number, message: Record<string, unknown>, timeoutMs = 10_000): Promise<Reply> {
    return settle(
      new Promise<Reply>((resolve) => {
        this.waiting.set(id, resolve);
        this.send({ ...message, jsonrpc: "2.0", id });
      }),
      timeoutMs,
    ).then((outcome) => {
      this.waiting.delete(id);
      if (outcome.kind === "ok") return outcome.value;
      throw new Error(outcome.kind === "hang" ? `no reply to request ${id} (${String(message.method)}) within ${timeoutMs} ms` : String(outcome.error));
    });
  }

  stop(): void {
    this.child.kill("SIGKILL");
  }
}

/** Parameters of every shape: right-looking objects with wrong types, primitives, arrays, nesting. */
const anyParams = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
  fc.record(
    {
      slot: fc.oneof(fc.constantFrom("generation", "embedding", "x"), fc.anything()),
      lane: fc.oneof(fc.constantFrom("completion", "general", "x"), fc.anything()),
      prompt: fc.oneof(fc.string({ maxLength: 40 }), fc.anything()),
      prefix: fc.oneof(fc.string({ maxLength: 20 }), fc.integer()),
      suffix: fc.oneof(fc.string({ maxLength: 20 }), fc.constant(null)),
      text: fc.oneof(fc.string({ maxLength: 40 }), fc.array(fc.string())),
      texts: fc.oneof(fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }), fc.string(), fc.constant(null)),
      path: fc.oneof(fc.constantFrom("", "/", "/dev/null", "/nonexistent/model.gguf", "../../etc/passwd", "\u0000"), fc.string({ maxLength: 20 })),
      maxTokens: fc.oneof(fc.integer({ min: -5, max: 4 }), fc.constantFrom(Number.NaN, null, "7", 1.5)),
      streamId: fc.oneof(fc.integer(), fc.string(), fc.constant(null)),
      schema: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant({ type: "object" })),
      stop: fc.oneof(fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 }), fc.string(), fc.integer()),
      threads: fc.oneof(fc.integer({ min: -1, max: 2 }), fc.string()),
      contextSize: fc.oneof(fc.integer({ min: -1, max: 1024 }), fc.constant(null)),
    },
    { requiredKeys: [] },
  ),
);

/** One fuzz message: a request (expects a reply), a notification, or something that is not JSON-RPC. */
const anyMessage = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("request" as const), method: fc.oneof(fc.constantFrom(...METHODS), fc.string({ maxLength: 12 })), params: anyParams }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("notification" as const), method: fc.oneof(fc.constantFrom(...METHODS), fc.string({ maxLength: 12 })), params: anyParams }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("raw" as const),
      value: fc.oneof(
        fc.jsonValue({ maxDepth: 4 }),
        fc.record(
          {
            jsonrpc: fc.oneof(fc.constant("2.0"), fc.string()),
            id: fc.oneof(fc.string(), fc.double(), fc.constant(null)),
            method: fc.anything(),
            result: fc.anything(),
            error: fc.anything(),
          },
          { requiredKeys: [] },
        ),
      ),
    }),
  },
);

describe("resilience: fuzzing the engine protocol decoder", function () {
  this.timeout(20 * 60_000);
  let worker: RawWorker;
  let nextId = 1_000_000;

  before(() => {
    worker = new RawWorker();
  });
  after(() => worker.stop());

  it("answers a health check first, and loads a model so generation requests reach the runtime", async () => {
    const reply = await worker.request(nextId++, { method: Requests.hello.method });
    assert.equal(typeof (reply.result as { pid?: unknown }).pid, "number");
    const tiny = await ensureTestModel("tiny");
    const loaded = await worker.request(
      nextId++,
      { method: Requests.load.method, params: { slot: "generation", path: tiny, gpu: "cpu", gpuLayers: 0, threads: 1, contextSize: 256, flashAttention: true } },
      60_000,
    );
    assert.ok(loaded.result, JSON.stringify(loaded.error));
  });

  it(`stays up and answers every request through ${RUNS.toLocaleString("en")} random messages`, async () => {
    let requests = 0;
    let errors = 0;
    let sent = 0;
    await fc
      .assert(
        fc.asyncProperty(anyMessage, async (message) => {
          sent++;
          tally.badInputs++;
          if (message.kind === "request") {
            requests++;
            const reply = await worker.request(nextId++, { method: message.method, ...(message.params !== undefined ? { params: message.params } : {}) });
            assert.ok("result" in reply || "error" in reply, `a reply for ${message.method}`);
            if (reply.error) {
              errors++;
              assert.equal(typeof reply.error.code, "number");
              assert.equal(typeof reply.error.message, "string");
            }
          } else if (message.kind === "notification") {
            worker.send({ jsonrpc: "2.0", method: message.method, ...(message.params !== undefined ? { params: message.params } : {}) });
          } else {
            worker.send(message.value);
          }
          assert.equal(worker.exited, undefined, `the worker exited (${JSON.stringify(worker.exited)}) after ${JSON.stringify(message).slice(0, 200)}`);
          if (sent % 500 === 0) {
            const hello = await worker.request(nextId++, { method: Requests.hello.method });
            assert.ok(hello.result, "health check");
          }
        }),
        { numRuns: RUNS, seed: Number(process.env.BEDSIDE_RESILIENCE_SEED ?? 42), endOnFailure: true },
      )
      .catch((error: unknown) => {
        if (/within \d+ ms/.test(String(error))) tally.hangs++;
        throw error;
      });
    record("engine protocol", "random IPC messages to the worker (fast-check)", sent);
    console.log(`    ${sent} messages, ${requests} requests answered (${errors} with an error reply)`);
    assert.ok(sent >= RUNS);
  });

  it("survives hostile shapes: deep nesting, huge strings, prototype keys, cancellation storms", async () => {
    let deep: unknown = 0;
    for (let i = 0; i < 2000; i++) deep = [deep];
    const hostile: Record<string, unknown>[] = [
      { method: Requests.tokenize.method, params: { text: "x".repeat(2_000_000) } },
      { method: Requests.complete.method, params: deep },
      { method: Requests.complete.method, params: JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}}') as unknown },
      { method: Requests.load.method, params: { slot: "generation", path: "/dev/zero", gpu: "cpu", gpuLayers: 0, threads: 1, contextSize: 512, flashAttention: false } },
      { method: Requests.embed.method, params: { texts: Array.from({ length: 10_000 }, () => "a") } },
    ];
    for (const message of hostile) {
      tally.badInputs++;
      const reply = await worker.request(nextId++, message, 60_000);
      assert.ok("result" in reply || "error" in reply);
      assert.equal(worker.exited, undefined, `the worker exited after ${String(message.method)}`);
    }
    for (let i = 0; i < 1000; i++) worker.send({ jsonrpc: "2.0", method: "$/cancelRequest", params: { id: i } });
    tally.badInputs += 1000;
    record("engine protocol", "hostile messages (deep nesting, 2 MB string, __proto__, /dev/zero as a model, cancel storm)", hostile.length + 1000);
    const hello = await worker.request(nextId++, { method: Requests.hello.method });
    assert.ok(hello.result);
  });
});
