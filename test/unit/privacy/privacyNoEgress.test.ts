/**
 * No egress: the guards the engine and integration suites run under can fail (they catch deliberate
 * outbound attempts in this process, in preloaded child processes and in a network namespace, and let
 * loopback through), and no source file can reach the network except the few allowed by path.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as dns from "node:dns";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { installEgressGuard, isLoopbackHost, type EgressAttempt } from "../../support/noEgressGuard";
import { buildEgressPreload, networkNamespace, readEgressAttempts } from "../../support/noEgress";
import { skipBecause } from "../../support/skip";

const root = resolve(__dirname, "..", "..", "..");

function connectOutcome(port: number, host: string): Promise<string> {
  return new Promise((done) => {
    const socket = net.connect(port, host);
    socket.setTimeout(3000, () => {
      socket.destroy();
      done("timeout");
    });
    socket.on("connect", () => {
      socket.end();
      done("connected");
    });
    socket.on("error", (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}

describe("no egress", function () {
  this.timeout(60_000);

  it("knows loopback from the rest", () => {
    for (const h of ["127.0.0.1", "127.3.2.1", "localhost", "::1", "[::1]", "::ffff:127.0.0.1", "", undefined]) assert.ok(isLoopbackHost(h), String(h));
    for (const h of ["10.0.0.1", "192.168.1.1", "203.0.113.5", "example.com", "pubmed.ncbi.nlm.nih.gov", "::ffff:8.8.8.8", "128.0.0.1", "localhost.example.com"])
      assert.ok(!isLoopbackHost(h), h);
  });

  it("in process: blocks and records TCP, DNS and fetch to the outside, lets loopback through", async () => {
    const attempts: EgressAttempt[] = [];
    const remove = installEgressGuard((a) => attempts.push(a));
    const server = net.createServer((s) => s.end()).listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    try {
      const port = (server.address() as net.AddressInfo).port;
      assert.equal(await connectOutcome(port, "127.0.0.1"), "connected");
      assert.equal(attempts.length, 0, "loopback is not an attempt");

      assert.equal(await connectOutcome(80, "203.0.113.7"), "EEGRESS");
      await assert.rejects(dns.promises.lookup("example.com"), /egress guard/);
      await assert.rejects(fetch("https://eutils.ncbi.nlm.nih.gov/entrez/eutils/esearch.fcgi?term=x"));
      const seen = attempts.map((a) => `${a.kind}:${a.host}`);
      assert.ok(seen.includes("connect:203.0.113.7"), seen.join(", "));
      assert.ok(seen.includes("dns:example.com"), seen.join(", "));
      assert.ok(
        seen.some((s) => s.endsWith("eutils.ncbi.nlm.nih.gov")),
        `fetch caught: ${seen.join(", ")}`,
      );
      assert.ok(
        attempts.every((a) => a.stack.length > 0),
        "each attempt says where it came from",
      );
    } finally {
      server.close();
      remove();
    }
  });

  it("preloaded: records an attempt in a child process and in that child's own child (how the engine worker is covered)", () => {
    const preload = buildEgressPreload(root);
    const log = join(mkdtempSync(join(tmpdir(), "bedside-egress-")), "attempts.jsonl");
    const grandchild = `require("net").connect(443, "198.51.100.9").on("error", () => {})`;
    const script = `
      const net = require("net");
      net.connect(80, "192.0.2.1").on("error", (e) => console.log(e.code));
      // The child's environment is its own process.env, which the guard gave NODE_OPTIONS.
      require("child_process").spawnSync(process.execPath, ["-e", ${JSON.stringify(grandchild)}], { stdio: "inherit" });
    `;
    const run = spawnSync(process.execPath, ["--require", preload, "-e", script], {
      env: { ...process.env, BEDSIDE_EGRESS_LOG: log, BEDSIDE_EGRESS_PRELOAD: preload, NODE_OPTIONS: "" },
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /EEGRESS/);
    const hosts = readEgressAttempts(log).map((a) => a.host);
    assert.ok(hosts.includes("192.0.2.1"), hosts.join(", "));
    assert.ok(hosts.includes("198.51.100.9"), `the grandchild is guarded too: ${hosts.join(", ")}`);
  });

  it("in a network namespace: only loopback exists (what the engine and integration suites run in)", function () {
    const ns = networkNamespace();
    if (!("prefix" in ns)) skipBecause(this, `no network namespace here: ${ns.unavailable}`);
    const script = `
      const net = require("net");
      const server = net.createServer((s) => s.end()).listen(0, "127.0.0.1", () => {
        const results = [];
        const probe = (port, host) => new Promise((r) => net.connect(port, host).on("connect", function () { this.end(); r("connected"); }).on("error", (e) => r(e.code)));
        probe(server.address().port, "127.0.0.1").then((a) => results.push(a))
          .then(() => probe(80, "203.0.113.7")).then((b) => results.push(b))
          .then(() => require("dns").promises.lookup("example.com").then(() => "resolved", (e) => e.code)).then((c) => { results.push(c); console.log(JSON.stringify(results)); server.close(); });
      });`;
    const run = spawnSync(ns.prefix[0]!, [...ns.prefix.slice(1), process.execPath, "-e", script], { encoding: "utf8", timeout: 30_000, env: { ...process.env, NODE_OPTIONS: "" } });
    assert.equal(run.status, 0, run.stderr);
    const [loopback, outside, lookup] = JSON.parse(run.stdout.trim()) as string[];
    assert.equal(loopback, "connected");
    assert.match(outside ?? "", /ENETUNREACH|EHOSTUNREACH|ECONNREFUSED/);
    assert.notEqual(lookup, "resolved");
  });

  it("no source file reaches the network except downloads, the remote engine and opt-in online search (no telemetry)", () => {
    const allowed = [
      /^src\/models\/(modelDownload|downloadTransfer)\.ts$/,
      /^src\/packaging\/accelerationPack\.ts$/,
      /^src\/engine\/remote\//,
      /^src\/literature\/.*(online|pubmed|eutils)/i,
    ];
    const network =
      /from\s+["'](?:node:)?(?:http|https|http2|net|tls|dgram|dns|undici|axios|node-fetch|got|ws)["']|require\(\s*["'](?:node:)?(?:http|https|http2|net|tls|dgram|dns)["']\s*\)|\bfetch\s*\(|XMLHttpRequest|new\s+WebSocket|navigator\.sendBeacon|applicationinsights|extension-telemetry/;
    const offenders: string[] = [];
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const full = join(dir, name);
        if (statSync(full).isDirectory()) walk(full);
        else if (/\.(ts|tsx|js|mjs)$/.test(name)) files.push(full);
      }
    };
    walk(join(root, "src"));
    for (const file of files) {
      const rel = relative(root, file).split("\\").join("/");
      // Comments may name these words; only code counts.
      const code = readFileSync(file, "utf8")
        .replace(/\/\*[\s\S]*?\*\//g, "")
        .replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
      if (network.test(code) && !allowed.some((a) => a.test(rel))) offenders.push(rel);
    }
    assert.ok(files.length > 20, `${files.length} source files read`);
    assert.deepEqual(offenders, [], "these files reach the network without being on the allow-list");
    const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
    const telemetry = Object.keys(manifest.dependencies ?? {}).filter((d) => /telemetry|analytics|applicationinsights|sentry|segment|mixpanel/i.test(d));
    assert.deepEqual(telemetry, [], "no telemetry library among the dependencies");
  });

  it("the source check would catch a file that imports https (it can fail)", () => {
    const network = /from\s+["'](?:node:)?(?:http|https|http2|net|tls|dgram|dns)["']/;
    assert.ok(network.test(`import * as https from "node:https";`));
    assert.ok(!network.test(`import * as path from "node:path";`));
  });
});
