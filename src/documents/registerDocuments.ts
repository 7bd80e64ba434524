/**
 * Wires "Bedside: Draft from Note…" into VS Code (palette, the note's editor title and context menu): pick a
 * document type (the built-in ones, the workspace's `.bedside/templates/*.md`, the user's folder from
 * `bedside.documents.templatesFolder`), then the draft is written beside the note (draftPanel.ts).
 */
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import { templatesFolderSetting } from "../config";
import type { Engine } from "../engine/engine";
import type { AiTextMarkers } from "../provenance/aiTextMarkers";
import { SAMPLE_TEMPLATE } from "./builtinTemplates";
import { DraftPanel } from "./draftPanel";
import { allTemplates, WORKSPACE_TEMPLATES_FOLDER, type TemplateChoice, type TemplateFile } from "./templateFiles";
import type { DocumentTemplate } from "./templates";

export interface DocumentsParts {
  panel: DraftPanel;
  /** The templates on offer now (built-in, workspace, user), with the files that could not be read. */
  templates(): Promise<TemplateChoice>;
}

/** The user-level templates folder: the setting, with ~ expanded, else ~/.bedside/templates. */
export function userTemplatesFolder(): string {
  // A restricted setting: an untrusted workspace cannot point Bedside at a folder of its choosing.
  return templatesFolderSetting() ?? path.join(os.homedir(), ".bedside", "templates");
}

async function readFolder(folder: vscode.Uri, source: TemplateFile["source"]): Promise<TemplateFile[]> {
  let entries: Array<[string, vscode.FileType]>;
  try {
    entries = await vscode.workspace.fs.readDirectory(folder);
  } catch {
    return [];
  }
  const files: TemplateFile[] = [];
  for (const [name, type] of entries.sort(([a], [b]) => a.localeCompare(b))) {
    if (type !== vscode.FileType.File || !name.toLowerCase().endsWith(".md")) continue;
    const uri = vscode.Uri.joinPath(folder, name);
    const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    files.push({ path: uri.fsPath, name: name.replace(/\.md$/i, ""), text, source });
  }
  return files;
}

export async function readTemplates(): Promise<TemplateChoice> {
  const files: TemplateFile[] = [];
  for (const folder of vscode.workspace.workspaceFolders ?? []) files.push(...(await readFolder(vscode.Uri.joinPath(folder.uri, WORKSPACE_TEMPLATES_FOLDER), "workspace")));
  files.push(...(await readFolder(vscode.Uri.file(userTemplatesFolder()), "user")));
  return allTemplates(files);
}

const SOURCE_TEXT = { builtin: "Bedside", workspace: "Workspace template", user: "Your template" } as const;

async function pickTemplate(choice: TemplateChoice): Promise<DocumentTemplate | "create" | undefined> {
  type Item = vscode.QuickPickItem & { template?: DocumentTemplate; create?: true };
  const items: Item[] = choice.templates.map((t) => ({
    label: t.title,
    description: `${SOURCE_TEXT[t.source]}${t.audience === "patient" ? " · for the patient" : ""}`,
    detail: t.description || `${t.fields.length} fields`,
    template: t,
  }));
  items.push({
    label: "Create a Template…",
    description: `a sample in ${WORKSPACE_TEMPLATES_FOLDER}/`,
    detail: "Your own document type: markdown with {{name: instruction}} fields.",
    create: true,
  });
  if (choice.problems.length > 0) void vscode.window.showWarningMessage(`Bedside: some templates could not be read. ${choice.problems.join(" ")}`);
  const picked = await vscode.window.showQuickPick(items, {
    title: "Draft from Note",
    placeHolder: "Which document should Bedside draft from this note?",
    matchOnDescription: true,
    matchOnDetail: true,
  });
  if (!picked) return undefined;
  return picked.create ? "create" : picked.template;
}

/** Writes the sample template into the workspace's templates folder (or the user's) and opens it. */
async function createSampleTemplate(): Promise<void> {
  const workspace = vscode.workspace.workspaceFolders?.[0]?.uri;
  const folder = workspace ? vscode.Uri.joinPath(workspace, WORKSPACE_TEMPLATES_FOLDER) : vscode.Uri.file(userTemplatesFolder());
  await vscode.workspace.fs.createDirectory(folder);
  let uri = vscode.Uri.joinPath(folder, "work-note.md");
  for (let i = 2; await exists(uri); i++) uri = vscode.Uri.joinPath(folder, `work-note-${i}.md`);
  await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(SAMPLE_TEMPLATE));
  await vscode.window.showTextDocument(uri);
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}

export function registerDocuments(context: vscode.ExtensionContext, engine: Engine, markers: AiTextMarkers): DocumentsParts {
  const panel = new DraftPanel(context.extensionUri, engine, markers);
  /** The command: from the editor title or context menu a file's URI comes first; tests pass a template id. */
  const draftFromNote = async (uriArgument?: unknown, templateArgument?: unknown): Promise<unknown> => {
    // Menus pass the file's URI (and the editor title a context object after it); tests pass a template id.
    const uri = uriArgument instanceof vscode.Uri ? uriArgument : undefined;
    const templateId = typeof templateArgument === "string" ? templateArgument : undefined;
    const editor = uri ? vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString()) : vscode.window.activeTextEditor;
    const document = editor?.document ?? (uri ? await vscode.workspace.openTextDocument(uri) : undefined);
    if (!document) {
      void vscode.window.showInformationMessage("Bedside: open a note to draft a document from it.");
      return undefined;
    }
    const choice = await readTemplates();
    const picked = templateId ? choice.templates.find((t) => t.id === templateId || t.title === templateId) : await pickTemplate(choice);
    if (!picked) {
      if (templateId) void vscode.window.showWarningMessage(`Bedside: no document template "${templateId}".`);
      return undefined;
    }
    if (picked === "create") return createSampleTemplate();
    const column = editor?.viewColumn === undefined ? vscode.ViewColumn.Beside : ((editor.viewColumn + 1) as vscode.ViewColumn);
    return panel.run(document, picked, column);
  };
  context.subscriptions.push(panel, vscode.commands.registerCommand("bedside.draftFromNote", draftFromNote));
  return { panel, templates: readTemplates };
}
