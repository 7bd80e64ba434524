/**
 * vLLM-shaped and Ollama-shaped HTTP servers on 127.0.0.1, for the remote engine's conformance suite.
 * Neither vLLM (CUDA/Python wheels) nor Ollama (a Go binary from ollama.com) can be installed on these
 * machines, so these servers answer exactly what each one's documentation says, request and response shapes
 * alike, and forward the generation itself to a real llama-server (llama.cpp's own, serving a generated
 * GGUF), so the text, token counts and JSON are real model output, not made up.
 *
 * Sources of the shapes (read at the versions named; a change in either API shows up here first):
 * - vLLM 0.8, "OpenAI-Compatible Server" (docs/serving/openai_compatible_server.md) and its pydantic models
 *   in vllm/entrypoints/openai/protocol.py:
 *   - `GET /v1/models` -> `{object: "list", data: [{id, object: "model", created, owned_by: "vllm", root,
 *     parent, max_model_len, permission: [...]}]}` (ModelCard);
 *   - `GET /version` -> `{version}`; `GET /health` -> 200;
 *   - `POST /tokenize {model?, prompt, add_special_tokens = true}` -> `{count, max_model_len, tokens}`
 *     (TokenizeCompletionRequest, TokenizeResponse);
 *   - `POST /v1/completions` (CompletionRequest): `max_tokens` default 16, `stop`, `seed`, `top_k`, `top_p`,
 *     `logit_bias {token id: bias}`, `response_format {type: "json_schema", json_schema: {name, schema}}` or
 *     the extra parameter `guided_json`; fields it does not know are ignored (logged as "ignored" by
 *     vLLM); a prompt whose tokens plus `max_tokens` exceed `max_model_len` is refused with 400
 *     "This model's maximum context length is N tokens. However, you requested M tokens (...)";
 *     an unknown model with 404 ("The model `x` does not exist."); errors as ErrorResponse
 *     `{object: "error", message, type, param, code}`;
 *     streamed chunks `{id, object: "text_completion", created, model, choices: [{index, text, logprobs,
 *     finish_reason, stop_reason}]}` where `stop_reason` is the stop string that matched (null at the end of
 *     text), then with `stream_options.include_usage` a chunk with `choices: []` and `usage`, then
 *     `data: [DONE]`;
 *   - `POST /v1/embeddings {model, input}` -> `{id, object: "list", created, model, data: [{index, object:
 *     "embedding", embedding}], usage}` (EmbeddingResponse).
 *   vLLM has no `/infill`, no `/props`, no `/api/...`: those answer 404 `{"detail": "Not Found"}` (FastAPI).
 * - Ollama 0.6, docs/api.md and docs/openai.md:
 *   - `GET /` -> "Ollama is running"; `GET /api/version` -> `{version}`; `GET /api/tags` -> `{models: [...]}`;
 *   - `GET /v1/models` -> `{object: "list", data: [{id, object: "model", created, owned_by: "library"}]}`;
 *   - `POST /api/show {model}` -> `{modelfile, parameters, template, details, model_info: {
 *     "general.architecture", "<arch>.context_length", ...}}`; unknown model: 404 `{error}`;
 *   - `POST /api/generate {model, prompt, raw, format, options: {num_ctx, num_predict, temperature, top_k,
 *     top_p, seed, stop}, stream = true}` -> NDJSON lines `{model, created_at, response, done: false}` and
 *     a last one `{..., done: true, done_reason: "stop" | "length", total_duration, load_duration,
 *     prompt_eval_count, prompt_eval_duration, eval_count, eval_duration}` (`context` only without raw);
 *     `format` is `"json"` or a JSON schema; without `raw` the model's template is applied to the prompt;
 *     `num_ctx` defaults to 2048 (docs/modelfile.md) and a longer prompt is cut to fit, keeping its end,
 *     without an error (the runner logs "truncating input prompt");
 *   - `POST /v1/embeddings {model, input}` -> `{object: "list", data: [{object: "embedding", embedding,
 *     index}], model, usage}`; `POST /api/embed {model, input}` -> `{model, embeddings, ...}`.
 *   Ollama has no tokenize and no infill endpoint: `/tokenize`, `/infill`, `/props`, `/version` answer
 *   404 "404 page not found" (Go's net/http). Documented endpoints Bedside never calls (chat, pull, ...)
 *   answer 501 here, so a test that starts relying on one fails loudly instead of passing on a guess.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

/** A llama-server to forward to: its URL and the context it was started with. */
export interface Backend {
  url: string;
  contextSize: number;
}

export interface ShapedServer {
  url: string;
  /** Requests seen, as "METHOD /path", for tests that check what Bedside asked. */
  requests: string[];
  /** Bodies of the generation requests seen, in order. */
  generationBodies: Record<string, unknown>[];
  /** Ollama: prompts cut because they were longer than num_ctx (Ollama does this without an error). */
  promptsCut: number;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

async function readJson(req: http.IncomingMessage): Promise<Json> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (!text) return {};
  return JSON.parse(text) as Json;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

async function backendJson<T>(backend: Backend, path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  const response = await fetch(`${backend.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
  if (!response.ok) throw new Error(`backend ${path}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

async function backendTokenize(backend: Backend, text: string, addSpecial: boolean): Promise<number[]> {
  const body = await backendJson<{ tokens: number[] }>(backend, "/tokenize", { content: text, add_special: addSpecial });
  return body.tokens;
}

interface NativeChunk {
  content?: string;
  stop?: boolean;
  stop_type?: string;
  stopping_word?: string;
  tokens_evaluated?: number;
  timings?: { prompt_n?: number; predicted_n?: number };
}

/** Streams llama-server's native `/completion` for a token prompt; yields its chunks. */
async function* backendGenerate(backend: Backend, body: Json, signal: AbortSignal): AsyncGenerator<NativeChunk> {
  const response = await fetch(`${backend.url}/completion`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...body, stream: true, cache_prompt: false }),
    signal,
  });
  if (!response.ok || !response.body) throw new Error(`backend /completion: HTTP ${response.status} ${await response.text()}`);
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(bytes, { stream: true });
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line.startsWith("data: ")) yield JSON.parse(line.slice(6)) as NativeChunk;
    }
  }
}

/** Listens on 127.0.0.1 and gives the test the server's address, what it recorded (live) and its close. */
async function serve(server: http.Server, state: Omit<ShapedServer, "url" | "close">): Promise<ShapedServer> {
  const url = await listen(server);
  return {
    url,
    get requests() {
      return state.requests;
    },
    get generationBodies() {
      return state.generationBodies;
    },
    get promptsCut() {
      return state.promptsCut;
    },
    close: closer(server),
  };
}

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function closer(server: http.Server): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
}

/** An AbortController that fires when the client goes away before the answer is complete. */
function clientGone(res: http.ServerResponse): AbortController {
  const controller = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller;
}

function stopList(stop: unknown): string[] {
  if (typeof stop === "string") return [stop];
  return Array.isArray(stop) ? stop.filter((s): s is string => typeof s === "string") : [];
}

export interface VllmShapedOptions {
  backend: Backend;
  /** The served model name (`--served-model-name`), e.g. "epfl-llm/meditron-7b". */
  model: string;
  /** `--max-model-len`; default the backend's context. */
  maxModelLen?: number;
  version?: string;
}

/** A server that answers as `vllm serve <model>` does, generating with the backend llama-server. */
export async function startVllmShapedServer(options: VllmShapedOptions): Promise<ShapedServer> {
  const { backend, model } = options;
  const maxModelLen = options.maxModelLen ?? backend.contextSize;
  const created = Math.floor(Date.now() / 1000);
  const state: Omit<ShapedServer, "url" | "close"> = { requests: [], generationBodies: [], promptsCut: 0 };
  const error = (res: http.ServerResponse, code: number, type: string, message: string): void => sendJson(res, code, { object: "error", message, type, param: null, code });

  const server = http.createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? "/").split("?")[0]!;
      state.requests.push(`${req.method} ${path}`);
      if (req.method === "GET" && path === "/health") return void res.writeHead(200).end();
      if (req.method === "GET" && path === "/version") return sendJson(res, 200, { version: options.version ?? "0.8.5" });
      if (req.method === "GET" && path === "/v1/models") {
        return sendJson(res, 200, {
          object: "list",
          data: [
            {
              id: model,
              object: "model",
              created,
              owned_by: "vllm",
              root: model,
              parent: null,
              max_model_len: maxModelLen,
              permission: [
                {
                  id: "modelperm-bedside",
                  object: "model_permission",
                  created,
                  allow_create_engine: false,
                  allow_sampling: true,
                  allow_logprobs: true,
                  allow_search_indices: false,
                  allow_view: true,
                  allow_fine_tuning: false,
                  organization: "*",
                  group: null,
                  is_blocking: false,
                },
              ],
            },
          ],
        });
      }
      if (req.method !== "POST") return sendJson(res, 404, { detail: "Not Found" });
      const body = await readJson(req);
      if (body.model !== undefined && body.model !== model) return error(res, 404, "NotFoundError", `The model \`${String(body.model)}\` does not exist.`);
      if (path === "/tokenize") {
        if (typeof body.prompt !== "string") return error(res, 400, "BadRequestError", "prompt: Field required");
        const tokens = await backendTokenize(backend, body.prompt, body.add_special_tokens !== false);
        return sendJson(res, 200, { count: tokens.length, max_model_len: maxModelLen, tokens, token_strs: null });
      }
      if (path === "/v1/embeddings") {
        const answer = await backendJson<{ data: { index: number; embedding: number[] }[]; usage?: { prompt_tokens?: number } }>(backend, "/v1/embeddings", { input: body.input });
        const promptTokens = answer.usage?.prompt_tokens ?? 0;
        return sendJson(res, 200, {
          id: `embd-${Date.now()}`,
          object: "list",
          created: Math.floor(Date.now() / 1000),
          model,
          data: answer.data.map((d) => ({ index: d.index, object: "embedding", embedding: d.embedding })),
          usage: { prompt_tokens: promptTokens, total_tokens: promptTokens, completion_tokens: 0 },
        });
      }
      if (path !== "/v1/completions") return sendJson(res, 404, { detail: "Not Found" });

      state.generationBodies.push(body);
      if (typeof body.prompt !== "string") return error(res, 400, "BadRequestError", "Bedside's test double takes one string prompt");
      const maxTokens = typeof body.max_tokens === "number" ? body.max_tokens : 16;
      const promptTokens = await backendTokenize(backend, body.prompt, true);
      if (promptTokens.length + maxTokens > maxModelLen) {
        return error(
          res,
          400,
          "BadRequestError",
          `This model's maximum context length is ${maxModelLen} tokens. However, you requested ${promptTokens.length + maxTokens} tokens (${promptTokens.length} in the messages, ${maxTokens} in the completion). Please reduce the length of the messages or completion.`,
        );
      }
      // Structured output: response_format json_schema / json_object, or guided_json. Nothing else (vLLM
      // ignores a top-level `json_schema`, llama-server's name for it).
      let schema: unknown;
      const format = body.response_format as { type?: string; json_schema?: { schema?: unknown } } | undefined;
      if (format?.type === "json_schema") schema = format.json_schema?.schema ?? {};
      else if (format?.type === "json_object") schema = {};
      else if (body.guided_json !== undefined) schema = typeof body.guided_json === "string" ? (JSON.parse(body.guided_json) as unknown) : body.guided_json;
      const bias = body.logit_bias as Record<string, number> | undefined;
      const stops = stopList(body.stop);
      const native: Json = {
        prompt: promptTokens,
        n_predict: maxTokens,
        temperature: typeof body.temperature === "number" ? body.temperature : 1,
        ...(typeof body.top_k === "number" ? { top_k: body.top_k } : {}),
        ...(typeof body.top_p === "number" ? { top_p: body.top_p } : {}),
        ...(typeof body.seed === "number" ? { seed: body.seed } : {}),
        ...(stops.length ? { stop: stops } : {}),
        ...(schema !== undefined ? { json_schema: schema } : {}),
        ...(bias ? { logit_bias: Object.entries(bias).map(([id, b]) => [Number(id), b <= -100 ? false : b]) } : {}),
      };
      const id = `cmpl-${Date.now()}`;
      const chunkOf = (text: string, finish: string | null, stopReason: string | null): Json => ({
        id,
        object: "text_completion",
        created: Math.floor(Date.now() / 1000),
        model,
        choices: [{ index: 0, text, logprobs: null, finish_reason: finish, stop_reason: stopReason }],
      });
      const gone = clientGone(res);
      const stream = body.stream === true;
      const includeUsage = stream && (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
      if (stream) res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8" });
      let text = "";
      let finish: string | null = null;
      let stopReason: string | null = null;
      let completionTokens = 0;
      try {
        for await (const c of backendGenerate(backend, native, gone.signal)) {
          if (c.stop) {
            finish = c.stop_type === "limit" ? "length" : "stop";
            stopReason = c.stop_type === "word" ? (c.stopping_word ?? null) : null;
            completionTokens = c.timings?.predicted_n ?? completionTokens;
            if (stream) res.write(`data: ${JSON.stringify(chunkOf(c.content ?? "", finish, stopReason))}\n\n`);
            else text += c.content ?? "";
          } else if (c.content) {
            if (stream) res.write(`data: ${JSON.stringify(chunkOf(c.content, null, null))}\n\n`);
            else text += c.content;
          }
        }
      } catch (e) {
        if (gone.signal.aborted) return;
        throw e;
      }
      const usage = { prompt_tokens: promptTokens.length, total_tokens: promptTokens.length + completionTokens, completion_tokens: completionTokens };
      if (!stream)
        return sendJson(res, 200, {
          id,
          object: "text_completion",
          created: Math.floor(Date.now() / 1000),
          model,
          choices: [{ index: 0, text, logprobs: null, finish_reason: finish, stop_reason: stopReason }],
          usage,
        });
      if (includeUsage) res.write(`data: ${JSON.stringify({ id, object: "text_completion", created: Math.floor(Date.now() / 1000), model, choices: [], usage })}\n\n`);
      res.end("data: [DONE]\n\n");
    })().catch((e: unknown) => {
      if (!res.headersSent) error(res, 500, "InternalServerError", (e as Error).message);
      else res.destroy();
    });
  });
  return serve(server, state);
}

export interface OllamaModel {
  /** The name as `ollama list` shows it, e.g. "meditron:7b". */
  name: string;
  backend: Backend;
  /** "llama", "bert", ...: model_info's general.architecture. */
  architecture: string;
  /** `<arch>.context_length` in model_info: the trained context. */
  trainContext: number;
  /** The Go template applied without `raw` (Ollama's TEMPLATE); default "{{ .Prompt }}". */
  template?: string;
  embedding?: boolean;
}

/** A server that answers as `ollama serve` does with these models pulled, generating with their backends. */
export async function startOllamaShapedServer(options: { models: OllamaModel[]; version?: string }): Promise<ShapedServer> {
  const state: Omit<ShapedServer, "url" | "close"> = { requests: [], generationBodies: [], promptsCut: 0 };
  const find = (name: unknown): OllamaModel | undefined => {
    if (typeof name !== "string") return undefined;
    const full = name.includes(":") ? name : `${name}:latest`;
    return options.models.find((m) => m.name === full || m.name === name);
  };
  const notFound = (res: http.ServerResponse): void => {
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
    res.end("404 page not found");
  };
  const created = Math.floor(Date.now() / 1000);

  const server = http.createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? "/").split("?")[0]!;
      state.requests.push(`${req.method} ${path}`);
      if (req.method === "GET" && path === "/") {
        res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
        return void res.end("Ollama is running");
      }
      if (req.method === "GET" && path === "/api/version") return sendJson(res, 200, { version: options.version ?? "0.6.8" });
      if (req.method === "GET" && path === "/v1/models")
        return sendJson(res, 200, { object: "list", data: options.models.map((m) => ({ id: m.name, object: "model", created, owned_by: "library" })) });
      if (req.method === "GET" && path === "/api/tags") {
        return sendJson(res, 200, {
          models: options.models.map((m) => ({
            name: m.name,
            model: m.name,
            modified_at: new Date(created * 1000).toISOString(),
            size: 0,
            digest: "0".repeat(64),
            details: { parent_model: "", format: "gguf", family: m.architecture, families: [m.architecture], parameter_size: "", quantization_level: "F16" },
          })),
        });
      }
      const documentedElsewhere = [
        "/api/chat",
        "/api/create",
        "/api/copy",
        "/api/delete",
        "/api/pull",
        "/api/push",
        "/api/ps",
        "/api/embeddings",
        "/v1/chat/completions",
        "/v1/completions",
      ];
      if (documentedElsewhere.includes(path)) return sendJson(res, 501, { error: `${path} is documented by Ollama but not implemented by Bedside's test double` });
      if (req.method !== "POST") return notFound(res);
      const known = ["/api/show", "/api/generate", "/api/embed", "/v1/embeddings"];
      if (!known.includes(path)) return notFound(res);
      const body = await readJson(req);
      const m = find(body.model ?? body.name);
      if (!m) return sendJson(res, 404, { error: `model "${String(body.model ?? body.name)}" not found, try pulling it first` });

      if (path === "/api/show") {
        return sendJson(res, 200, {
          modelfile: `# Modelfile generated by "ollama show"\nFROM ${m.name}\nTEMPLATE """${m.template ?? "{{ .Prompt }}"}"""`,
          parameters: "",
          template: m.template ?? "{{ .Prompt }}",
          details: { parent_model: "", format: "gguf", family: m.architecture, families: [m.architecture], parameter_size: "", quantization_level: "F16" },
          model_info: { "general.architecture": m.architecture, [`${m.architecture}.context_length`]: m.trainContext },
        });
      }
      if (path === "/api/embed" || path === "/v1/embeddings") {
        if (!m.embedding) return sendJson(res, 400, { error: `"${m.name}" does not support embeddings` });
        const input = typeof body.input === "string" ? [body.input] : (body.input as string[]);
        const answer = await backendJson<{ data: { index: number; embedding: number[] }[]; usage?: { prompt_tokens?: number } }>(m.backend, "/v1/embeddings", { input });
        const vectors = [...answer.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
        const promptTokens = answer.usage?.prompt_tokens ?? 0;
        if (path === "/api/embed") return sendJson(res, 200, { model: m.name, embeddings: vectors, total_duration: 0, load_duration: 0, prompt_eval_count: promptTokens });
        return sendJson(res, 200, {
          object: "list",
          data: vectors.map((embedding, index) => ({ object: "embedding", embedding, index })),
          model: m.name,
          usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
        });
      }

      // POST /api/generate
      state.generationBodies.push(body);
      if (m.embedding) return sendJson(res, 400, { error: `"${m.name}" does not support generate` });
      const opts = (body.options ?? {}) as { num_ctx?: number; num_predict?: number; temperature?: number; top_k?: number; top_p?: number; seed?: number; stop?: string[] };
      const numCtx = opts.num_ctx ?? 2048;
      if (numCtx > m.backend.contextSize) return sendJson(res, 500, { error: `Bedside's test double: num_ctx ${numCtx} is more than its backend's ${m.backend.contextSize}` });
      const raw = body.raw === true;
      const prompt = String(body.prompt ?? "");
      const templated = raw ? prompt : (m.template ?? "{{ .Prompt }}").replace("{{ .Prompt }}", prompt);
      let tokens = await backendTokenize(m.backend, templated, true);
      if (tokens.length >= numCtx) {
        // Ollama keeps the end of a prompt that does not fit, without an error.
        state.promptsCut++;
        tokens = [tokens[0]!, ...tokens.slice(tokens.length - (numCtx - 2))];
      }
      const numPredict = opts.num_predict ?? -1;
      let schema: unknown;
      if (body.format === "json") schema = {};
      else if (body.format && typeof body.format === "object") schema = body.format;
      const native: Json = {
        prompt: tokens,
        n_predict: numPredict < 0 ? numCtx - tokens.length : Math.min(numPredict, numCtx - tokens.length),
        temperature: opts.temperature ?? 0.8,
        top_k: opts.top_k ?? 40,
        top_p: opts.top_p ?? 0.9,
        ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
        ...(opts.stop?.length ? { stop: opts.stop } : {}),
        ...(schema !== undefined ? { json_schema: schema } : {}),
      };
      const stream = body.stream !== false;
      const gone = clientGone(res);
      const started = process.hrtime.bigint();
      const line = (o: Json): string => `${JSON.stringify({ model: m.name, created_at: new Date().toISOString(), ...o })}\n`;
      if (stream) res.writeHead(200, { "content-type": "application/x-ndjson" });
      let text = "";
      let doneReason = "stop";
      let evalCount = 0;
      try {
        for await (const c of backendGenerate(m.backend, native, gone.signal)) {
          if (c.content) {
            if (stream) res.write(line({ response: c.content, done: false }));
            else text += c.content;
          }
          if (c.stop) {
            doneReason = c.stop_type === "limit" ? "length" : "stop";
            evalCount = c.timings?.predicted_n ?? 0;
          }
        }
      } catch (e) {
        if (gone.signal.aborted) return;
        if (stream) return void res.end(line({ error: (e as Error).message }));
        throw e;
      }
      const total = Number(process.hrtime.bigint() - started);
      const final = {
        response: stream ? "" : text,
        done: true,
        done_reason: doneReason,
        ...(raw ? {} : { context: tokens }),
        total_duration: total,
        load_duration: 0,
        prompt_eval_count: tokens.length,
        prompt_eval_duration: 0,
        eval_count: evalCount,
        eval_duration: total,
      };
      if (stream) res.end(line(final));
      else sendJson(res, 200, { model: m.name, created_at: new Date().toISOString(), ...final });
    })().catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: (e as Error).message });
      else res.destroy();
    });
  });
  return serve(server, state);
}
