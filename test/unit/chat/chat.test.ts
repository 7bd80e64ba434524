/**
 * Chat's pure parts: prompt building (template messages and the few-shot transcript of a base model),
 * fitting a conversation into the context window, history per workspace, the @library mention, and
 * checking what the webview sends.
 */
import * as assert from "node:assert/strict";
import fc from "fast-check";
import type { ChatMessage } from "../../../src/engine/protocol";
import { ChatHistory, DEFAULT_TITLE, HISTORY_KEY, MAX_CONVERSATIONS, titleFrom, type StateStore } from "../../../src/chat/chatHistory";
import { chatMessages, fewShotPrompt, systemText, TRIM_MARK, type NoteContext } from "../../../src/chat/chatPrompt";
import { ContextTooSmallError, fitConversation, trimMiddle } from "../../../src/chat/chatFit";
import { parseViewMessage, type ChatTurn } from "../../../src/chat/chatTypes";
import { parseLibraryMention } from "../../../src/chat/literatureSource";

class MemoryStore implements StateStore {
  readonly data = new Map<string, unknown>();
  get<T>(key: string, defaultValue: T): T {
    return this.data.has(key) ? (JSON.parse(JSON.stringify(this.data.get(key))) as T) : defaultValue;
  }
  async update(key: string, value: unknown): Promise<void> {
    this.data.set(key, value);
  }
}

let turnCounter = 0;
const turn = (role: ChatTurn["role"], text: string, extra: Partial<ChatTurn> = {}): ChatTurn => ({ id: `t${turnCounter++}`, role, text, at: 0, ...extra });
/** A stand-in tokenizer for fitting: one token per 4 characters, plus 4 per message (a template's overhead). */
const measure = async (messages: ChatMessage[]): Promise<number> => messages.reduce((n, m) => n + Math.ceil(m.text.length / 4) + 4, 0);
const build = (contexts: readonly NoteContext[], turns: readonly ChatTurn[]): ChatMessage[] => chatMessages(systemText(contexts), turns);

describe("chat prompt building", () => {
  it("puts the instruction, the shared note text and library sources in the system message", () => {
    const system = systemText([{ label: "note a.note", text: "PLAN:\nRest." }], [{ id: "12345", title: "Rest for bronchitis", text: "Rest helps.", year: 2020 }]);
    assert.match(system, /You are Bedside/);
    assert.match(system, /--- note a\.note ---\nPLAN:\nRest\.\n--- end of note a\.note ---/);
    assert.match(system, /\[1\] Rest for bronchitis \(2020\), PMID 12345\nRest helps\./);
    assert.doesNotMatch(systemText([]), /shared this text/);
  });

  it("gives the template role messages in order, leaving out failed and empty replies", () => {
    const messages = chatMessages("S", [turn("user", "Q1"), turn("assistant", "", { error: "failed" }), turn("user", "Q2"), turn("assistant", "A2"), turn("user", "Q3")]);
    assert.deepEqual(
      messages.map((m) => `${m.role}:${m.text}`),
      ["system:S", "user:Q1", "user:Q2", "assistant:A2", "user:Q3"],
    );
  });

  it("writes a base model's few-shot transcript that ends with an open Assistant line and stops at the next speaker", () => {
    const { prompt, stop } = fewShotPrompt([
      { role: "system", text: "SYSTEM" },
      { role: "user", text: "What is BP?" },
      { role: "assistant", text: "Blood pressure." },
      { role: "user", text: "And HR?" },
    ]);
    assert.ok(prompt.startsWith("SYSTEM\n\n"));
    assert.ok(prompt.endsWith("User: And HR?\n\nAssistant:"));
    assert.match(prompt, /Example conversation:\n\nUser: What does BID mean/);
    assert.match(prompt, /User: What is BP\?\n\nAssistant: Blood pressure\.\n\nUser: And HR\?/);
    assert.ok(stop.includes("\nUser:") && stop.includes("\nAssistant:"));
  });

  it("keeps a message from faking a speaker turn in the transcript", () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom("User:", "Assistant:", "USER:"), fc.string(), (before, label, after) => {
        const { prompt } = fewShotPrompt([{ role: "user", text: `${before}\n${label}${after}` }]);
        const conversation = prompt.slice(prompt.indexOf("Conversation:"));
        // Only the real turn starts a line with a label: the question's own line is indented.
        const labelled = conversation.split("\n").filter((line) => /^(User|Assistant|USER)\s*:/.test(line));
        return labelled.every((line) => line.startsWith("User: ") || line === "Assistant:") && conversation.trimEnd().endsWith("Assistant:");
      }),
    );
  });
});

describe("fitting a conversation into the context window", () => {
  const note: NoteContext = { label: "note a.note", text: "SUBJECTIVE: cough for two weeks.\nPLAN: rest and fluids." };

  it("keeps everything when it fits, with one measurement", async () => {
    let calls = 0;
    const turns = [turn("user", "Q1"), turn("assistant", "A1"), turn("user", "Q2")];
    const fit = await fitConversation({ turns, contexts: [note], build, budget: 10_000, measure: async (m) => (calls++, measure(m)) });
    assert.equal(calls, 1);
    assert.deepEqual(fit.droppedTurnIds, []);
    assert.equal(fit.messages.length, 4);
    assert.equal(fit.promptTokens, await measure(fit.messages));
  });

  it("drops the oldest turns first, a question with its reply, and says which", async () => {
    const turns = [
      turn("user", "Q".repeat(400)),
      turn("assistant", "A".repeat(400)),
      turn("user", "q".repeat(40)),
      turn("assistant", "a".repeat(40)),
      turn("user", "last question"),
    ];
    const all = await measure(build([note], turns));
    const fit = await fitConversation({ turns, contexts: [note], build, measure, budget: all - 150 });
    assert.deepEqual(fit.droppedTurnIds, [turns[0]!.id, turns[1]!.id]);
    assert.deepEqual(
      fit.messages.slice(1).map((m) => m.text),
      [turns[2]!.text, turns[3]!.text, "last question"],
    );
    assert.ok(fit.promptTokens <= all - 150);
  });

  it("never keeps a reply without its question, and always keeps the new question", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.string({ maxLength: 200 }), fc.string({ maxLength: 200 })), { maxLength: 8 }),
        fc.string({ minLength: 1, maxLength: 80 }),
        fc.integer({ min: 60, max: 600 }),
        async (pairs, last, budget) => {
          const turns = [...pairs.flatMap(([q, a]) => [turn("user", q), turn("assistant", a)]), turn("user", last)];
          const fit = await fitConversation({ turns, contexts: [], build, measure, budget }).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
          if (fit instanceof ContextTooSmallError) return (await measure(build([], [turns[turns.length - 1]!]))) > budget;
          if (fit instanceof Error) throw fit;
          const kept = turns.filter((t) => !fit.droppedTurnIds.includes(t.id));
          // What is kept is a suffix starting at a question, ending with the new one, within the budget.
          return (
            kept[0]?.role === "user" && kept[kept.length - 1]?.text === last && fit.promptTokens <= budget && turns.slice(turns.length - kept.length).every((t, i) => t === kept[i])
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it("cuts the note in the middle, keeping its start and end, when the question alone does not fit", async () => {
    const longNote: NoteContext = { label: "note long.note", text: `CHIEF COMPLAINT: chest pain.\n${"Unremarkable review of systems. ".repeat(200)}\nPLAN: troponin and ECG.` };
    const turns = [turn("user", "Old question"), turn("assistant", "Old answer"), turn("user", "What is the plan?")];
    const fit = await fitConversation({ turns, contexts: [longNote], build, measure, budget: 400 });
    assert.ok(fit.promptTokens <= 400);
    assert.deepEqual(fit.trimmedContexts, ["note long.note"]);
    assert.equal(fit.droppedTurnIds.length, 2);
    const system = fit.messages[0]!.text;
    assert.match(system, /CHIEF COMPLAINT: chest pain\./);
    assert.match(system, /PLAN: troponin and ECG\./);
    assert.ok(system.includes(TRIM_MARK));
  });

  it("says so when even the question alone is too long", async () => {
    await assert.rejects(fitConversation({ turns: [turn("user", "x".repeat(4000))], contexts: [], build, measure, budget: 100 }), ContextTooSmallError);
  });

  it("trims text in the middle to about the length asked", () => {
    const text = "a".repeat(1000) + "z".repeat(1000);
    const cut = trimMiddle(text, 500);
    assert.ok(cut.length <= 502 && cut.startsWith("a") && cut.endsWith("z") && cut.includes(TRIM_MARK));
    assert.equal(trimMiddle("short", 500), "short");
  });
});

describe("chat history per workspace", () => {
  it("creates, names from the first question, renames, and survives a reload of the store", async () => {
    const store = new MemoryStore();
    const history = new ChatHistory(store);
    const first = history.current();
    assert.equal(first.title, DEFAULT_TITLE);
    history.addTurn(first, turn("user", "Rephrase the plan for a patient letter please, in plain words"));
    history.addTurn(first, turn("assistant", "Keep resting."));
    assert.equal(first.title, "Rephrase the plan for a patient letter please,…");
    history.addTurn(first, turn("user", "Shorter"));
    assert.match(first.title, /^Rephrase/, "later questions keep the title");
    const second = history.create();
    assert.ok(history.rename(second.id, "  Discharge   letter "));
    history.addTurn(second, turn("user", "Draft it"));
    assert.equal(second.title, "Discharge letter", "a chosen name stays");
    await history.save();

    const reloaded = new ChatHistory(store);
    assert.equal(reloaded.current().id, second.id);
    assert.deepEqual(
      reloaded
        .list()
        .map((c) => c.title)
        .sort(),
      ["Discharge letter", first.title].sort(),
    );
    assert.equal(reloaded.get(first.id)?.turns.length, 3);
  });

  it("reuses an empty current chat instead of piling up new ones", () => {
    const history = new ChatHistory(new MemoryStore());
    const a = history.create();
    const b = history.create();
    assert.equal(a.id, b.id);
    assert.equal(history.list().length, 1);
  });

  it("deletes a chat and opens the most recent other one", () => {
    let now = 1;
    const history = new ChatHistory(new MemoryStore(), () => now++);
    const a = history.current();
    history.addTurn(a, turn("user", "A"));
    const b = history.create();
    history.addTurn(b, turn("user", "B"));
    assert.ok(history.delete(b.id));
    assert.equal(history.current().id, a.id);
    assert.equal(history.delete("nope"), false);
    assert.ok(history.delete(a.id));
    assert.equal(history.current().turns.length, 0, "a fresh chat when none is left");
  });

  it("marks a reply that was being written at a reload as stopped", async () => {
    const store = new MemoryStore();
    const history = new ChatHistory(store);
    const c = history.current();
    history.addTurn(c, turn("user", "Q"));
    history.addTurn(c, turn("assistant", "Half a rep", { streaming: true }));
    await history.save();
    const reply = new ChatHistory(store).current().turns[1]!;
    assert.equal(reply.streaming, undefined);
    assert.equal(reply.stopped, true);
  });

  it("keeps at most the newest conversations and ignores a damaged store", async () => {
    let now = 1;
    const store = new MemoryStore();
    const history = new ChatHistory(store, () => now++);
    for (let i = 0; i < MAX_CONVERSATIONS + 5; i++) history.addTurn(history.create(), turn("user", `Q${i}`));
    assert.equal(history.list().length, MAX_CONVERSATIONS);
    assert.equal(history.list()[0]!.title, `Q${MAX_CONVERSATIONS + 4}`);
    store.data.set(HISTORY_KEY, { version: 7, conversations: "garbage" });
    assert.equal(new ChatHistory(store).list().length, 0);
  });

  it("titles a chat from its question without the @library mention", () => {
    assert.equal(titleFrom("@library  what treats gout?"), "what treats gout?");
    assert.equal(titleFrom("   "), DEFAULT_TITLE);
  });
});

describe("chat's library mention and view messages", () => {
  it("finds @library and takes it out of the question", () => {
    assert.deepEqual(parseLibraryMention("@library first-line treatment of gout?"), { wantsLibrary: true, question: "first-line treatment of gout?" });
    assert.deepEqual(parseLibraryMention("email me@library.org"), { wantsLibrary: false, question: "email me@library.org" });
  });

  it("accepts only well-formed messages from the webview", () => {
    assert.deepEqual(parseViewMessage({ type: "send", text: "hi" }), { type: "send", text: "hi" });
    assert.deepEqual(parseViewMessage({ type: "stop", extra: 1 }), { type: "stop" });
    assert.equal(parseViewMessage({ type: "send", text: 3 }), undefined);
    assert.equal(parseViewMessage({ type: "runCommand", command: "x" }), undefined);
    assert.equal(parseViewMessage("send"), undefined);
    assert.equal(parseViewMessage(null), undefined);
  });
});
