/** Reading the note around the cursor through the pure reader the editor adapter and the benches share. */
import * as assert from "node:assert/strict";
import { budgetCharsFor } from "../../../src/completion/contextWindow";
import { stringLineReader, textAroundCursor } from "../../../src/completion/textAroundCursor";

describe("completion: the text around the cursor", () => {
  const body = Array.from({ length: 400 }, (_, i) => `Line ${i} of the history, with enough words to fill the window.`).join("\n");
  const note = `CHIEF COMPLAINT:\nCough.\n\nHISTORY OF PRESENT ILLNESS:\n${body}\nPLAN:\nContinue`;

  it("reads from a line start within the budget to the cursor, with the section header above it", () => {
    const around = textAroundCursor(stringLineReader(note), note.length, 64);
    assert.ok(note.endsWith(around.prefix));
    assert.equal(note.slice(around.prefixStart, note.length), around.prefix);
    assert.ok(around.prefixStart === 0 || note[around.prefixStart - 1] === "\n", "starts at a line start");
    assert.ok(around.prefix.length <= budgetCharsFor(64) + 2 + 80, `only what the window can use (${around.prefix.length} characters)`);
    assert.equal(around.suffix, "");
    // The cursor is in PLAN, whose header is inside the prefix: no header is carried. In the history:
    const inHistory = note.indexOf("Line 300");
    const there = textAroundCursor(stringLineReader(note), inHistory, 64);
    assert.deepEqual(there.header, { text: "HISTORY OF PRESENT ILLNESS:", offset: note.indexOf("HISTORY OF PRESENT ILLNESS:") });
    assert.ok(there.suffix.startsWith("Line 300 of the history"));
    assert.equal(there.suffix.length, 4 * budgetCharsFor(64), "lines after the cursor, up to four windows' worth");
    assert.equal(textAroundCursor(stringLineReader(note), inHistory, 4096).suffix.split("\n").length, 41, "at most the cursor's line and 40 after it");
  });

  it("maps offsets and lines both ways, CRLF included", () => {
    const reader = stringLineReader("a\r\nbc\r\n\r\nd");
    assert.equal(reader.lineCount, 4);
    assert.deepEqual(reader.positionAt(4), { line: 1, character: 1 });
    assert.equal(reader.offsetAt({ line: 1, character: 99 }), 5, "clamped to the line's end, before its CR");
    assert.equal(reader.lineText(1), "bc");
    assert.equal(reader.lineText(2), "");
    assert.equal(reader.lineText(3), "d");
    assert.deepEqual(reader.positionAt(999), { line: 3, character: 1 });
  });
});
