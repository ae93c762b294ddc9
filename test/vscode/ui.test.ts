/*
 * End to end, as a person uses the extension: code-server with the packaged .vsix installed, Chromium on
 * the workbench. Open slab-growth.kmem, click a breakpoint onto `kfree(first)`, F5, check the stop (Call
 * Stack header, the current-line decoration, the cursor), the Variables view, then "KMem: Show Slab
 * Caches" from the palette and the kmalloc-192 row of the panel against the engine's own numbers.
 *
 *   node --import tsx --test test/vscode/ui.test.ts        (after node scripts/build.mjs)
 *
 * Screenshots go to test-results/vscode-ui/; the two that document the extension are copied to
 * docs/images/ when missing there, or always with KMEM_UPDATE_SCREENSHOTS=1.
 */

import * as assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { SlabCacheView } from '../../engine/inspect/views';
import { launchBrowser } from './lib/browser';
import { distExtension, docsImagesDir, examplesDir } from './lib/paths';
import { TestRun } from './lib/run';
import { engineSlabCacheAt, lineOf, SLAB_GROWTH } from './lib/scenario';
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

/** The slabinfo columns the panel's kmalloc-192 row must show, by the cells' data-key. */
const PANEL_FIELDS = [
  'activeObjs',
  'numObjs',
  'objSize',
  'objPerSlab',
  'pagesPerSlab',
  'numSlabs',
  'liveObjects',
] as const;

function publish(screenshot: string, docsName: string): void {
  const target = join(docsImagesDir, docsName);
  if (!existsSync(target) || process.env.KMEM_UPDATE_SCREENSHOTS === '1') {
    mkdirSync(docsImagesDir, { recursive: true });
    copyFileSync(screenshot, target);
  }
}

test(
  'debugging slab-growth.kmem in code-server: breakpoint, F5, variables, slab panel',
  { timeout: 360_000 },
  async () => {
    requireFiles([{ path: distExtension, fix: BUILD_HINT }]);
    const run = TestRun.create('vscode-ui', 'ui');
    let failure: unknown;
    let workbench: Workbench | undefined;
    try {
      const workspaceExamples = join(run.workspaceDir, 'examples');
      cpSync(examplesDir, workspaceExamples, { recursive: true });
      const scenario = readFileSync(join(workspaceExamples, SLAB_GROWTH), 'utf8');
      const breakLine = lineOf(scenario, 'kfree(first)');
      writeUserSettings(run.userDataDir);
      await installExtension(run, await packageExtension(run));

      const server = await startCodeServer(run, run.workspaceDir);
      const { page } = await launchBrowser(run);
      workbench = new Workbench(page, run);
      await workbench.open(workbenchUrl(server, run.workspaceDir));
      await workbench.openFile(SLAB_GROWTH);
      // The language mode in the status bar is the extension's: its contributions are loaded.
      await page.locator('.statusbar-item', { hasText: /^KMem Scenario$/ }).waitFor({ timeout: 60_000 });

      await workbench.setBreakpointByClick(breakLine);
      await workbench.editor().locator('.view-lines').click();
      await page.keyboard.press('F5');

      // The stop: Call Stack header, the top-frame decoration and the cursor on the breakpoint's line.
      await workbench
        .callStackHeader()
        .filter({ hasText: /Paused on breakpoint/i })
        .waitFor({ timeout: 60_000 });
      const onLine = await workbench.waitForCondition(
        () => workbench!.decorationOnLine('.debug-top-stack-frame-line', breakLine),
        STEP_TIMEOUT_MS,
      );
      assert.ok(onLine, `the current-line decoration is not on line ${breakLine} (kfree(first))`);
      const cursorOnLine = await workbench.waitForCondition(
        async () => (await workbench!.cursorLine()) === breakLine,
        STEP_TIMEOUT_MS,
      );
      assert.ok(cursorOnLine, `the editor cursor is on line ${await workbench.cursorLine()}, not ${breakLine}`);

      // Variables: Locals shows the two pointers the scenario holds; first expands into its object.
      const variables = workbench.viewBody('Variables');
      await workbench.expandRow(variables, 'Locals');
      const pointers = /\bfirst\s*[:=]\s*0xffff888[0-9a-f]*[\s\S]*\bsecond\s*[:=]\s*0xffff888[0-9a-f]*/;
      const shown = await workbench.waitForCondition(
        async () => pointers.test(await variables.innerText()),
        STEP_TIMEOUT_MS,
      );
      assert.ok(
        shown,
        `Variables view does not show first and second as 0xffff888… pointers:\n${await variables.innerText()}`,
      );
      await workbench.expandRow(variables, 'first');
      const details = await workbench.waitForCondition(
        async () => /\bcache\s*[:=]\s*kmalloc-192/.test(await variables.innerText()),
        STEP_TIMEOUT_MS,
      );
      assert.ok(details, `first does not expand into its kmalloc-192 object:\n${await variables.innerText()}`);
      await workbench.dragRightEdge(page.locator('.part.sidebar'), 140);
      publish(await workbench.screenshot('debugging'), 'vscode-debugging.png');

      // The slab-caches panel: its kmalloc-192 row against the engine's slabinfo for the same allocations.
      await workbench.runCommand('KMem: Show Slab Caches');
      const panel = workbench.webview();
      const row = panel.locator('tr[data-cache="kmalloc-192"]');
      await row.waitFor({ timeout: 60_000 });
      assert.match(await row.innerText(), /kmalloc-192/);
      const header = await panel.locator('thead').first().innerText();
      assert.match(header, /Active objs/i, `panel header: ${header}`);
      const cells = await row
        .locator('[data-key]')
        .evaluateAll((els) =>
          els.map((el) => [el.getAttribute('data-key') ?? '', (el as HTMLElement).innerText] as const),
        );
      const shownRow = Object.fromEntries(
        cells.map(([key, text]) => [key, Number((/^[\d,]+/.exec(text.trim())?.[0] ?? 'NaN').replace(/,/g, ''))]),
      );
      const expected: SlabCacheView = engineSlabCacheAt(scenario, SLAB_GROWTH, breakLine, 'kmalloc-192');
      const pick = (source: Record<string, unknown>) => Object.fromEntries(PANEL_FIELDS.map((f) => [f, source[f]]));
      assert.deepEqual(
        pick(shownRow),
        pick(expected as unknown as Record<string, unknown>),
        `panel row: ${JSON.stringify(cells)}`,
      );
      // What SLUB says and the example explains: 2 live objects, yet all 21 of the cpu slab count as active.
      assert.equal(shownRow.liveObjects, 2);
      assert.equal(shownRow.activeObjs, shownRow.objPerSlab);
      // For the picture: the side bar out of the way and the panel wide enough for every column.
      await workbench.runCommand('View: Toggle Primary Side Bar Visibility');
      await page.locator('.part.sidebar').waitFor({ state: 'hidden', timeout: STEP_TIMEOUT_MS });
      await workbench.dragRightEdge(page.locator('.part.editor .editor-group-container').first(), -260);
      await row.waitFor({ timeout: STEP_TIMEOUT_MS });
      publish(await workbench.screenshot('slab-panel'), 'vscode-slab-panel.png');
    } catch (error) {
      failure = error;
      await workbench?.screenshot('failure').catch(() => undefined);
      throw error;
    } finally {
      await run.finish(failure);
    }
  },
);
