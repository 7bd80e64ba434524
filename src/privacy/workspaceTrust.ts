/**
 * Workspace Trust: a folder someone else wrote (a shared drive, a cloned repository) must not point Bedside
 * at a file to load as a model, a server to send notes to, or turn on writing note text into the log. In
 * an untrusted workspace these settings take only the user's own value (or the default); workspace and
 * folder values are ignored. VS Code does the same for the `restrictedConfigurations` in package.json;
 * Bedside checks again itself, so it holds whichever host runs it.
 *
 * Pure: no vscode import (the adapter is src/config.ts).
 */

/** Keys under the `bedside` section; package.json's restrictedConfigurations lists exactly these, prefixed. */
export const RESTRICTED_SETTINGS: readonly string[] = [
  "model.path",
  "engine.draftModelPath",
  "engine.endpoint",
  "models.folder",
  "log.includeNoteText",
  "literature.onlinePubMed.baseUrl",
  "literature.embeddingModel",
  "documents.templatesFolder",
];

/** The shape of vscode's WorkspaceConfiguration.inspect() result, as far as trust cares. */
export interface InspectedSetting<T> {
  defaultValue?: T;
  globalValue?: T;
  workspaceValue?: T;
  workspaceFolderValue?: T;
}

export function isRestrictedSetting(key: string): boolean {
  return RESTRICTED_SETTINGS.includes(key.replace(/^bedside\./, ""));
}

/**
 * The value Bedside should use. Trusted: the usual order (folder, workspace, user, default). Untrusted and
 * restricted: the user's value, else the default.
 */
export function effectiveSetting<T>(key: string, inspected: InspectedSetting<T> | undefined, trusted: boolean): T | undefined {
  if (!inspected) return undefined;
  if (trusted || !isRestrictedSetting(key)) {
    return inspected.workspaceFolderValue ?? inspected.workspaceValue ?? inspected.globalValue ?? inspected.defaultValue;
  }
  return inspected.globalValue ?? inspected.defaultValue;
}
