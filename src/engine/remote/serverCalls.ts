/**
 * The generation requests each kind of model server takes (docs/remote-servers.md has the table): Ollama's
 * native `/api/generate` (raw, with `num_ctx`), OpenAI `/v1/completions` on llama-server, vLLM and others,
 * llama-server's `/infill`; JSON schemas in each server's terms. Pure: no vscode, no network.
 */
import type { InfillRequest } from "../engine";
import type { GenerationLimits } from "../protocol";
import { completionPiece, llamaNativePiece, ollamaPiece, type CompletionChunk, type LlamaNativeChunk, type OllamaGenerateLine, type StreamPiece } from "./streamFormats";

/** What kind of server answers, found out when the engine connects. */
export type ServerKind = "llama-server" | "vllm" | "ollama" | "openai";

export const SERVER_KIND_NAMES: Record<ServerKind, string> = { "llama-server": "llama-server", vllm: "vLLM", ollama: "Ollama", openai: "OpenAI-compatible server" };

/** A streamed generation request and how to read its stream. */
export interface GenerationCall {
  path: string;
  body: Record<string, unknown>;
  parse: (data: string) => StreamPiece;
  ndjson: boolean;
}

/** The request that generates from `prompt` on this kind of server, and how to read its stream. */
export function generationCall(
  kind: ServerKind,
  prompt: string,
  limits: GenerationLimits,
  schema: unknown,
  model: { name: string; contextSize: number } | undefined,
): GenerationCall {
  const modelField = model?.name ? { model: model.name } : {};
  if (kind === "ollama") {
    // Ollama's native API (docs/api.md "Generate a completion"): raw = no template, options per request.
    const options: Record<string, unknown> = {
      num_predict: limits.maxTokens,
      temperature: limits.temperature ?? 0,
      ...(model?.contextSize ? { num_ctx: model.contextSize } : {}),
      ...(limits.topK !== undefined ? { top_k: limits.topK } : {}),
      ...(limits.topP !== undefined ? { top_p: limits.topP } : {}),
      ...(limits.seed !== undefined ? { seed: limits.seed } : {}),
      ...(limits.stop?.length ? { stop: limits.stop } : {}),
    };
    return {
      path: "/api/generate",
      body: { ...modelField, prompt, raw: true, stream: true, options, ...(schema !== undefined ? { format: schema } : {}) },
      parse: (data) => ollamaPiece(JSON.parse(data) as OllamaGenerateLine),
      ndjson: true,
    };
  }
  const sampling: Record<string, unknown> = {
    max_tokens: limits.maxTokens,
    temperature: limits.temperature ?? 0,
    ...(limits.topK !== undefined && kind !== "openai" ? { top_k: limits.topK } : {}),
    ...(limits.topP !== undefined ? { top_p: limits.topP } : {}),
    ...(limits.seed !== undefined ? { seed: limits.seed } : {}),
    ...(limits.stop?.length ? { stop: limits.stop } : {}),
  };
  let format: Record<string, unknown> = {};
  if (schema !== undefined) {
    // llama-server: `json_schema`; vLLM (and OpenAI-style servers): `response_format` with a JSON schema.
    format = kind === "llama-server" ? { json_schema: schema } : { response_format: { type: "json_schema", json_schema: { name: "bedside", schema } } };
  }
  return {
    path: "/v1/completions",
    body: { ...modelField, prompt, ...sampling, ...format, stream: true, stream_options: { include_usage: true } },
    parse: (data) => completionPiece(JSON.parse(data) as CompletionChunk),
    ndjson: false,
  };
}

/** llama.cpp's /infill (not part of the OpenAI API). */
export function infillCall(request: InfillRequest): GenerationCall {
  return {
    path: "/infill",
    body: {
      input_prefix: request.prefix,
      input_suffix: request.suffix,
      n_predict: request.maxTokens,
      temperature: request.temperature ?? 0,
      stream: true,
      ...(request.topK !== undefined ? { top_k: request.topK } : {}),
      ...(request.topP !== undefined ? { top_p: request.topP } : {}),
      ...(request.seed !== undefined ? { seed: request.seed } : {}),
      ...(request.stop?.length ? { stop: request.stop } : {}),
    },
    parse: (data: string) => llamaNativePiece(JSON.parse(data) as LlamaNativeChunk),
    ndjson: false,
  };
}
