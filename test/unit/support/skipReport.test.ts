// Skips that say why (test/support/skip.ts): a real mocha run with tests skipped in a test, a `before`
// hook and a `beforeEach` hook, the reasons collected as the counting reporter does, and the table and
// CI rule `npm test` applies to them.
import * as assert from "node:assert/strict";
import Mocha from "mocha";
import { collectSkips, isExpectedSkip, NO_REASON, onCi, skipBecause, skipTable, type SkippedTest } from "../../support/skip";

function runInnerMocha(): Promise<{ skips: SkippedTest[]; passed: string[] }> {
  const mocha = new Mocha({ reporter: Mocha.reporters.Base });
  const outer = Mocha.Suite.create(mocha.suite, "outer");
  outer.addTest(
    new Mocha.Test("own reason", function (this: Mocha.Context) {
      skipBecause(this, "no GPU here");
    }),
  );
  outer.addTest(
    new Mocha.Test("bare skip", function (this: Mocha.Context) {
      this.skip();
    }),
  );
  outer.addTest(new Mocha.Test("runs", () => undefined));
  const inner = Mocha.Suite.create(outer, "inner");
  inner.beforeAll(function () {
    skipBecause(this, "no shared data");
  });
  inner.addTest(new Mocha.Test("a", () => undefined));
  inner.addTest(new Mocha.Test("b", () => undefined));
  const each = Mocha.Suite.create(mocha.suite, "each");
  each.beforeEach(function () {
    if (this.currentTest?.title === "second") skipBecause(this, "only the second");
  });
  each.addTest(new Mocha.Test("first", () => undefined));
  each.addTest(new Mocha.Test("second", () => undefined));
  return new Promise((resolve) => {
    const passed: string[] = [];
    let skips: SkippedTest[] = [];
    const runner = mocha.run(() => resolve({ skips, passed }));
    runner.on(Mocha.Runner.constants.EVENT_TEST_PASS, (t: Mocha.Test) => passed.push(t.fullTitle()));
    skips = collectSkips(runner);
  });
}

describe("skips that say why", () => {
  it("collects each skipped test's full title and the reason given in the test, a before hook or a beforeEach hook", async () => {
    const { skips, passed } = await runInnerMocha();
    assert.deepEqual(passed.sort(), ["each first", "outer runs"]);
    assert.deepEqual(
      [...skips].sort((a, b) => a.title.localeCompare(b.title)),
      [
        { title: "each second", reason: "only the second" },
        { title: "outer bare skip", reason: NO_REASON },
        { title: "outer inner a", reason: "no shared data" },
        { title: "outer inner b", reason: "no shared data" },
        { title: "outer own reason", reason: "no GPU here" },
      ],
    );
  });

  it("on CI, counts every skip the expected list does not name (a test, or every test of a suite)", () => {
    const expected = [
      { title: "engine 7B model loads", why: "opt-in" },
      { title: "e2e desktop", why: "no desktop VS Code download", suite: true },
    ];
    const suites = [
      {
        suite: "engine",
        skips: [
          { title: "engine 7B model loads", reason: "opt-in" },
          { title: "engine 7B model loads twice", reason: "opt-in" },
        ],
      },
      {
        suite: "e2e",
        skips: [
          { title: "e2e desktop opens", reason: "no download" },
          { title: "e2e desktopish", reason: "x" },
        ],
      },
    ];
    assert.ok(isExpectedSkip(suites[1]!.skips[0]!, expected), "a test under an expected suite");
    assert.ok(!isExpectedSkip(suites[0]!.skips[1]!, expected), "a title that only starts with an expected test's title is another test");
    assert.ok(!isExpectedSkip(suites[1]!.skips[1]!, expected), "a suite title matches whole words only");
    const onCiRun = skipTable(suites, expected, true);
    assert.equal(onCiRun.unexpected, 2);
    assert.match(onCiRun.message, /2 test\(s\) skipped on CI without being listed in test\/expectedSkips\.json/);
    assert.equal(onCiRun.lines.filter((l) => l.includes("UNEXPECTED ON CI")).length, 2);
    assert.ok(
      onCiRun.lines.some((l) => l.includes("engine 7B model loads twice") && l.includes("opt-in")),
      "each skip is listed with its reason",
    );
    const offCi = skipTable(suites, expected, false);
    assert.equal(offCi.unexpected, 0, "off CI a skip is shown, not failed");
    assert.equal(offCi.lines.at(-1), "4 skipped");
    assert.deepEqual(skipTable([{ suite: "unit", skips: [] }], expected, true), { lines: [], unexpected: 0, message: "" });
  });

  it("knows CI from BEDSIDE_CI or the CI variable", () => {
    assert.equal(onCi({ BEDSIDE_CI: "1" }), true);
    assert.equal(onCi({ CI: "true" }), true);
    assert.equal(onCi({ CI: "false" }), false);
    assert.equal(onCi({ BEDSIDE_CI: "0", CI: "true" }), false, "BEDSIDE_CI decides when set");
    assert.equal(onCi({}), false);
  });

  it("test/expectedSkips.json says why for every entry", async () => {
    const { readFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const list = JSON.parse(readFileSync(join(__dirname, "..", "..", "expectedSkips.json"), "utf8")) as { skips: { title: string; why: string }[] };
    assert.ok(list.skips.length > 0);
    for (const s of list.skips) assert.ok(s.title.trim().length > 0 && s.why.trim().length > 20, JSON.stringify(s));
  });
});
