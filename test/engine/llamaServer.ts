/** Starts llama.cpp's llama-server (built once by test/support/llamaCppTools) on 127.0.0.1 for a test. */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { ensureLlamaCppTools } from "../support/llamaCppTools";

export interface LlamaServer {
  url: string;
  process: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** `binary`: a llama-server to run instead of building one (the integration suite gets it from its runner). */
export async function startLlamaServer(model: string, extraArgs: string[] = [], timeoutMs = 60_000, binary?: string): Promise<LlamaServer> {
  const server = binary ?? process.env.BEDSIDE_LLAMA_SERVER ?? ensureLlamaCppTools().server;
  const port = await freePort();
  const child = spawn(server, ["-m", model, "--host", "127.0.0.1", "--port", String(port), "-t", "1", "-np", "1", "--no-warmup", ...extraArgs], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr!.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`llama-server exited (${child.exitCode}):\n${out}`);
    try {
      const health = await fetch(`${url}/health`);
      if (health.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`llama-server did not become healthy in ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, process: child, output: () => out, stop };
}
