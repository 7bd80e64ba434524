import * as assert from "node:assert/strict";
import { chooseThreads, MULTI_THREAD_MIN_MODEL_BYTES, physicalCoresFromCpuinfo } from "../../../src/engine/threads";

const cpuinfo = (cores: [physical: number, core: number][]): string => cores.map(([p, c], i) => `processor\t: ${i}\nphysical id\t: ${p}\ncore id\t\t: ${c}\n`).join("\n");

describe("thread choice", () => {
  it("counts physical cores, not hyperthreads", () => {
    // 4 logical processors on 2 cores with 2 hyperthreads each.
    assert.equal(
      physicalCoresFromCpuinfo(
        cpuinfo([
          [0, 0],
          [0, 0],
          [0, 1],
          [0, 1],
        ]),
      ),
      2,
    );
  });

  it("counts cores on every socket", () => {
    assert.equal(
      physicalCoresFromCpuinfo(
        cpuinfo([
          [0, 0],
          [0, 1],
          [1, 0],
          [1, 1],
        ]),
      ),
      4,
    );
  });

  it("says nothing when cpuinfo has no core ids (some VMs, ARM)", () => {
    assert.equal(physicalCoresFromCpuinfo("processor : 0\nBogoMIPS : 50\n"), undefined);
  });

  it("leaves one physical core for the editor", () => {
    assert.equal(chooseThreads(0, { logical: 16, physical: 8 }), 7);
    assert.equal(chooseThreads(0, { logical: 2, physical: 2 }), 1);
  });

  it("gives a model of real size both cores of a 2-core machine, never more threads than cores", () => {
    const big = 4 * 1024 ** 3;
    assert.equal(chooseThreads(0, { logical: 2, physical: 2 }, big), 2);
    assert.equal(chooseThreads(0, { logical: 2, physical: 2 }, MULTI_THREAD_MIN_MODEL_BYTES - 1), 1, "a tiny model: one thread is faster");
    assert.equal(chooseThreads(0, { logical: 2, physical: 2 }), 1, "size unknown: leave the editor its core");
    assert.equal(chooseThreads(0, { logical: 16, physical: 8 }, big), 7, "enough cores: one stays the editor's");
    assert.equal(chooseThreads(0, { logical: 4, physical: 4 }, big), 3);
    assert.equal(chooseThreads(0, { logical: 1, physical: 1 }, big), 1);
    assert.equal(chooseThreads(0, { logical: 2, physical: 4 }, big), 2, "never more than the logical cores");
  });

  it("never goes below one thread", () => {
    assert.equal(chooseThreads(0, { logical: 1, physical: 1 }), 1);
  });

  it("guesses half the logical cores when physical cores are unknown", () => {
    assert.equal(chooseThreads(0, { logical: 8 }), 3);
  });

  it("uses the setting when it is positive", () => {
    assert.equal(chooseThreads(6, { logical: 2, physical: 2 }), 6);
  });
});
