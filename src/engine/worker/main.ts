/**
 * The engine worker's entry: a child process that serves the engine protocol over Node IPC. Bundled as
 * ESM because node-llama-cpp is ESM-only with top-level await; it is imported dynamically so a missing
 * native binary becomes a clear error reply instead of a dead process.
 */
import { createMessageConnection, IPCMessageReader, IPCMessageWriter, ResponseError, type CancellationToken, type DataCallback, type Disposable } from "vscode-jsonrpc/node";
import { ErrorCodes, Notifications, Requests, type WorkerLogLine } from "../protocol";
import { EngineFault, LlamaRuntime, type NodeLlamaCpp, type StreamSink } from "./llamaRuntime";
import { TextChunkBatcher } from "./textChunkBatcher";
import { isAcceptableMessage } from "./messageCheck";

if (!process.send) {
  console.error("The Bedside engine worker must be started by the extension (it talks over an IPC channel).");
  process.exit(2);
}

/** Drops malformed messages that would crash the JSON-RPC dispatcher (see messageCheck.ts). */
class CheckedMessageReader extends IPCMessageReader {
  override listen(callback: DataCallback): Disposable {
    return super.listen((message) => {
      if (isAcceptableMessage(message)) callback(message);
    });
  }
}

const connection = createMessageConnection(new CheckedMessageReader(process), new IPCMessageWriter(process));
const log = (level: WorkerLogLine["level"], message: string): void => {
  void connection.sendNotification(Notifications.log, { level, message });
};
const batcher = new TextChunkBatcher((chunk) => void connection.sendNotification(Notifications.textChunk, chunk));

let runtime: Promise<LlamaRuntime> | undefined;
function getRuntime(): Promise<LlamaRuntime> {
  runtime ??= import("node-llama-cpp").then((lib: NodeLlamaCpp) => new LlamaRuntime(lib, log));
  runtime.catch(() => (runtime = undefined));
  return runtime;
}

function toResponseError(error: unknown): ResponseError<void> {
  if (error instanceof EngineFault) return new ResponseError(error.code, error.message);
  const message = error instanceof Error ? error.message : String(error);
  return new ResponseError(ErrorCodes.GenerationFailed, message);
}

/** Maps a JSON-RPC cancellation token to the AbortSignal node-llama-cpp understands. */
function sinkFor(token: CancellationToken, streamId: number | undefined): StreamSink {
  const controller = new AbortController();
  if (token.isCancellationRequested) controller.abort();
  token.onCancellationRequested(() => controller.abort());
  return {
    signal: controller.signal,
    ...(streamId !== undefined ? { onText: (text: string) => batcher.push(streamId, text) } : {}),
  };
}

/** Wraps a handler: protocol errors out, and every streamed chunk flushed before the reply. */
function handle<P, R>(work: (params: P, token: CancellationToken) => Promise<R>) {
  return async (params: P, token: CancellationToken): Promise<R | ResponseError<void>> => {
    try {
      return await work(params, token);
    } catch (error) {
      return toResponseError(error);
    } finally {
      batcher.flushAll();
    }
  };
}

/** Set by esbuild from the installed package, so the log says exactly which llama.cpp build runs. */
declare const __NODE_LLAMA_CPP_VERSION__: string;

connection.onRequest(Requests.hello, () => ({
  pid: process.pid,
  nodeVersion: process.version,
  llamaCppPackageVersion: typeof __NODE_LLAMA_CPP_VERSION__ === "string" ? __NODE_LLAMA_CPP_VERSION__ : "unknown",
}));
connection.onRequest(
  Requests.load,
  handle(async (params) => (await getRuntime()).load(params)),
);
connection.onRequest(
  Requests.unload,
  handle(async (params) => (await getRuntime()).unload(params.slot)),
);
connection.onRequest(
  Requests.modelInfo,
  handle(async (params) => (await getRuntime()).modelInfo(params.slot)),
);
connection.onRequest(
  Requests.complete,
  handle(async (params, token) => (await getRuntime()).complete(params, sinkFor(token, params.streamId))),
);
connection.onRequest(
  Requests.infill,
  handle(async (params, token) => (await getRuntime()).infill(params, sinkFor(token, params.streamId))),
);
connection.onRequest(
  Requests.json,
  handle(async (params, token) => (await getRuntime()).json(params, sinkFor(token, params.streamId))),
);
connection.onRequest(
  Requests.chat,
  handle(async (params, token) => (await getRuntime()).chat(params, sinkFor(token, params.streamId))),
);
connection.onRequest(
  Requests.chatPromptSize,
  handle(async (params) => (await getRuntime()).chatPromptSize(params.messages)),
);
connection.onRequest(
  Requests.embed,
  handle(async (params) => (await getRuntime()).embed(params.texts)),
);
connection.onRequest(
  Requests.tokenize,
  handle(async (params) => (await getRuntime()).tokenize(params.text, params.slot)),
);
connection.onRequest(
  Requests.saveState,
  handle(async (params) => (await getRuntime()).saveState(params.lane)),
);
connection.onRequest(
  Requests.restoreState,
  handle(async (params) => (await getRuntime()).restoreState(params.lane, params.prompt)),
);

// The parent going away (editor closed, extension host crashed) must never leave a 4 GB process behind.
process.on("disconnect", () => process.exit(0));
connection.onClose(() => process.exit(0));
connection.listen();
