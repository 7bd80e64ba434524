/**
 * How many CPU threads generation should use. On a small CPU this matters more than anything else: on
 * 2 vCPUs, llama.cpp's default of 4 threads ran ~700x slower than 1 (threads fight the editor and each
 * other). Physical cores, less one for the editor, at least one.
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

/** Threads for generation: the setting when positive, else physical cores less one, at least one. */
export function chooseThreads(setting: number, machine: MachineCpus): number {
  if (Number.isInteger(setting) && setting > 0) return setting;
  const physical = machine.physical ?? Math.max(1, Math.floor(machine.logical / 2));
  return Math.max(1, Math.min(physical, machine.logical) - 1);
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
