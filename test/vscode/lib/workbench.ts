/*
 * Driving the VS Code workbench in a browser the way a person does: quick open, the command palette,
 * clicks in the editor's glyph margin, keys. Every step waits for what shows it worked (a tab, a glyph, a
 * header text) with an explicit timeout, and says what it was waiting for when it fails.
 *
 * Selectors are VS Code's own DOM classes (stable across releases for years): .monaco-workbench,
 * .quick-input-widget, .monaco-list-row, .margin-view-overlays .line-numbers, .codicon-debug-breakpoint,
 * .debug-top-stack-frame-line, .pane-header. Webviews are two iframes deep:
 * iframe.webview.ready > #active-frame.
 */

import { join } from 'node:path';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import type { TestRun } from './run';

/** How long one UI step may take (the workbench on 2 cores can be slow to lay out). */
export const STEP_TIMEOUT_MS = 30_000;

export class Workbench {
  constructor(
    readonly page: Page,
    private readonly run: TestRun,
  ) {}

  /** Loads `url` and waits until the workbench shows the Explorer with the workspace folder. */
  async open(url: string): Promise<void> {
    await this.page.goto(url, { timeout: STEP_TIMEOUT_MS });
    await this.page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await this.page.locator('.part.statusbar').waitFor({ timeout: STEP_TIMEOUT_MS });
    await this.page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
    this.run.log(`workbench ready: ${url}`);
  }

  /** Quick open (Ctrl+P): types `fileName`, picks the row, waits for the editor tab. */
  async openFile(fileName: string): Promise<void> {
    await this.page.keyboard.press('Control+P');
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ timeout: STEP_TIMEOUT_MS });
    await input.fill(fileName);
    const row = this.page.locator('.quick-input-widget .monaco-list-row', { hasText: fileName }).first();
    await row.waitFor({ timeout: STEP_TIMEOUT_MS });
    await row.click();
    await this.page
      .locator(`.tabs-container .tab.active[aria-label*="${fileName}"]`)
      .waitFor({ timeout: STEP_TIMEOUT_MS });
    await this.editor().locator('.view-lines').waitFor({ timeout: STEP_TIMEOUT_MS });
    this.run.log(`opened ${fileName}`);
  }

  /** The text editor in the first editor group (the scenario). */
  editor(): Locator {
    return this.page.locator('.part.editor .editor-instance .monaco-editor').first();
  }

  /** Runs a command from the palette (F1), clicking the row whose label is exactly `label`. */
  async runCommand(label: string): Promise<void> {
    await this.page.keyboard.press('F1');
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ timeout: STEP_TIMEOUT_MS });
    await input.fill(`>${label}`);
    // The palette matches fuzzily and may list near-misses first: take the row labelled exactly `label`.
    const row = this.page
      .locator('.quick-input-widget .monaco-list-row')
      .filter({ has: this.page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(label)}$`) }) })
      .first();
    await row.waitFor({ timeout: STEP_TIMEOUT_MS });
    await row.click();
    await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: STEP_TIMEOUT_MS });
    this.run.log(`ran command ${label}`);
  }

  /** Go to Line (Ctrl+G): scrolls `line` into view and puts the cursor there. */
  async gotoLine(line: number): Promise<void> {
    await this.editor().locator('.view-lines').click();
    await this.page.keyboard.press('Control+G');
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ timeout: STEP_TIMEOUT_MS });
    await input.fill(`:${line}`);
    await this.page.keyboard.press('Enter');
    await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: STEP_TIMEOUT_MS });
  }

  /** The vertical band (page coordinates) of 1-based `line` in the editor, from its line number. */
  async lineBand(line: number): Promise<{ top: number; bottom: number }> {
    const number = this.editor()
      .locator('.margin-view-overlays .line-numbers')
      .filter({ hasText: new RegExp(`^\\s*${line}\\s*$`) })
      .first();
    await number.waitFor({ timeout: STEP_TIMEOUT_MS });
    const box = await number.boundingBox();
    if (!box) {
      throw new Error(`line ${line} has no box (scrolled out of view?)`);
    }
    return { top: box.y, bottom: box.y + box.height };
  }

  /** Whether an element matching `selector` in the editor (a glyph, a line decoration) sits on `line`. */
  async decorationOnLine(selector: string, line: number): Promise<boolean> {
    const band = await this.lineBand(line);
    const boxes = await this.editor()
      .locator(selector)
      .evaluateAll((els) => els.map((el) => el.getBoundingClientRect()).map((r) => ({ y: r.y, h: r.height })));
    return boxes.some((b) => b.h > 0 && b.y + b.h / 2 > band.top && b.y + b.h / 2 < band.bottom);
  }

  /**
   * Sets a breakpoint on `line` by clicking the glyph margin, as a person does. The first click is
   * sometimes lost while the editor settles, so it clicks again, but only after waiting for the glyph
   * (a second click on a set breakpoint would remove it).
   */
  async setBreakpointByClick(line: number, attempts = 5): Promise<void> {
    await this.gotoLine(line);
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const band = await this.lineBand(line);
      const glyphMargin = await this.editor().locator('.glyph-margin').first().boundingBox();
      if (!glyphMargin) {
        throw new Error('the editor has no glyph margin');
      }
      await this.page.mouse.move(glyphMargin.x + glyphMargin.width / 2, (band.top + band.bottom) / 2);
      await this.page.mouse.click(glyphMargin.x + glyphMargin.width / 2, (band.top + band.bottom) / 2);
      const shown = await this.waitForCondition(() => this.decorationOnLine('.codicon-debug-breakpoint', line), 3000);
      this.run.log(`breakpoint click ${attempt} on line ${line}: ${shown ? 'set' : 'not shown yet'}`);
      if (shown) {
        return;
      }
    }
    throw new Error(`no breakpoint glyph on line ${line} after ${attempts} clicks in the glyph margin`);
  }

  /** The Call Stack view's header (it shows "Paused on breakpoint" while stopped). */
  callStackHeader(): Locator {
    return this.page.locator('.pane-header', { hasText: /call stack/i }).first();
  }

  /** The body of the view whose header says `title` (Variables, Watch, Call Stack, Breakpoints). */
  viewBody(title: string): Locator {
    return this.page
      .locator('.pane')
      .filter({ has: this.page.locator('.pane-header', { hasText: new RegExp(`^\\s*${escapeRegExp(title)}`, 'i') }) })
      .locator('.pane-body')
      .first();
  }

  /** Expands the tree row labelled `label` in `view` (a person's click on it) unless it is expanded. */
  async expandRow(view: Locator, label: string): Promise<void> {
    const text = { hasText: new RegExp(`^\\s*${escapeRegExp(label)}\\b`) };
    const row = view.locator('.monaco-list-row', text).first();
    await row.waitFor({ timeout: STEP_TIMEOUT_MS });
    if ((await row.getAttribute('aria-expanded')) !== 'true') {
      await row.click();
      await view.locator('.monaco-list-row[aria-expanded="true"]', text).first().waitFor({ timeout: STEP_TIMEOUT_MS });
    }
  }

  /**
   * Drags the vertical sash on the right edge of `part` (the side bar, an editor group) by `dx` pixels,
   * as a person resizes a view; for screenshots where the table or the tree must fit.
   */
  async dragRightEdge(part: Locator, dx: number): Promise<void> {
    const box = await part.boundingBox();
    if (!box) {
      throw new Error('dragRightEdge: the part is not visible');
    }
    const edge = box.x + box.width;
    const sashes = await this.page
      .locator('.monaco-sash.vertical')
      .evaluateAll((els) =>
        els
          .map((el) => el.getBoundingClientRect())
          .map((r) => ({ x: r.x + r.width / 2, y: r.y + r.height / 2, h: r.height })),
      );
    const sash = sashes.filter((s) => s.h > 100 && Math.abs(s.x - edge) < 8).sort((a, b) => b.h - a.h)[0];
    if (!sash) {
      throw new Error(`dragRightEdge: no sash at x=${edge}`);
    }
    await this.page.mouse.move(sash.x, sash.y);
    await this.page.mouse.down();
    await this.page.mouse.move(sash.x + dx, sash.y, { steps: 10 });
    await this.page.mouse.up();
    // Park the pointer on the activity bar so no sash or row stays highlighted in a screenshot.
    const bar = await this.page.locator('.part.activitybar').boundingBox();
    await this.page.mouse.move((bar?.x ?? 0) + 4, (bar?.y ?? 0) + (bar?.height ?? 0) - 4);
    await this.page
      .locator('.monaco-sash.hover, .monaco-sash.active')
      .first()
      .waitFor({ state: 'detached', timeout: 5000 })
      .catch(() => undefined); // cosmetic only: a highlighted sash does not fail a test
  }

  /** "Ln 9, Col 1" from the status bar: the cursor line. */
  async cursorLine(): Promise<number> {
    const text = await this.page
      .locator('.statusbar-item', { hasText: /^Ln \d+, Col \d+/ })
      .first()
      .innerText();
    const match = /^Ln (\d+)/.exec(text.trim());
    if (!match) {
      throw new Error(`status bar cursor position reads ${JSON.stringify(text)}`);
    }
    return Number(match[1]);
  }

  /** The document inside the webview panel: iframe.webview.ready > #active-frame. */
  webview(): FrameLocator {
    return this.page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
  }

  /** A full-page screenshot into the run's results folder; returns the path. */
  async screenshot(name: string): Promise<string> {
    const path = join(this.run.resultsDir, `${name}.png`);
    await this.page.screenshot({ path });
    this.run.log(`screenshot ${path}`);
    return path;
  }

  /** Polls `probe` (each call is a quick DOM read) until true or `timeoutMs`; returns the last answer. */
  async waitForCondition(probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await probe().catch(() => false)) {
        return true;
      }
      if (Date.now() > deadline) {
        return false;
      }
      await this.page.waitForTimeout(100);
    }
  }
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
