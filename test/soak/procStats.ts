/**
 * What Linux says about a process, read from /proc: resident memory (VmRSS in /proc/PID/status), open file
 * descriptors (entries of /proc/PID/fd) and its children (processes whose parent, field 4 of /proc/PID/stat,
 * is it). Node built-ins only: the soak suite reads these inside the extension host about itself and its
 * engine worker. Linux only; elsewhere every reading is undefined.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Resident set size in bytes (VmRSS), or undefined when the process is gone or /proc is absent. */
export function residentBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Open file descriptors (sockets, pipes and files alike), or undefined when the process is gone. */
export function openDescriptors(pid: number): number | undefined {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

/** The parent PID from /proc/PID/stat; the command name (field 2) may hold spaces and parentheses. */
export function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ppid = Number(fields[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/** Command line of a process (arguments joined by spaces), or "" when it is gone. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

/** Live children of `parent` whose command line matches `pattern`, lowest PID first. */
export function childProcesses(parent: number, pattern: RegExp): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  return entries
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => parentPid(pid) === parent && pattern.test(commandLine(pid)))
    .sort((a, b) => a - b);
}
