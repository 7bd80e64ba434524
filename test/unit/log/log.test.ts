import * as assert from "node:assert/strict";
import { LineLog } from "../../../src/log/log";

describe("log privacy", () => {
  it("shows only the size of note text unless the user allows it", () => {
    let includeText = false;
    const lines: string[] = [];
    const log = new LineLog((l) => lines.push(l), { debug: () => true, includeNoteText: () => includeText });
    const note = "Mrs. Jane Doe, MRN 123456, chest pain";
    log.info(`prompt ${log.noteText(note)}`);
    assert.ok(!lines[0]!.includes("Jane"), lines[0]);
    assert.match(lines[0]!, /37 characters of note text hidden/);
    includeText = true;
    log.info(`prompt ${log.noteText(note)}`);
    assert.ok(lines[1]!.includes("Jane Doe"));
  });

  it("drops debug lines unless debug logging is on", () => {
    const lines: string[] = [];
    const log = new LineLog((l) => lines.push(l), { debug: () => false, includeNoteText: () => false });
    log.debug("hidden");
    log.warn("shown");
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /\[warn\] shown/);
  });
});
