/**
 * HTTP to a model server: the API key, a timeout and the caller's signal on every request, one resend when
 * a kept-alive connection was dropped under it, and errors that say what to do. Plain Node (global fetch).
 */
import { EngineError } from "../engine";

/** A request whose response is being read; `done` must be called when it is. */
export interface ServerRequest {
  response: Response;
  controller: AbortController;
  done: () => void;
}

/** The connection was closed or reset under the request (undici's "other side closed"), not refused. */
function isDroppedConnection(error: unknown): boolean {
  const code = (error as { cause?: { code?: string } } | undefined)?.cause?.code;
  return code === "UND_ERR_SOCKET" || code === "ECONNRESET" || code === "EPIPE";
}

export class ServerHttp {
  private readonly inFlight = new Set<AbortController>();
  private closed = false;

  constructor(
    /** The server's base URL without a trailing slash or `/v1`. */
    readonly base: string,
    private readonly timeoutMs: number,
    /** Read at every request, so a key changed in SecretStorage applies at once. */
    private readonly apiKey: (() => Promise<string | undefined>) | undefined,
  ) {}

  /** fetch with the API key, a timeout and the caller's signal; errors become EngineErrors that say what to do. */
  async request(path: string, body: unknown, signal: AbortSignal | undefined, method = "POST"): Promise<ServerRequest> {
    if (this.closed) throw new EngineError("disposed", "Bedside's engine was shut down.");
    const controller = new AbortController();
    const timer = setTimeout(
      () =>
        controller.abort(
          new EngineError(
            "failed",
            `The model server at ${this.base} did not finish within ${Math.round(this.timeoutMs / 1000)} s. Check that it is running and not overloaded, or raise "bedside.engine.timeoutSeconds".`,
          ),
        ),
      this.timeoutMs,
    );
    const onAbort = (): void => controller.abort(new EngineError("cancelled", "The request was cancelled."));
    if (signal?.aborted) onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    this.inFlight.add(controller);
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      this.inFlight.delete(controller);
    };
    const headers: Record<string, string> = { accept: "application/json, text/event-stream, application/x-ndjson" };
    if (body !== undefined) headers["content-type"] = "application/json";
    const key = await this.apiKey?.();
    if (key) headers.authorization = `Bearer ${key}`;
    try {
      const send = (): Promise<Response> =>
        fetch(`${this.base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: controller.signal });
      // A server may close an idle kept-alive connection just as a request goes out on it: that request never
      // reached it, so it is sent once more on a fresh connection (a refused connection is not retried).
      const response = await send().catch((error: unknown) => {
        if (controller.signal.aborted || !isDroppedConnection(error)) throw error;
        return send();
      });
      if (!response.ok) {
        const text = await response.text().catch(() => "");
        done();
        throw httpError(path, response.status, text);
      }
      return { response, controller, done };
    } catch (error) {
      done();
      if (error instanceof EngineError) throw error;
      if (controller.signal.aborted && controller.signal.reason instanceof EngineError) throw controller.signal.reason;
      throw new EngineError(
        "failed",
        `Cannot reach the model server at ${this.base}: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}. Check "bedside.engine.endpoint" and that the server is running.`,
      );
    }
  }

  /** A request whose JSON answer is read whole. */
  async json<T>(path: string, body: unknown, signal: AbortSignal | undefined, method = "POST"): Promise<T> {
    const req = await this.request(path, body, signal, method);
    try {
      return (await req.response.json()) as T;
    } finally {
      req.done();
    }
  }

  /** GET/POST that answers the JSON body, or undefined when the server has no such endpoint or fails. */
  async probe<T>(path: string, signal: AbortSignal | undefined, body?: unknown): Promise<T | undefined> {
    try {
      return await this.json<T>(path, body, signal, body === undefined ? "GET" : "POST");
    } catch (error) {
      if (error instanceof EngineError && (error.kind === "cancelled" || error.kind === "disposed")) throw error;
      return undefined;
    }
  }

  /** Cancels what is in flight; later requests fail as "disposed". */
  close(): void {
    this.closed = true;
    for (const c of this.inFlight) c.abort(new EngineError("disposed", "Bedside's engine was shut down."));
  }
}

function httpError(path: string, status: number, body: string): EngineError {
  let detail = body.slice(0, 300);
  try {
    const parsed = JSON.parse(body) as { error?: { message?: string } | string; message?: string };
    detail = typeof parsed.error === "string" ? parsed.error : (parsed.error?.message ?? parsed.message ?? detail);
  } catch {
    /* not JSON */
  }
  if (status === 401 || status === 403) return new EngineError("failed", `The model server refused the API key (HTTP ${status}). Run "Bedside: Set Server API Key".`);
  if (status === 404 || status === 501) return new EngineError("unsupported", `The model server has no ${path} (HTTP ${status}).`);
  return new EngineError("failed", `The model server answered HTTP ${status} to ${path}: ${detail}`);
}
