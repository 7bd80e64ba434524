/**
 * How many CPU threads generation should use. On a small CPU this matters more than anything else: on
 * 2 vCPUs, llama.cpp's default of 4 threads ran ~700x slower than 1 (threads fight the editor and each
 * other). Physical cores, less one for the editor, at least one; both cores of a 2-core machine for a model
 * large enough to gain from the second (see chooseThreads).
 *
 * Pure: the caller passes what it read from the machine.
 */
import { readFileSync } from "node:fs";
import * as os from "node:os";

/** Counts physical cores from /proc/cpuinfo text (unique physical id + core id pairs). */
export function physicalCoresFromCpuinfo(cpuinfo: string): number | undefined {
  const cores = new Set<string>();
  let physicalId = "0";
  let sawCoreId = false;
  for (const line of cpuinfo.split("\n")) {
    const [rawKey, rawValue] = line.split(":");
    if (rawValue === undefined || rawKey === undefined) continue;
    const key = rawKey.trim();
    const value = rawValue.trim();
    if (key === "physical id") physicalId = value;
    if (key === "core id") {
      sawCoreId = true;
      cores.add(`${physicalId}:${value}`);
    }
  }
  return sawCoreId && cores.size > 0 ? cores.size : undefined;
}

export interface MachineCpus {
  logical: number;
  physical?: number;
}

/**
 * Below this size a model's per-token work is so small that a second thread costs more in synchronisation
 * than it gains (a 2 MB model on 2 cores: 1,902 tok/s with one thread, 667 with two); above it the second
 * core pays (a 95 MB model: 116 -> 184 tok/s), and real clinical models are gigabytes.
 */
export const MULTI_THREAD_MIN_MODEL_BYTES = 64 * 1024 * 1024;

/**
 * Threads for generation: the setting when positive; else physical cores less one, at least one, so the
 * editor keeps a core. On a machine with only two physical cores that would halve generation speed
 * (`npm run bench -- threads`: 63% of the best here), so a model large enough to gain from it gets both
 * cores there; never more threads than cores (oversubscribed, llama.cpp's spinning threads collapse: 4
 * threads on 2 cores ran ~700x slower).
 */
export function chooseThreads(setting: number, machine: MachineCpus, modelBytes?: number): number {
  if (Number.isInteger(setting) && setting > 0) return setting;
  const physical = Math.min(machine.physical ?? Math.max(1, Math.floor(machine.logical / 2)), machine.logical);
  if (physical === 2 && modelBytes !== undefined && modelBytes >= MULTI_THREAD_MIN_MODEL_BYTES) return physical;
  return Math.max(1, physical - 1);
}

/** Reads the machine's CPU counts (Linux: /proc/cpuinfo; elsewhere logical cores only). */
export function readMachineCpus(): MachineCpus {
  const logical = typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
  if (process.platform === "linux") {
    try {
      const physical = physicalCoresFromCpuinfo(readFileSync("/proc/cpuinfo", "utf8"));
      if (physical !== undefined) return { logical, physical };
    } catch {
      // Containers may hide /proc/cpuinfo; fall back to the logical count.
    }
  }
  // Apple Silicon has no SMT: every logical core is a physical one.
  if (process.platform === "darwin" && process.arch === "arm64") return { logical, physical: logical };
  return { logical };
}
