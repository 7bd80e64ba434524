// What a clinician sees choosing a model: the Select Model quick pick (installed and downloadable models,
// size, licence, fit) and the licence question before a download. Screenshots:
// test/e2e/screenshots/select-model.png, download-licence.png, status-bar-backend.png.
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { ensureTestModel } from "../support/gguf/testModels";
import {
  bedsideDiagnostics,
  cpuModelSettings,
  runCommand,
  saveScreenshot,
  startDevWorkbench,
  statusBarItem,
  waitForElement,
  type DevWorkbench,
} from "../support/vscodeHost/workbench";

describe("Bedside model choice in the workbench", function () {
  let dev: DevWorkbench;
  let modelFile: string;

  before(async function () {
    modelFile = await ensureTestModel("tiny");
    dev = await startDevWorkbench({
      settings: cpuModelSettings(modelFile),
      viewport: { width: 1280, height: 800 },
    });
  });

  after(async function () {
    await dev?.close();
  });

  it("shows the backend in the status bar once the model is loaded", async function () {
    const item = await waitForElement(statusBarItem(dev.page, "bedside.status").filter({ hasText: "CPU" }), "the status bar saying CPU", 90_000).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await bedsideDiagnostics(dev.page)}`);
    });
    assert.match(await item.innerText(), /CPU/);
    await saveScreenshot(dev.page, "status-bar-backend", dev.page.locator(".part.statusbar"));
  });

  it("lists installed and downloadable models with size, licence and fit", async function () {
    const { page } = dev;
    await runCommand(page, "Bedside: Select Model");
    const row = await waitForElement(page.locator(".quick-input-list .monaco-list-row", { hasText: "Meditron-7B Q4_K_M" }), "Meditron-7B in the quick pick");
    assert.match(await row.innerText(), /GB · Llama 2 Community License/);
    await waitForElement(
      page.locator(".quick-input-list", { hasText: "Choose a GGUF file" }).or(page.locator(".quick-input-list .monaco-list-row", { hasText: "Meditron-70B" })),
      "more models",
    );
    const rows = await page.locator(".quick-input-list .monaco-list-row").allInnerTexts();
    console.log(`      rows: ${JSON.stringify(rows.map((r) => r.slice(0, 80)))}`);
    // The model in use comes first, as installed, with its fit for this machine.
    assert.match(rows[0] ?? "", new RegExp(`${path.basename(modelFile).replace(/\./g, "\\.")}[\\s\\S]*fits \\(CPU`));
    const file = await saveScreenshot(page, "select-model");
    console.log(`      screenshot ${file}`);
  });

  it("asks to accept the licence before downloading", async function () {
    const { page } = dev;
    const input = page.locator(".quick-input-widget input");
    await input.fill("Meditron-7B Q8_0");
    await waitForElement(page.locator(".quick-input-list .monaco-list-row", { hasText: "Meditron-7B Q8_0" }), "the Q8_0 file");
    await page.keyboard.press("Enter");
    const dialog = await waitForElement(page.locator(".monaco-dialog-box"), "the licence dialog");
    assert.match(await dialog.innerText(), /Llama 2 Community License[\s\S]*Accept and Download/);
    const file = await saveScreenshot(page, "download-licence");
    console.log(`      screenshot ${file}`);
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached", timeout: 10_000 });
  });
});
