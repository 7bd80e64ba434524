/**
 * Wires the chat view, its commands and settings into VS Code. Called once from the composition root.
 */
import * as vscode from "vscode";
import type { Engine } from "../engine/engine";
import type { AiTextMarkers } from "../provenance/aiTextMarkers";
import { ChatHistory } from "./chatHistory";
import { chatSettings, type AutoContext } from "../config";
import { ChatSession } from "./chatSession";
import { CHAT_VIEW_ID, ChatViewProvider, NoteTracker, noteChip, readChipContexts, selectionChip } from "./chatView";
import type { LiteratureSearch } from "../literature/library";

export type { AutoContext };

export interface ChatParts {
  session: ChatSession;
  view: ChatViewProvider;
  notes: NoteTracker;
}

const readSettings = chatSettings;

/** `library`: what `@library` searches; `libraryRelevance`: the relevance (0..1) a source needs to be used. */
export function registerChat(context: vscode.ExtensionContext, engine: Engine, markers: AiTextMarkers, library: LiteratureSearch, libraryRelevance: () => number): ChatParts {
  const notes = new NoteTracker();
  const history = new ChatHistory(context.workspaceState);
  let view: ChatViewProvider | undefined;
  const session = new ChatSession({
    engine,
    history,
    readContexts: readChipContexts,
    autoChip: () => {
      if (readSettings().autoContext !== "note") return undefined;
      const editor = notes.editor();
      return editor ? { id: `auto:${editor.document.uri.toString()}`, ...noteChip(editor, true) } : undefined;
    },
    library: () => library,
    settings: () => ({ ...readSettings(), libraryRelevance: libraryRelevance() }),
    post: (message) => view?.post(message),
  });
  view = new ChatViewProvider(context.extensionUri, {
    session,
    notes,
    markers,
  });
  const provider = view;

  const editorFor = (): vscode.TextEditor | undefined => {
    const editor = notes.editor();
    if (!editor) void vscode.window.showInformationMessage("Bedside: open a note first.");
    return editor;
  };

  context.subscriptions.push(
    notes,
    provider,
    { dispose: () => session.dispose() },
    vscode.window.registerWebviewViewProvider(CHAT_VIEW_ID, provider),
    notes.onDidChange(() => session.contextChanged()),
    engine.onDidChangeState(() => {
      if (provider.visible) session.publish();
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("bedside.chat")) session.publish();
    }),
    vscode.commands.registerCommand("bedside.chat.new", async () => {
      await session.newChat();
      await provider.focus();
    }),
    vscode.commands.registerCommand("bedside.chat.rename", async (id?: string, title?: string) => {
      const conversation = id ? history.get(id) : history.current();
      if (!conversation) return false;
      const name = title ?? (await vscode.window.showInputBox({ title: "Rename chat", value: conversation.title, prompt: "A name for this chat" }));
      return name ? session.rename(conversation.id, name) : false;
    }),
    vscode.commands.registerCommand("bedside.chat.delete", async (id?: string) => {
      const conversation = id ? history.get(id) : history.current();
      if (!conversation) return false;
      // Asked from the view or the palette; a caller passing the id (a test, another command) has decided.
      if (!id) {
        const answer = await vscode.window.showWarningMessage(`Delete the chat "${conversation.title}"?`, { modal: true }, "Delete");
        if (answer !== "Delete") return false;
      }
      return session.delete(conversation.id);
    }),
    vscode.commands.registerCommand("bedside.chat.showHistory", async () => {
      const picked = await vscode.window.showQuickPick(
        history.list().map((c) => ({ label: c.title, description: new Date(c.updatedAt).toLocaleString(), id: c.id })),
        { title: "Bedside chats", placeHolder: "Open a chat" },
      );
      if (picked) {
        await session.select(picked.id);
        await provider.focus();
      }
    }),
    vscode.commands.registerCommand("bedside.chat.addNote", async () => {
      const editor = editorFor();
      if (!editor) return undefined;
      const conversation = history.current();
      // Adding the note by hand undoes removing its automatic chip.
      delete conversation.autoChipDismissed;
      const chip = await session.addChip(noteChip(editor));
      await provider.focus();
      return chip;
    }),
    vscode.commands.registerCommand("bedside.chat.addSelection", async () => {
      const editor = editorFor();
      if (!editor) return undefined;
      const chip = selectionChip(editor);
      if (!chip) {
        void vscode.window.showInformationMessage("Bedside: select some text in the note first.");
        return undefined;
      }
      const added = await session.addChip(chip);
      await provider.focus();
      return added;
    }),
  );
  return { session, view: provider, notes };
}
