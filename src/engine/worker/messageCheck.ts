/**
 * Messages the worker must not hand to vscode-jsonrpc: its dispatcher throws outside any handler on a few
 * malformed shapes (a `$/cancelRequest` without an id crashed the whole worker; found by the protocol fuzz
 * test in test/resilience), which would take the loaded model down with it. Only the extension talks to
 * the worker, so such a message is a bug somewhere; dropping it keeps the worker up.
 *
 * Pure: no vscode, no node-llama-cpp.
 */
export function isAcceptableMessage(message: unknown): boolean {
  if (message === null || typeof message !== "object" || Array.isArray(message)) return false;
  const m = message as { jsonrpc?: unknown; method?: unknown; id?: unknown; params?: unknown };
  if (m.jsonrpc !== "2.0") return false;
  if (m.id !== undefined && m.id !== null && typeof m.id !== "string" && typeof m.id !== "number") return false;
  if (m.method !== undefined && typeof m.method !== "string") return false;
  // A cancellation is a notification (no id); a request of that name gets vscode-jsonrpc's normal error reply.
  if (m.method === "$/cancelRequest" && (m.id === undefined || m.id === null)) {
    const id = (m.params as { id?: unknown } | null | undefined)?.id;
    if (typeof id !== "string" && typeof id !== "number") return false;
  }
  return true;
}
