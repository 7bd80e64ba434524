/**
 * A loopback HTTP server that only counts what reaches it: XSS payloads point their requests here, so a hit
 * means a script ran or the page loaded something it must not.
 */
import * as http from "node:http";

export interface TrapServer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Paths requested, in order. */
  hits: string[];
  close(): void;
}

export async function startTrapServer(): Promise<TrapServer> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? "");
    res.end("caught");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, hits, close: () => server.close() };
}
