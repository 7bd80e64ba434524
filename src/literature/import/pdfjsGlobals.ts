/**
 * Evaluated before pdf.js (pdfjsBundle.ts imports it first): pdf.js's display layer makes a DOMMatrix when
 * it loads, for canvas rendering, and in Node looks for DOMMatrix, ImageData and Path2D in the native
 * canvas package. Bedside only reads text and loads no native module: it lends pdf.js inert stand-ins while
 * it loads, and takes them back afterwards (the extension host's globals are shared with other
 * extensions). Rendering would fail; text extraction never touches them.
 */
const NAMES = ["DOMMatrix", "ImageData", "Path2D"] as const;
const g = globalThis as Record<string, unknown>;
const lent = NAMES.filter((name) => g[name] === undefined);
for (const name of lent) g[name] = class Inert {};

/** Removes the stand-ins lent above (call once pdf.js has loaded). */
export function takeBackGlobals(): void {
  for (const name of lent) delete g[name];
}
