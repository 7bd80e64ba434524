/**
 * The HTML shell of every Bedside webview (chat, differential, answers): a strict Content-Security-Policy
 * with a per-load nonce, no inline script or style, nothing remote, and only files from the extension's
 * own `media/` folder. Pure: the vscode adapter (webviewPanel.ts) supplies the URIs.
 */
import { randomBytes } from "node:crypto";

export interface WebviewPage {
  /** The page title (also the accessible name of the document). */
  title: string;
  /** `webview.cspSource`: the origin VS Code serves local resources from. */
  cspSource: string;
  /** A fresh nonce per load; only scripts carrying it run. */
  nonce: string;
  /** The bundled script of this webview (media/webview/<name>.js), as a webview URI. */
  scriptUri: string;
  /** Stylesheets as webview URIs: the shared one first, then the webview's own. */
  styleUris: readonly string[];
}

export function makeNonce(): string {
  return randomBytes(18).toString("base64url");
}

/** The Content-Security-Policy a Bedside webview runs under. Exported so tests can assert it. */
export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    `style-src ${cspSource}`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
    "connect-src 'none'",
    "form-action 'none'",
    "frame-src 'none'",
    "base-uri 'none'",
  ].join("; ");
}

const escapeAttribute = (value: string): string => value.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** The page: an empty `#app` that the webview's script fills in (all content arrives by postMessage). */
export function webviewHtml(page: WebviewPage): string {
  const styles = page.styleUris.map((uri) => `<link rel="stylesheet" href="${escapeAttribute(uri)}">`).join("\n    ");
  return `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <meta http-equiv="Content-Security-Policy" content="${escapeAttribute(contentSecurityPolicy(page.cspSource, page.nonce))}">
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    ${styles}
    <title>${escapeAttribute(page.title)}</title>
  </head>
  <body>
    <main id="app" aria-live="polite"></main>
    <script nonce="${escapeAttribute(page.nonce)}" src="${escapeAttribute(page.scriptUri)}"></script>
  </body>
</html>`;
}
