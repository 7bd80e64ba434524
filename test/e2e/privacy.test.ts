// What a clinician sees after "Bedside: Check Note for Identifiers": warnings under each identifier in the
// note and the list in Problems. Screenshots: test/e2e/screenshots/identifiers-in-note.png, identifiers-in-problems.png.
import * as assert from "node:assert/strict";
import { openFileInEditor, runCommand, saveScreenshot, startDevWorkbench, waitForElement, type DevWorkbench } from "../support/vscodeHost/workbench";

describe("Bedside identifier check in the workbench", function () {
  let dev: DevWorkbench;

  before(async function () {
    dev = await startDevWorkbench({ settings: { "bedside.completion.enabled": false }, viewport: { width: 1280, height: 800 } });
  });

  after(async function () {
    await dev?.close();
  });

  it("underlines each identifier and lists them in Problems", async function () {
    const { page } = dev;
    const editor = await openFileInEditor(page, "soap-follow-up.note", "SUBJECTIVE");
    await editor.click();
    await page.keyboard.press("Control+Home");
    await page.keyboard.type("Patient: Maria Gonzalez  MRN: 00482913  DOB 04/12/1951\nSeen with Dr. Patel; daughter at 555-867-5309.\n", { delay: 5 });
    await runCommand(page, "Bedside: Check Note for Identifiers");
    const squiggles = page.locator(".monaco-editor .squiggly-warning");
    await waitForElement(squiggles.first(), "warning underlines");
    await page.waitForTimeout(500);
    assert.ok((await squiggles.count()) >= 5, `${await squiggles.count()} underlines`);
    console.log(`      screenshot ${await saveScreenshot(page, "identifiers-in-note")}`);

    await page.keyboard.press("Control+Shift+M");
    await waitForElement(page.locator(".markers-panel .monaco-list-row", { hasText: "Possible identifier" }).first(), "Problems lists them");
    console.log(`      screenshot ${await saveScreenshot(page, "identifiers-in-problems")}`);
  });
});
