// Bedside in a real VS Code workbench (code-server + headless Chromium), as a clinician first sees it:
// its activity-bar icon, its status-bar item, and its sidebar. Run:
//   npx mocha --import=tsx --timeout 180000 'test/e2e/**/*.test.ts'
// Screenshots land in test/e2e/screenshots/.
import * as assert from "node:assert/strict";
import { activityBarIcon, saveScreenshot, sideBar, startDevWorkbench, statusBarItem, waitForElement, type DevWorkbench } from "../support/vscodeHost/workbench";

describe("Bedside in the workbench", function () {
  let dev: DevWorkbench;

  before(async function () {
    dev = await startDevWorkbench();
  });

  after(async function () {
    await dev?.close();
  });

  it("shows a Bedside item in the status bar once the extension activates", async function () {
    // The sample notes contain *.note files, so the extension activates on startup.
    const item = await waitForElement(statusBarItem(dev.page, "bedside.status"), "the Bedside status-bar item");
    assert.match(await item.innerText(), /Bedside/);
    console.log(`      (status-bar item ${((Date.now() - dev.openedAt) / 1000).toFixed(1)} s after opening the workbench)`);
    await saveScreenshot(dev.page, "workbench-on-startup");
  });

  it("shows the Bedside icon in the activity bar", async function () {
    const icon = await waitForElement(activityBarIcon(dev.page, "bedside"), "the Bedside activity-bar icon");
    assert.match((await icon.getAttribute("aria-label")) ?? "", /^Bedside\b/);
  });

  it("opens the Bedside sidebar from its icon", async function () {
    await activityBarIcon(dev.page, "bedside").click();
    // With one view in the container, VS Code titles the sidebar "Bedside: <view name>".
    const title = await waitForElement(sideBar(dev.page).locator(".composite.title h2"), "the sidebar title");
    assert.match(await title.innerText(), /^Bedside\b/i);
    await waitForElement(sideBar(dev.page).locator(".pane-body"), "the Bedside view");
    await saveScreenshot(dev.page, "bedside-sidebar", sideBar(dev.page));
    await saveScreenshot(dev.page, "bedside-sidebar-workbench");
  });
});
