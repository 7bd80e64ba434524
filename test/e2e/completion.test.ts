// Ghost text in a real workbench: a sample note open, the clinician types at the end of the PLAN, and
// Bedside's suggestion from the worker (a generated tiny model, so the words are random) appears as ghost
// text. Screenshot: test/e2e/screenshots/ghost-text-in-note.png.
import * as assert from 'node:assert/strict';
import { ensureTestModel } from '../support/gguf/testModels';
import { cpuModelSettings, openFileInEditor, saveScreenshot, startDevWorkbench, waitForElement, type DevWorkbench } from '../support/vscodeHost/workbench';

describe('Bedside ghost text in a note', function () {
  let dev: DevWorkbench;

  before(async function () {
    const model = await ensureTestModel('tiny');
    dev = await startDevWorkbench({
      settings: {
        ...cpuModelSettings(model),
        'editor.inlineSuggest.enabled': true,
      },
      viewport: { width: 1280, height: 800 },
    });
  });

  after(async function () {
    await dev?.close();
  });

  it('shows the model suggestion as ghost text while typing in a .note file', async function () {
    const { page } = dev;
    const editor = await openFileInEditor(page, 'soap-follow-up.note', 'SUBJECTIVE');
    await editor.click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('Recheck blood pressure and continue the ', { delay: 40 });
    const ghost = await waitForElement(page.locator('.monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text'), 'ghost text', 60_000);
    const text = await ghost.innerText();
    assert.ok(text.trim().length > 0, 'ghost text has words');
    assert.doesNotMatch(text, /[0-9]/);
    const file = await saveScreenshot(page, 'ghost-text-in-note');
    console.log(`      ghost text ${JSON.stringify(text)}; screenshot ${file}`);
  });

  it('accepts it with Tab and marks the accepted text until it is reviewed', async function () {
    const { page } = dev;
    const ghost = page.locator('.monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text');
    const shown = (await ghost.first().innerText()).trim();
    await page.keyboard.press('Tab');
    await ghost.first().waitFor({ state: 'detached', timeout: 10_000 }).catch(() => undefined);
    const line = page.locator('.monaco-editor .view-line', { hasText: 'Recheck blood pressure' });
    await waitForElement(line, 'the accepted line');
    assert.ok((await line.first().innerText()).includes(shown.slice(0, 10)), 'the suggestion was inserted');
    await page.waitForTimeout(500);
    const file = await saveScreenshot(page, 'accepted-text-marked', page.locator('.part.editor'));
    console.log(`      screenshot ${file}`);
  });
});
