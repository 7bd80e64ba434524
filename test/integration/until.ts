import type * as vscode from "vscode";
/** Waits inside the extension host until `probe` returns something truthy, polling; fails with `what` after the timeout. */
export async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 60_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Waits for an event whose value `accept`s; fails with `what` after the timeout. */
export function when<T>(what: string, subscribe: (listener: (value: T) => void) => vscode.Disposable, accept: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    const sub = subscribe((value) => {
      if (!accept(value)) return;
      clearTimeout(timer);
      sub.dispose();
      resolve(value);
    });
  });
}
