/**
 * The vscode side of Bedside's webviews: options that allow scripts but load nothing outside `media/`,
 * and the HTML shell with a fresh nonce. Each feature's script is bundled by esbuild.mjs from
 * `src/<feature>/webview/main.ts` to `media/webview/<feature>.js`; its stylesheet, if any, is
 * `media/<feature>.css`.
 */
import * as vscode from "vscode";
import { makeNonce, webviewHtml } from "./webviewHtml";

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return {
    enableScripts: true,
    enableCommandUris: false,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, "media")],
    retainContextWhenHidden: false,
  };
}

/** Fills a webview with Bedside's page shell for `feature` (e.g. "chat"). */
export function showWebviewPage(webview: vscode.Webview, extensionUri: vscode.Uri, feature: string, title: string): void {
  const media = (...parts: string[]): string => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, "media", ...parts)).toString();
  webview.html = webviewHtml({
    title,
    cspSource: webview.cspSource,
    nonce: makeNonce(),
    scriptUri: media("webview", `${feature}.js`),
    styleUris: [media("webview.css"), media(`${feature}.css`)],
  });
}
