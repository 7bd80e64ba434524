/**
 * One engine worker child process and its JSON-RPC connection. Calls race the process's exit so a
 * native crash (CUDA out of memory aborts the process; JavaScript cannot catch it) fails the requests in
 * flight with a clear message instead of leaving them hanging.
 */
import { fork, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { createMessageConnection, IPCMessageReader, IPCMessageWriter, type MessageConnection } from "vscode-jsonrpc/node";
import { EngineError } from "../engine";
import { Notifications, Requests, type TextChunk, type WorkerHello, type WorkerLogLine } from "../protocol";

export interface WorkerSpawnOptions {
  /** The bundled worker entry (dist/worker.mjs). */
  workerPath: string;
  /** The Node (or Electron run as Node) that runs the worker; defaults to the current one. */
  execPath?: string;
  env?: NodeJS.ProcessEnv;
  /** How long the worker may take to answer its first message. */
  startTimeoutMs?: number;
}

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when we asked it to stop. */
  expected: boolean;
}

export interface WorkerEvents {
  onLog: (line: WorkerLogLine) => void;
  onTextChunk: (chunk: TextChunk) => void;
}

export class WorkerProcess {
  readonly startedAt = Date.now();
  private stopping = false;
  readonly exited: Promise<WorkerExit>;
  hello!: WorkerHello;

  private constructor(
    private readonly child: ChildProcess,
    readonly connection: MessageConnection,
  ) {
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        connection.dispose();
        resolve({ code, signal, expected: this.stopping });
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(options: WorkerSpawnOptions, events: WorkerEvents): Promise<WorkerProcess> {
    const child = fork(options.workerPath, [], {
      ...(options.execPath ? { execPath: options.execPath } : {}),
      // Never inherit the extension host's inspector or loader flags.
      execArgv: [],
      // Under desktop VS Code the exec path is Electron; this makes it behave as plain Node.
      env: { ...process.env, ...options.env, ELECTRON_RUN_AS_NODE: "1" },
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      serialization: "json",
    });
    const pipeLines = (stream: NodeJS.ReadableStream | null, level: WorkerLogLine["level"]): void => {
      if (!stream) return;
      createInterface({ input: stream }).on("line", (line) => {
        if (line.trim()) events.onLog({ level, message: line });
      });
    };
    pipeLines(child.stdout, "info");
    pipeLines(child.stderr, "warn");

    const connection = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    connection.onNotification(Notifications.log, events.onLog);
    connection.onNotification(Notifications.textChunk, events.onTextChunk);
    connection.onError(([error]) => events.onLog({ level: "warn", message: `IPC error: ${error.message}` }));
    connection.listen();

    const worker = new WorkerProcess(child, connection);
    const timeoutMs = options.startTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      worker.hello = await Promise.race([
        worker.call((c) => c.sendRequest(Requests.hello)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new EngineError("crashed", `Bedside's engine did not start within ${timeoutMs / 1000} s.`)), timeoutMs);
        }),
      ]);
    } catch (error) {
      await worker.stop();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return worker;
  }

  /** Sends a request; fails with a clear error if the process dies before the answer comes. */
  call<R>(send: (connection: MessageConnection) => Promise<R>): Promise<R> {
    const died = this.exited.then((exit): never => {
      throw this.exitError(exit);
    });
    const answered = send(this.connection).catch(async (error: unknown) => {
      // The channel closing can reject the request a moment before the exit event: wait for it briefly
      // so the clinician reads "the engine was killed", not "connection got disposed".
      const exit = await Promise.race([this.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 1000).unref())]);
      throw exit ? this.exitError(exit) : error;
    });
    return Promise.race([answered, died]);
  }

  private exitError(exit: WorkerExit): EngineError {
    if (exit.expected) return new EngineError("disposed", "Bedside's engine was stopped before it answered.");
    const how = exit.signal ? `was killed (${exit.signal})` : `exited (code ${exit.code})`;
    return new EngineError("crashed", `Bedside's engine ${how} before it answered. It restarts by itself; try again in a moment. The log ("Bedside: Show Log") has details.`);
  }

  /** Asks the worker to exit, then kills it if it does not within a grace period. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.stopping = true;
    this.child.disconnect?.();
    const killer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    this.child.kill("SIGTERM");
    await this.exited;
    clearTimeout(killer);
  }
}
