/**
 * An in-process egress guard for tests: every TCP/UDP connection and DNS lookup a Node process starts is
 * checked, and anything that is not loopback (127.0.0.0/8, ::1, localhost) or a local socket path is
 * blocked (the socket fails with EEGRESS) and recorded. Installed in the mocha process, the engine worker
 * and VS Code's extension host under test (see noEgress.ts), so an accidental call home fails a test.
 *
 * Plain Node only: it is also bundled to a CommonJS preload that `--require` loads into child processes.
 */
// Default imports: the modules' real objects, whose properties can be replaced (a namespace import's cannot).
import dgram from "node:dgram";
import dns from "node:dns";
import { appendFileSync } from "node:fs";
import net from "node:net";

export interface EgressAttempt {
  kind: "connect" | "dns" | "udp";
  host: string;
  port?: number;
  pid: number;
  /** The process's script, to tell the worker from the test runner. */
  process: string;
  stack: string;
}

export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined || host === "") return true; // Node's default host is localhost
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  const v4 = h.replace(/^::ffff:/, "");
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** A host tests connect to on purpose to prove the guard is live; its attempts fail no run. */
export const SELF_TEST_HOST = "egress-guard-self-test.invalid";

type Listener = (attempt: EgressAttempt) => void;
const listeners = new Set<Listener>();
let installed = false;

function report(kind: EgressAttempt["kind"], host: string, port?: number): EgressAttempt {
  const attempt: EgressAttempt = {
    kind,
    host,
    ...(port !== undefined ? { port } : {}),
    pid: process.pid,
    process: process.argv.slice(1, 2).join(" ") || process.title,
    stack: (new Error().stack ?? "").split("\n").slice(3, 9).join("\n"),
  };
  for (const l of listeners) {
    try {
      l(attempt);
    } catch {
      // a broken listener must not let the connection through
    }
  }
  return attempt;
}

function blockedError(host: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`Blocked by Bedside's test egress guard: connection to ${host} (only loopback is allowed in tests)`);
  error.code = "EEGRESS";
  return error;
}

/** Where a Socket#connect call goes, from its many argument shapes. */
function destinationOf(args: unknown[]): { host?: string; port?: number; path?: string } {
  let first = args[0];
  if (Array.isArray(first)) first = first[0]; // internal normalized form [options, cb]
  if (first && typeof first === "object") {
    const o = first as { host?: unknown; port?: unknown; path?: unknown };
    return {
      ...(typeof o.host === "string" ? { host: o.host } : {}),
      ...(o.port !== undefined ? { port: Number(o.port) } : {}),
      ...(typeof o.path === "string" ? { path: o.path } : {}),
    };
  }
  if (typeof first === "string" && Number.isNaN(Number(first))) return { path: first };
  return { port: Number(first), ...(typeof args[1] === "string" ? { host: args[1] } : {}) };
}

/** Installs the guard once per process; returns a function that removes this listener. */
export function installEgressGuard(onAttempt: Listener): () => void {
  listeners.add(onAttempt);
  if (!installed) {
    installed = true;
    const connect = net.Socket.prototype.connect as (...args: unknown[]) => net.Socket;
    (net.Socket.prototype as unknown as { connect: (...args: unknown[]) => net.Socket }).connect = function (this: net.Socket, ...args: unknown[]): net.Socket {
      const dest = destinationOf(args);
      if (dest.path === undefined && !isLoopbackHost(dest.host)) {
        report("connect", dest.host ?? "", dest.port);
        const host = dest.host ?? "";
        process.nextTick(() => this.destroy(blockedError(host)));
        return this;
      }
      return connect.apply(this, args);
    };

    const guardLookup = <F extends (...a: never[]) => unknown>(original: F, callbackStyle: boolean): F =>
      function (this: unknown, ...args: unknown[]) {
        const host = String(args[0]);
        if (!isLoopbackHost(host)) {
          report("dns", host);
          const error = blockedError(host);
          if (!callbackStyle) return Promise.reject(error);
          const cb = args[args.length - 1];
          if (typeof cb === "function") process.nextTick(() => (cb as (e: Error) => void)(error));
          return undefined;
        }
        return (original as unknown as (...a: unknown[]) => unknown).apply(this, args);
      } as unknown as F;
    const d = dns as unknown as Record<string, unknown>;
    for (const name of ["lookup", "resolve", "resolve4", "resolve6", "resolveAny", "resolveCname", "resolveMx", "resolveTxt", "resolveSrv"]) {
      const f = d[name];
      if (typeof f === "function") d[name] = guardLookup(f as (...a: never[]) => unknown, true);
    }
    const p = dns.promises as unknown as Record<string, unknown>;
    for (const name of ["lookup", "resolve", "resolve4", "resolve6", "resolveAny"]) {
      const f = p[name];
      if (typeof f === "function") p[name] = guardLookup(f as (...a: never[]) => unknown, false);
    }

    const send = dgram.Socket.prototype.send as (...args: unknown[]) => void;
    (dgram.Socket.prototype as unknown as { send: (...args: unknown[]) => void }).send = function (this: dgram.Socket, ...args: unknown[]): void {
      // send(msg, [offset, length,] port, address, cb): the address is the first string after the message.
      const address = args.slice(1).find((a): a is string => typeof a === "string");
      if (address !== undefined && !isLoopbackHost(address)) {
        report("udp", address);
        const cb = args[args.length - 1];
        if (typeof cb === "function") process.nextTick(() => (cb as (e: Error) => void)(blockedError(address)));
        return;
      }
      send.apply(this, args);
    };
  }
  return () => listeners.delete(onAttempt);
}

/** For the preload: record every attempt as a JSON line in BEDSIDE_EGRESS_LOG (all processes append to one file). */
export function installEgressGuardFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const file = env.BEDSIDE_EGRESS_LOG;
  if (!file) return false;
  installEgressGuard((attempt) => appendFileSync(file, `${JSON.stringify(attempt)}\n`));
  // Children (the engine worker) load the same guard.
  const preload = env.BEDSIDE_EGRESS_PRELOAD;
  if (preload && !(process.env.NODE_OPTIONS ?? "").includes(preload)) {
    process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} --require ${JSON.stringify(preload)}`.trim();
  }
  return true;
}
