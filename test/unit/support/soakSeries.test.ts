/**
 * The soak's figures (test/soak/soakSeries.ts) and its /proc readers (test/soak/procStats.ts): growth is the
 * last quarter's median over the first's after the warm-up, worker samples in a kill's recovery are left out,
 * and a run fails on any error or any growth of 5% or more.
 */
import * as assert from "node:assert/strict";
import { fork } from "node:child_process";
import { childProcesses, openDescriptors, parentPid, residentBytes } from "../../soak/procStats";
import { inRecovery, median, quarterGrowth, soakFigures, soakVerdict, type SoakSample, type SoakSeries } from "../../soak/soakSeries";

const MB = 1024 * 1024;

function series(hostMb: (t: number) => number, workerMb: (t: number) => number | undefined, extra: Partial<SoakSeries> = {}): SoakSeries {
  const samples: SoakSample[] = [];
  for (let t = 0; t <= 600_000; t += 5_000) {
    const w = workerMb(t);
    samples.push({
      t,
      host: { pid: 1, rss: hostMb(t) * MB, fds: 40, handles: 20, heapUsed: 50 * MB },
      ...(w === undefined ? {} : { worker: { pid: t < 300_000 ? 2 : 3, rss: w * MB, fds: 30 } }),
    });
  }
  return { settings: {}, warmUpMs: 60_000, settleMs: 30_000, durationMs: 600_000, samples, kills: [], errors: [], counts: {}, ...extra };
}

describe("soak figures", () => {
  it("takes the median, odd and even", () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(median([])));
  });

  it("divides the last quarter's median by the first quarter's, inside the window only", () => {
    const points = [0, 10, 20, 30, 40, 50, 60, 70, 80].map((t) => ({ t, value: t < 20 ? 1000 : t < 40 ? 100 : 110 }));
    // Window [20, 80]: first quarter [20, 35) = 100s, last quarter [65, 80] = 110s; the 1000s before it are ignored.
    const g = quarterGrowth(points, 20, 80);
    assert.equal(g.first, 100);
    assert.equal(g.last, 110);
    assert.equal(g.growth, 1.1);
    assert.ok(Number.isNaN(quarterGrowth([], 0, 100).growth));
  });

  it("finds no growth in flat memory and excludes the warm-up", () => {
    const f = soakFigures(
      series(
        (t) => (t < 60_000 ? 100 : 200),
        () => 120,
      ),
    );
    assert.equal(f.host_rss_growth, 1);
    assert.equal(f.worker_rss_growth, 1);
    assert.equal(f.worker_rss_growth_across_lives, 1);
    assert.deepEqual(soakVerdict(f), []);
  });

  it("fails a host that grows 10% over the day", () => {
    const f = soakFigures(
      series(
        (t) => 200 + (t / 600_000) * 25,
        () => 120,
      ),
    );
    assert.ok(f.host_rss_growth > 1.05 && f.host_rss_growth < 1.15, String(f.host_rss_growth));
    assert.match(soakVerdict(f).join(), /host_rss_growth/);
  });

  it("leaves out worker samples from a kill until settleMs after its recovery, and fails a kill without one", () => {
    const kills = [{ t: 300_000, pid: 2, recoveredAt: 310_000, newPid: 3 }];
    assert.ok(inRecovery(305_000, kills, 30_000));
    assert.ok(inRecovery(335_000, kills, 30_000));
    assert.ok(!inRecovery(340_000, kills, 30_000));
    // A fresh worker is small, then loads: those samples must not count.
    const worker = (t: number): number | undefined => (t >= 300_000 && t < 340_000 ? 30 : 120);
    const f = soakFigures(series(() => 200, worker, { kills }));
    assert.equal(f.worker_rss_growth, 1);
    assert.equal(f.worker_rss_growth_across_lives, 1);
    assert.equal(f.worker_samples_used, 121 - 12 - 8);
    const unrecovered = soakFigures(series(() => 200, worker, { kills: [{ t: 300_000, pid: 2 }] }));
    assert.match(soakVerdict(unrecovered).join(), /without recovery/);
  });

  it("fails a worker that grows within its own life even when a restart hides it", () => {
    // Each life starts at 100 MB and grows 20% over itself; first and last quarters of the day look alike.
    const worker = (t: number): number => 100 * (1 + 0.2 * ((t % 300_000) / 300_000));
    const f = soakFigures(series(() => 200, worker, { kills: [{ t: 300_000, pid: 2, recoveredAt: 300_000, newPid: 3 }], settleMs: 0 }));
    assert.ok(f.worker_rss_growth > 1.1, String(f.worker_rss_growth));
    assert.match(soakVerdict(f).join(), /worker_rss_growth/);
  });

  it("reports a higher last worker than first without judging it, and judges a worker that grows within its life", () => {
    // Each life flat, the third higher than the first (a different moment of the day), no leak within a life.
    const flatLives = soakFigures(
      series(
        () => 200,
        (t) => (t < 300_000 ? 100 : 110),
        { kills: [{ t: 300_000, pid: 2, recoveredAt: 300_000, newPid: 3 }], settleMs: 0 },
      ),
    );
    assert.equal(flatLives.worker_rss_growth_across_lives, 1.1);
    assert.equal(flatLives.worker_rss_growth, 1);
    assert.deepEqual(soakVerdict(flatLives), []);
  });

  it("fails on any error", () => {
    const f = soakFigures(
      series(
        () => 200,
        () => 120,
        { errors: [{ t: 1, step: "chat", message: "no reply" }] },
      ),
    );
    assert.deepEqual(soakVerdict(f), ["1 step(s) failed"]);
  });
});

describe("soak /proc readers", function () {
  before(function () {
    if (process.platform !== "linux") this.skip(); // /proc is Linux's
  });

  it("reads this process's resident memory and descriptors, and finds a forked child by its command line", async () => {
    const rss = residentBytes(process.pid);
    assert.ok(rss !== undefined && Math.abs(rss - process.memoryUsage().rss) < 64 * MB, `${rss} vs ${process.memoryUsage().rss}`);
    assert.ok((openDescriptors(process.pid) ?? 0) >= 3);
    const child = fork("-e", ["setTimeout(() => {}, 30000)"], { execArgv: [], stdio: "ignore" });
    try {
      await new Promise<void>((resolve) => child.once("spawn", () => resolve()));
      assert.equal(parentPid(child.pid!), process.pid);
      // fork() runs `node -e …`: the child's command line holds -e.
      for (let i = 0; i < 50 && !childProcesses(process.pid, / -e /).includes(child.pid!); i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(childProcesses(process.pid, / -e /), [child.pid]);
      assert.deepEqual(childProcesses(process.pid, /no-such-command/), []);
    } finally {
      child.kill("SIGKILL");
    }
    assert.equal(residentBytes(2 ** 22 + 12345), undefined);
  });
});
