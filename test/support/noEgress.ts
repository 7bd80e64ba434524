/**
 * No egress in tests, two layers:
 * - the OS: a suite runs in its own network namespace (`unshare -n`) with only loopback up, so nothing can
 *   leave the machine whatever the code does (Linux, as root or with unprivileged user namespaces);
 * - in process: noEgressGuard.ts, preloaded into the test runner, the engine worker and VS Code's extension
 *   host, records (and blocks) every non-loopback connection or DNS lookup, so an attempt fails the run even
 *   where the namespace cannot be made, and says which code tried.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { buildSync } from "esbuild";
import { SELF_TEST_HOST, type EgressAttempt } from "./noEgressGuard";

/** Bundles the guard to a CommonJS file any Node (code-server's too) can `--require`. */
export function buildEgressPreload(root: string): string {
  const outfile = join(root, ".cache", "no-egress", "preload.cjs");
  mkdirSync(join(root, ".cache", "no-egress"), { recursive: true });
  buildSync({ entryPoints: [join(root, "test", "support", "noEgressPreload.ts")], bundle: true, platform: "node", format: "cjs", target: "node20", outfile, logLevel: "error" });
  return outfile;
}

export interface NetworkNamespace {
  /** Put before a command: runs it with only loopback. */
  prefix: string[];
  how: string;
}

const LOOPBACK_UP = 'ip link set lo up && exec "$@"';

/** A way to run a command without network, or the reason there is none here. */
export function networkNamespace(): NetworkNamespace | { unavailable: string } {
  if (process.platform !== "linux") return { unavailable: `network namespaces are Linux-only (this is ${process.platform})` };
  if (spawnSync("sh", ["-c", "command -v ip"]).status !== 0) return { unavailable: "the ip command is missing (install iproute2; test/support/systemPackages.sh does)" };
  for (const flags of [["-n"], ["-r", "-n"]]) {
    const probe = spawnSync("unshare", [...flags, "--", "sh", "-c", LOOPBACK_UP, "sh", "true"], { encoding: "utf8" });
    if (probe.status === 0) {
      return { prefix: ["unshare", ...flags, "--", "sh", "-c", LOOPBACK_UP, "sh"], how: `unshare ${flags.join(" ")} (loopback only)` };
    }
    if (probe.error) return { unavailable: `unshare is missing (${probe.error.message}); install util-linux and iproute2` };
  }
  const why = spawnSync("unshare", ["-n", "true"], { encoding: "utf8" }).stderr.trim();
  return { unavailable: `unshare -n is not permitted here (${why || "no privilege"})` };
}

export function readEgressAttempts(file: string): EgressAttempt[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as EgressAttempt)
    .filter((a) => a.host !== SELF_TEST_HOST);
}

/** The environment that preloads the guard into a suite's Node processes, with a fresh log file. */
export function egressGuardEnv(root: string, suite: string): { env: Record<string, string>; log: string } {
  const preload = buildEgressPreload(root);
  const log = join(root, ".cache", "no-egress", `${suite}.jsonl`);
  rmSync(log, { force: true });
  return {
    log,
    env: {
      BEDSIDE_EGRESS_LOG: log,
      BEDSIDE_EGRESS_PRELOAD: preload,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --require ${JSON.stringify(preload)}`.trim(),
      // npm's own update check would be an outbound call of the tooling, not of Bedside.
      npm_config_update_notifier: "false",
      NO_UPDATE_NOTIFIER: "1",
    },
  };
}

export function describeAttempt(a: EgressAttempt): string {
  return `${a.kind} ${a.host}${a.port !== undefined ? `:${a.port}` : ""} from pid ${a.pid} (${a.process})\n${a.stack}`;
}
