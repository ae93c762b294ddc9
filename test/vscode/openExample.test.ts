/*
 * The walkthrough and KMem: Open Example Scenario, as a person meets them: code-server with the packaged
 * .vsix installed (so the examples come from the extension's install folder, which .vscodeignore must keep),
 * Chromium on the workbench. Open the walkthrough "Get started with KMem Debugger", follow the slab-growth.kmem
 * link of its first step's page, then press the step's "Open Example Scenario" button, pick dentry-cache.kmem
 * in the quick pick (each row described by its header's first sentence), and check the new editor: untitled,
 * language KMem Scenario, the example's text; Save writes it into the workspace folder without a dialog.
 *
 *   node --import tsx --test test/vscode/openExample.test.ts        (after node scripts/build.mjs)
 */

import * as assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { launchBrowser } from './lib/browser';
import { distExtension, examplesDir } from './lib/paths';
import { TestRun } from './lib/run';
import {
  BUILD_HINT,
  installExtension,
  packageExtension,
  requireFiles,
  startCodeServer,
  workbenchUrl,
  writeUserSettings,
} from './lib/vscodeHost';
import { STEP_TIMEOUT_MS, Workbench } from './lib/workbench';

const EXAMPLE = 'dentry-cache.kmem';

test('the walkthrough opens an example scenario as an untitled copy in code-server', { timeout: 360_000 }, async () => {
  requireFiles([{ path: distExtension, fix: BUILD_HINT }]);
  const run = TestRun.create('vscode-open-example', 'oex');
  let failure: unknown;
  let workbench: Workbench | undefined;
  try {
    const expected = readFileSync(join(examplesDir, EXAMPLE), 'utf8');
    const header = expected.split('\n')[0]!;
    // The workspace holds a copy of the examples in a subfolder: the copy the command opens must come from
    // the installed extension and be tied to a free name in the workspace's root.
    cpSync(examplesDir, join(run.workspaceDir, 'examples'), { recursive: true });
    writeUserSettings(run.userDataDir);
    await installExtension(run, await packageExtension(run));

    const server = await startCodeServer(run, run.workspaceDir);
    const { page } = await launchBrowser(run);
    workbench = new Workbench(page, run);
    await workbench.open(workbenchUrl(server, run.workspaceDir));

    // The walkthrough, from the palette: Welcome: Open Walkthrough... asks which one in a second quick pick
    // (so not Workbench.runCommand, which waits for the palette to close).
    const input = page.locator('.quick-input-widget .quick-input-box input');
    const rows = page.locator('.quick-input-widget .monaco-list-row');
    await page.keyboard.press('F1');
    await input.waitFor({ timeout: STEP_TIMEOUT_MS });
    await input.fill('>Welcome: Open Walkthrough');
    await rows.filter({ hasText: 'Welcome: Open Walkthrough' }).first().click({ timeout: STEP_TIMEOUT_MS });
    const walkthroughRow = rows.filter({ hasText: 'Get started with KMem Debugger' }).first();
    await walkthroughRow.waitFor({ timeout: STEP_TIMEOUT_MS });
    assert.match(await walkthroughRow.innerText(), /emulated Linux 6\.12 machine/);
    await walkthroughRow.click();
    const walkthrough = page.locator('.gettingStartedContainer');
    await walkthrough.getByText('Open an example scenario').first().waitFor({ timeout: 60_000 });
    for (const step of [
      'Run it',
      'Stop when a cache allocates',
      'Look inside the machine',
      'Write your own scenario',
    ]) {
      assert.ok(await walkthrough.getByText(step).first().isVisible(), `the walkthrough has no step "${step}"`);
    }

    // The step's page (markdown in a webview) links to one example: the link hands its name to the command.
    await workbench.webview().getByRole('link', { name: 'slab-growth.kmem' }).first().click({ timeout: 60_000 });
    await page
      .locator('.tabs-container .tab.active[aria-label*="slab-growth.kmem"]')
      .waitFor({ timeout: STEP_TIMEOUT_MS });
    await page.locator('.tabs-container .tab', { hasText: 'Welcome' }).first().click();
    await walkthrough.getByText('Open an example scenario').first().waitFor({ timeout: STEP_TIMEOUT_MS });

    // The first step's button runs kmem.openExample without an argument: a quick pick of the examples.
    await walkthrough.getByRole('button', { name: 'Open Example Scenario' }).first().click();
    await input.waitFor({ timeout: STEP_TIMEOUT_MS });
    await rows.filter({ hasText: 'buddy-split.kmem' }).first().waitFor({ timeout: STEP_TIMEOUT_MS });
    await input.fill('dentry');
    const row = rows.filter({ hasText: EXAMPLE }).first();
    await row.waitFor({ timeout: STEP_TIMEOUT_MS });
    const rowText = await row.innerText();
    assert.match(rowText, /the dentry cache fills up, memory pressure empties it/, `quick pick row: ${rowText}`);
    await row.click();
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: STEP_TIMEOUT_MS });

    // An untitled copy under the example's name, in the kmem language, holding the example's text.
    const tab = page.locator(`.tabs-container .tab.active[aria-label*="${EXAMPLE}"]`);
    await tab.waitFor({ timeout: STEP_TIMEOUT_MS });
    await page.locator('.statusbar-item', { hasText: /^KMem Scenario$/ }).waitFor({ timeout: 60_000 });
    const firstLine = workbench.editor().locator('.view-lines .view-line').first();
    const shown = await workbench.waitForCondition(
      async () => (await firstLine.innerText()).replace(/\u00a0/g, ' ') === header,
      STEP_TIMEOUT_MS,
    );
    assert.ok(shown, `the editor's first line is ${JSON.stringify(await firstLine.innerText())}, not the header`);
    const saved = join(run.workspaceDir, EXAMPLE);
    assert.equal(existsSync(saved), false, 'the copy is on disk before it was saved');
    await workbench.screenshot('open-example');

    // Save: no dialog, the copy lands in the workspace folder with the example's text.
    await workbench.editor().locator('.view-lines').click();
    await page.keyboard.press('Control+S');
    // The file may appear empty before its bytes land: wait for the whole text.
    const written = await workbench.waitForCondition(
      async () => existsSync(saved) && readFileSync(saved, 'utf8') === expected,
      STEP_TIMEOUT_MS,
    );
    assert.ok(written, `Save did not write the example's text to ${saved}`);
  } catch (error) {
    failure = error;
    await workbench?.screenshot('failure').catch(() => undefined);
    throw error;
  } finally {
    await run.finish(failure);
  }
});
