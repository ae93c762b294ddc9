/*
 * The slab panel in a real browser: the built bundle (dist/webview/slab.js) in headless Chromium under the
 * panel's real CSP, fed states the engine computed. Checks the numbers, sorting, the filter, the change
 * highlights, malformed messages, the VS Code handshake and restore, the standalone report, and takes the
 * screenshot in docs/images. Build first (`node scripts/build.mjs`); npm test does. Every step waits for
 * the DOM state it needs; nothing sleeps.
 */

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { zoneinfoView, type ZoneinfoZoneView } from '../../engine/inspect/procfs';
import type { SlabCacheView } from '../../engine/inspect/views';
import { NO_PFN } from '../../engine/mm/frames';
import { GFP_ATOMIC, GFP_KERNEL } from '../../engine/mm/gfp';
import { reportHtml } from '../../webview/html';
import type { MachineState } from '../../webview/protocol';
import { bootMachine, scenarioStates, stateOf } from './fixtures';
import { BUNDLE, ROOT, STYLE, openHarness, openPage, post, type Harness, type Problems } from './harness';

const { first, second } = scenarioStates();
const cacheIn = (state: MachineState, name: string): SlabCacheView => {
  const c = state.slabinfo.caches.find((x) => x.name === name);
  assert.ok(c, `no cache ${name}`);
  return c;
};
const fmt = (n: number) => n.toLocaleString('en-US');
const row = (name: string) => `tr[data-cache="${name}"]`;

let harness: Harness;
before(async () => {
  harness = await openHarness();
});
after(async () => {
  await harness?.close();
});

async function openPanel(opts: { fakeVsCode?: boolean; savedState?: unknown } = {}) {
  const context = await harness.browser.newContext({ viewport: { width: 1100, height: 700 } });
  const { page, problems } = await openPage(context, opts);
  await page.goto(`${harness.origin}/panel.html`);
  return { context, page, problems };
}

/** Posts a state and waits until the panel shows its event count. */
async function showState(page: Page, state: MachineState): Promise<void> {
  await post(page, { type: 'state', state });
  await page.waitForFunction(
    (events) => document.querySelector('.summary')?.textContent?.includes(events) ?? false,
    fmt(state.summary.events),
  );
}

async function cellText(page: Page, cache: string, key: string): Promise<string> {
  return (await page.locator(`${row(cache)} [data-key="${key}"]`).innerText()).trim();
}

async function visibleCaches(page: Page): Promise<string[]> {
  return page
    .locator('table.slabs tbody tr[data-cache]')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-cache') ?? ''));
}

function assertClean(problems: Problems): void {
  assert.deepEqual(problems.csp, [], 'CSP violations');
  assert.deepEqual(problems.errors, [], 'page or console errors');
}

describe('slab panel (Chromium, panel CSP)', () => {
  test('shows the engine’s kmalloc-192 numbers', async () => {
    const { context, page, problems } = await openPanel();
    await page.waitForSelector('.waiting');
    await showState(page, first);
    const c = cacheIn(first, 'kmalloc-192');
    assert.equal(c.objPerSlab, 21);
    assert.equal(c.pagesPerSlab, 1);
    const r = page.locator(row('kmalloc-192'));
    assert.equal((await r.locator('th[scope="row"]').innerText()).trim(), 'kmalloc-192');
    assert.equal(await cellText(page, 'kmalloc-192', 'activeObjs'), fmt(c.activeObjs));
    assert.equal(await cellText(page, 'kmalloc-192', 'numObjs'), fmt(c.numObjs));
    assert.equal(await cellText(page, 'kmalloc-192', 'objSize'), '192');
    assert.equal(await cellText(page, 'kmalloc-192', 'objPerSlab'), '21');
    assert.match(await cellText(page, 'kmalloc-192', 'pagesPerSlab'), /^1\s*o0$/);
    assert.equal(await cellText(page, 'kmalloc-192', 'numSlabs'), fmt(c.numSlabs));
    assert.equal(await cellText(page, 'kmalloc-192', 'partial'), fmt(c.partial));
    assert.equal(await cellText(page, 'kmalloc-192', 'cpuSlabs'), fmt(c.cpuSlabs));
    // Freeing from two full slabs put both on CPU 0's per-CPU partial list (__slab_free -> put_cpu_partial).
    assert.equal(c.cpuPartial, 2);
    assert.equal(await cellText(page, 'kmalloc-192', 'cpuPartial'), '2');
    assert.equal(await cellText(page, 'kmalloc-192', 'liveObjects'), fmt(c.liveObjects));
    assert.equal(await cellText(page, 'kmalloc-192', 'usage'), `${Math.round((c.activeObjs / c.numObjs) * 100)}%`);
    // No previous state: nothing is marked as changed.
    assert.equal(await page.locator('tr.changed').count(), 0);

    // The header: the stop and the machine.
    const stop = await page.locator('.stop').innerText();
    assert.match(stop, /breakpoint/);
    assert.match(stop, /line 14/);
    const summary = await page.locator('.summary').innerText();
    assert.match(summary, /256 MiB/);
    assert.match(summary, new RegExp(`${fmt(first.summary.freePages)}\\s*/\\s*${fmt(first.summary.totalPages)}`));
    assert.match(summary, new RegExp(`\\b${first.summary.slabPages}\\b`));

    // Buddy free areas: nr_free per order 0..10 and the free pages they hold.
    const zone = first.buddyinfo.zones[0]!;
    const nrFree = await page.locator('.zone:first-child table.orders tbody tr:nth-child(2) td').allInnerTexts();
    assert.deepEqual(
      nrFree.map((t) => t.trim()),
      zone.nrFree.map(fmt),
    );
    const pages = await page.locator('.zone:first-child table.orders tbody tr:nth-child(3) td').allInnerTexts();
    assert.deepEqual(
      pages.map((t) => t.trim()),
      zone.nrFree.map((n, order) => fmt(n << order)),
    );
    assert.equal(
      await page.locator('.zone:first-child table.orders .bar:not(.zero)').count(),
      zone.nrFree.filter((n) => n > 0).length,
    );

    // Accessible structure.
    assert.equal(await page.locator('table.slabs thead th[scope="col"]').count(), 12);
    assert.equal(await page.locator('table.slabs [aria-sort]').count(), 0);
    assertClean(problems);
    await context.close();
  });

  test('each zone shows its watermarks and free pages as the engine computes them', async () => {
    const { context, page, problems } = await openPanel();
    const m = bootMachine();
    const zoneinfo = zoneinfoView(m);
    const state = { ...stateOf(m), zoneinfo };
    await showState(page, state);
    for (const name of ['DMA', 'DMA32']) {
      const w = zoneinfo.zones.find((z) => z.zone === name)!;
      assert.ok(w.populated && w.min > 0 && w.min < w.low && w.low < w.high, `${name} has watermarks`);
      const line = page.locator(`.zone[data-zone="${name}"] .watermarks`);
      const num = async (key: string) => (await line.locator(`[data-wm="${key}"] .num`).innerText()).trim();
      assert.equal(await num('free'), fmt(w.freePages), `${name} free`);
      assert.equal(await num('min'), fmt(w.min), `${name} min`);
      assert.equal(await num('low'), fmt(w.low), `${name} low`);
      assert.equal(await num('high'), fmt(w.high), `${name} high`);
      assert.equal(await num('managed'), fmt(w.managed), `${name} managed`);
      assert.equal(
        (await line.locator('.wm-numbers').innerText()).replace(/\s+/g, ' ').trim(),
        `free ${fmt(w.freePages)} pages · min ${fmt(w.min)} · low ${fmt(w.low)} · high ${fmt(w.high)} · managed ${fmt(w.managed)}`,
      );
      // A fresh zone is far above its high watermark: no badge, three ticks on the gauge.
      assert.equal(await line.getAttribute('data-level'), 'ok');
      assert.equal(await line.locator('.wm-badge').count(), 0);
      assert.equal(await line.locator('.wm-gauge .tick').count(), 3);
    }
    // The 256 MiB machine's DMA32 zone (hand-computed in test/unit/watermarks.test.ts): 58363 managed pages
    // (less the kernel image, boot page tables and memmap), min 467, low 583, high 699.
    const dma32 = zoneinfo.zones.find((z) => z.zone === 'DMA32')!;
    assert.deepEqual([dma32.min, dma32.low, dma32.high, dma32.managed], [467, 583, 699, 58363]);

    // An older host sends no zoneinfo: the zones show no watermark line, and nothing breaks.
    const { zoneinfo: _zoneinfo, ...old } = first;
    await showState(page, old);
    await page.waitForFunction(() => document.querySelectorAll('.zone .watermarks').length === 0);
    assert.equal(await page.locator('.zone').count(), first.buddyinfo.zones.length);
    assertClean(problems);
    await context.close();
  });

  test('a zone below its low, then its min watermark, says so', async () => {
    const { context, page, problems } = await openPanel();
    const m = bootMachine(16 * 1024 * 1024);
    const dma = (): ZoneinfoZoneView => zoneinfoView(m).zones.find((z) => z.zone === 'DMA')!;
    const w = dma();
    assert.equal(m.buddy.populatedZones().length, 1, 'a 16 MiB machine has only ZONE_DMA');
    // Allocate most of the zone, a page at a time, until free pages are at the low watermark but above min.
    // GFP_KERNEL passes the slow path's min watermark below low; each per-CPU refill is drained back at once,
    // so every step takes exactly one page from the zone.
    const onePage = (gfp: number): number => {
      const pfn = m.buddy.allocPages({ order: 0, gfp, cpu: 0, compound: false });
      m.buddy.drainAll();
      return pfn;
    };
    const target = w.low - Math.floor((w.low - w.min) / 2);
    while (dma().freePages > target) assert.notEqual(onePage(GFP_KERNEL), NO_PFN);
    const low = dma();
    assert.ok(low.freePages <= low.low && low.freePages > low.min, `free ${low.freePages} between min and low`);
    await showState(page, stateOf(m));
    const line = page.locator('.zone[data-zone="DMA"] .watermarks');
    await page.waitForFunction(() => document.querySelector('.zone .watermarks')?.getAttribute('data-level') === 'low');
    assert.equal((await line.locator('.wm-badge').innerText()).trim(), 'below low watermark: kswapd would wake');
    assert.equal((await line.locator('[data-wm="free"] .num').innerText()).trim(), fmt(low.freePages));
    assert.equal((await line.locator('[data-wm="low"] .num').innerText()).trim(), fmt(low.low));

    // Further down, below min: GFP_ATOMIC may go to min - min/2 - (min - min/2)/4 (__zone_watermark_ok with
    // ALLOC_MIN_RESERVE | ALLOC_NON_BLOCK), well below min - 10.
    while (dma().freePages > w.min - 10) assert.notEqual(onePage(GFP_ATOMIC), NO_PFN);
    await post(page, { type: 'state', state: stateOf(m) });
    await page.waitForFunction(() => document.querySelector('.zone .watermarks')?.getAttribute('data-level') === 'min');
    assert.equal((await line.locator('.wm-badge').innerText()).trim(), 'below min: only atomic allocations');
    // Every cache of this machine is empty and hidden: the table says so, and how to list them.
    assert.match(
      await page.locator('table.slabs tbody').innerText(),
      /Every cache is empty: untick "Hide empty caches"/,
    );
    assert.equal(await line.locator('.wm-badge').count(), 1);
    assert.equal((await line.locator('[data-wm="free"] .num').innerText()).trim(), fmt(dma().freePages));
    mkdirSync(join(ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-results', 'slab-panel-below-min.png'), fullPage: true });
    assertClean(problems);
    await context.close();
  });

  test('sorts by a header, numerically, both ways, and by keyboard', async () => {
    const { context, page, problems } = await openPanel();
    await showState(page, first);
    const shown = first.slabinfo.caches.filter((c) => c.numObjs > 0);

    await page.locator('thead th[data-key="numObjs"] button').click();
    assert.equal(await page.locator('thead th[data-key="numObjs"]').getAttribute('aria-sort'), 'descending');
    const desc = [...shown].sort((a, b) => b.numObjs - a.numObjs).map((c) => c.name);
    assert.deepEqual(await visibleCaches(page), desc);

    await page.locator('thead th[data-key="numObjs"] button').click();
    assert.equal(await page.locator('thead th[data-key="numObjs"]').getAttribute('aria-sort'), 'ascending');
    assert.deepEqual(await visibleCaches(page), [...desc].reverse());
    assert.equal(await page.locator('table.slabs [aria-sort]').count(), 1);

    // Numeric, not lexical: objsize 8192 sorts above 1024 and 192.
    await page.locator('thead th[data-key="objSize"] button').click();
    const bySize = [...shown].sort((a, b) => b.objSize - a.objSize).map((c) => c.name);
    assert.deepEqual(await visibleCaches(page), bySize);

    // Keyboard: focus the name header's button and press Enter, then Space.
    await page.locator('thead th[data-key="name"] button').focus();
    await page.keyboard.press('Enter');
    assert.equal(await page.locator('thead th[data-key="name"]').getAttribute('aria-sort'), 'ascending');
    assert.deepEqual(await visibleCaches(page), ['kmalloc-64', 'kmalloc-192', 'kmalloc-1k', 'kmalloc-8k']);
    await page.keyboard.press('Space');
    assert.equal(await page.locator('thead th[data-key="name"]').getAttribute('aria-sort'), 'descending');
    // A third press returns to the kernel's order (newest cache first, as /proc/slabinfo).
    await page.keyboard.press('Enter');
    assert.equal(await page.locator('table.slabs [aria-sort]').count(), 0);
    assert.deepEqual(
      await visibleCaches(page),
      shown.map((c) => c.name),
    );
    assertClean(problems);
    await context.close();
  });

  test('filters by name and hides empty caches by default', async () => {
    const { context, page, problems } = await openPanel();
    await showState(page, first);
    const all = first.slabinfo.caches.map((c) => c.name);
    const nonEmpty = first.slabinfo.caches.filter((c) => c.numObjs > 0).map((c) => c.name);
    assert.ok(nonEmpty.length < all.length / 2, 'the fixture has many empty caches');

    // Many caches are empty, so they start hidden.
    assert.equal(await page.locator('#kmem-hide-empty').isChecked(), true);
    assert.deepEqual(await visibleCaches(page), nonEmpty);

    await page.locator('input.filter').fill('192');
    assert.deepEqual(await visibleCaches(page), ['kmalloc-192']);
    await page.locator('input.filter').fill('KMALLOC-1');
    assert.deepEqual(await visibleCaches(page), ['kmalloc-1k', 'kmalloc-192']);
    await page.locator('input.filter').fill('no such cache');
    assert.deepEqual(await visibleCaches(page), []);
    assert.match(await page.locator('table.slabs tbody').innerText(), /No cache matches/);
    await page.locator('input.filter').fill('');

    // The toggle is a real checkbox: by label click and by keyboard.
    await page.getByLabel('Hide empty caches').uncheck();
    assert.deepEqual(await visibleCaches(page), all);
    await page.locator('#kmem-hide-empty').focus();
    await page.keyboard.press('Space');
    assert.equal(await page.locator('#kmem-hide-empty').isChecked(), true);
    assert.deepEqual(await visibleCaches(page), nonEmpty);

    // The filter survives a new state (and keeps its text and focus).
    await page.locator('input.filter').fill('kmalloc-3');
    await showState(page, second);
    assert.deepEqual(await visibleCaches(page), ['kmalloc-32']);
    assert.equal(await page.locator('input.filter').inputValue(), 'kmalloc-3');
    assertClean(problems);
    await context.close();
  });

  test('a second state highlights the changed rows with their deltas', async () => {
    const { context, page, problems } = await openPanel();
    await showState(page, first);
    await showState(page, second);

    const before192 = cacheIn(first, 'kmalloc-192');
    const after192 = cacheIn(second, 'kmalloc-192');
    assert.equal(after192.numObjs - before192.numObjs, 21, 'one more slab of 21 objects');
    const r = page.locator(row('kmalloc-192'));
    assert.match((await r.getAttribute('class')) ?? '', /\bchanged\b/);
    assert.equal((await r.locator('[data-key="numObjs"] .num').innerText()).trim(), fmt(after192.numObjs));
    assert.equal((await r.locator('[data-key="numObjs"] .delta').innerText()).trim(), '+21');
    assert.equal((await r.locator('[data-key="numSlabs"] .delta').innerText()).trim(), '+1');

    // Every cache: changed exactly when one of its counts changed, with each delta as the engine says.
    const keys = ['activeObjs', 'numObjs', 'numSlabs', 'partial', 'cpuSlabs', 'cpuPartial', 'liveObjects'] as const;
    const shown = await page.locator('table.slabs tbody tr[data-cache]').evaluateAll((rows) =>
      rows.map((r) => ({
        name: r.getAttribute('data-cache') ?? '',
        changed: r.classList.contains('changed'),
        deltas: Object.fromEntries(
          [...r.querySelectorAll('[data-key]')].map((td) => [
            td.getAttribute('data-key'),
            td.querySelector('.delta')?.textContent ?? '',
          ]),
        ),
      })),
    );
    for (const now of second.slabinfo.caches) {
      const was = cacheIn(first, now.name);
      const expected = keys.filter((k) => now[k] !== was[k]);
      const seen = shown.find((r) => r.name === now.name);
      if (expected.length === 0) {
        assert.ok(seen === undefined || !seen.changed, `${now.name} is not marked`);
        continue;
      }
      assert.ok(seen?.changed, `${now.name} is shown and marked`);
      for (const k of keys) {
        const d = now[k] - was[k];
        const text = d === 0 ? '' : d > 0 ? `+${fmt(d)}` : `\u2212${fmt(-d)}`;
        assert.equal(seen.deltas[k], text, `${now.name} ${k}`);
      }
    }
    // kmalloc-32 was empty and is not any more: shown (and marked) although empty caches are hidden.
    assert.equal(await page.locator(`${row('kmalloc-32')}.changed`).count(), 1);
    // Caches untouched between the stops are not marked.
    assert.doesNotMatch((await page.locator(row('kmalloc-1k')).getAttribute('class')) ?? '', /changed/);
    // The summary shows what moved too.
    assert.match(
      await page.locator('.summary').innerText(),
      new RegExp(`\\+${second.summary.events - first.summary.events}`),
    );
    assertClean(problems);
    await context.close();
  });

  test('malformed messages show an error line and keep the last good state', async () => {
    const { context, page, problems } = await openPanel();
    await showState(page, first);
    const c = cacheIn(first, 'kmalloc-192');
    const badZone = { ...first.buddyinfo.zones[0]!, nrFree: [1, 2, 'three'] };
    const garbage: unknown[] = [
      'hello',
      42,
      null,
      [],
      { type: 'nonsense' },
      { type: 'state' },
      { type: 'state', state: { ...first, slabinfo: { kind: 'slabinfo', caches: [{ name: 'x' }] } } },
      { type: 'state', state: { ...first, buddyinfo: { kind: 'buddyinfo', zones: [badZone] } } },
      { type: 'state', state: { ...first, summary: { ...first.summary, freePages: -1 } } },
      { type: 'state', state: { ...first, stop: { reason: 'step', line: 0 } } },
      { type: 'ended' },
      { type: 'state', state: { ...first, slabinfo: { kind: 'slabinfo', caches: [{ ...c, name: '<img src=x>' }] } } },
    ];
    // The last one is valid (a name is just text): it must render as text, not markup.
    for (const [i, message] of garbage.slice(0, -1).entries()) {
      await post(page, message);
      await page.waitForFunction(
        (text) => document.querySelector('.banner.error:not([hidden])')?.textContent?.includes(text) ?? false,
        i === 0 ? 'Ignored a malformed message:' : `(${i + 1} so far)`,
      );
    }
    const error = await page.locator('.banner.error').innerText();
    assert.match(error, /Ignored a malformed message \(11 so far\): message\.message is missing, not a string/);
    // The last good state is still on screen.
    assert.equal(await cellText(page, 'kmalloc-192', 'numObjs'), fmt(c.numObjs));
    assert.equal(await page.locator('.zone:first-child table.orders tbody tr:nth-child(2) td').count(), 11);

    // A name that looks like markup stays text.
    await post(page, garbage.at(-1));
    await page.waitForSelector('tr[data-cache="<img src=x>"]');
    assert.equal(await page.locator('table.slabs img').count(), 0);

    // Dismiss the error line by keyboard.
    await page.locator('.banner.error .dismiss').focus();
    await page.keyboard.press('Enter');
    assert.equal(await page.locator('.banner.error').isHidden(), true);
    assertClean(problems);
    await context.close();
  });

  test('a stop in an included file names it, and revealLine asks for that file', async () => {
    const { context, page } = await openPanel({ fakeVsCode: true });
    await page.waitForFunction(() => ((window as unknown as { __posted: unknown[] }).__posted ?? []).length > 0);
    await showState(page, { ...first, stop: { reason: 'breakpoint', line: 3, file: '/ws/lib/pools.kmem' } });
    const button = page.locator('.stop button.line');
    assert.equal(await button.innerText(), 'pools.kmem:3');
    await button.click();
    const posted = await page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted);
    assert.deepEqual(posted.slice(-1), [{ type: 'revealLine', line: 3, file: '/ws/lib/pools.kmem' }]);
    await context.close();
  });

  test('in VS Code: ready, revealLine, error reports, setState and restore', async () => {
    const { context, page, problems } = await openPanel({ fakeVsCode: true });
    await page.waitForFunction(() => ((window as unknown as { __posted: unknown[] }).__posted ?? []).length > 0);
    const posted = () => page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted);
    assert.deepEqual(await posted(), [{ type: 'ready' }]);

    await showState(page, first);
    await page.locator('.stop button.line').click();
    await page.locator('thead th[data-key="liveObjects"] button').click();
    await page.locator('input.filter').fill('kmalloc');
    await showState(page, second);
    await post(page, { type: 'state', state: 'bad' });
    await page.waitForSelector('.banner.error:not([hidden])');
    await post(page, { type: 'ended', message: 'the scenario finished' });
    await page.waitForSelector('.banner.ended:not([hidden])');

    const messages = await posted();
    assert.deepEqual(messages.slice(0, 2), [{ type: 'ready' }, { type: 'revealLine', line: 14 }]);
    assert.equal(messages.length, 3);
    assert.equal((messages[2] as { type: string }).type, 'error');
    assert.match((messages[2] as { message: string }).message, /state is "bad"/);

    // The saved snapshot restores a new panel without any message: the state, the highlights, the view.
    const saved = await page.evaluate(() => (window as unknown as { __saved: unknown }).__saved);
    await context.close();
    const again = await openPanel({ fakeVsCode: true, savedState: saved });
    await again.page.waitForSelector(row('kmalloc-192'));
    const restored = again.page.locator(`${row('kmalloc-192')} [data-key="numObjs"]`);
    assert.equal(await restored.locator('.num').innerText(), fmt(cacheIn(second, 'kmalloc-192').numObjs));
    assert.equal(await restored.locator('.delta').innerText(), '+21');
    assert.equal(await again.page.locator('thead th[data-key="liveObjects"]').getAttribute('aria-sort'), 'descending');
    assert.equal(await again.page.locator('input.filter').inputValue(), 'kmalloc');
    assert.match(await again.page.locator('.banner.ended').innerText(), /the scenario finished/);

    // A snapshot from some other build is ignored, not trusted.
    const junk = await openPanel({ fakeVsCode: true, savedState: { v: 1, state: { slabinfo: 7 }, ui: 'x' } });
    await junk.page.waitForSelector('.waiting');
    assertClean(problems);
    assertClean(again.problems);
    assertClean(junk.problems);
    await again.context.close();
    await junk.context.close();
  });

  test('the standalone report renders the same table offline, within its CSP', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmem-report-'));
    try {
      const file = join(dir, 'report.html');
      const html = reportHtml({
        title: 'KMem report: slab-growth.kmem',
        state: second,
        script: readFileSync(BUNDLE, 'utf8'),
        style: readFileSync(STYLE, 'utf8'),
      });
      writeFileSync(file, html);
      const context = await harness.browser.newContext({ viewport: { width: 1100, height: 800 }, offline: true });
      const { page, problems } = await openPage(context);
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(pathToFileURL(file).href);
      await page.waitForSelector(row('kmalloc-192'));
      const c = cacheIn(second, 'kmalloc-192');
      assert.equal(await cellText(page, 'kmalloc-192', 'activeObjs'), fmt(c.activeObjs));
      assert.equal(await cellText(page, 'kmalloc-192', 'numObjs'), fmt(c.numObjs));
      assert.equal(await cellText(page, 'kmalloc-192', 'numSlabs'), fmt(c.numSlabs));
      assert.equal(await page.locator('h1').innerText(), 'KMem report: slab-growth.kmem');
      // No host to ask: the stop's line is text, not a button.
      assert.equal(await page.locator('.stop button').count(), 0);
      assert.deepEqual(requests, [pathToFileURL(file).href], 'the report loads nothing but itself');
      assertClean(problems);
      mkdirSync(join(ROOT, 'test-results'), { recursive: true });
      await page.screenshot({ path: join(ROOT, 'test-results', 'slab-report.png'), fullPage: true });
      await context.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('screenshot: Dark Modern, 1100x700', async () => {
    // As in VS Code (the stop's line is a link); copied by hand to docs/images/slab-panel.png.
    const { context, page, problems } = await openPanel({ fakeVsCode: true });
    await showState(page, first);
    await showState(page, second);
    // The zone headers count what the CPUs' per-CPU lists hold (zoneinfo's pagesets), when there is any.
    for (const z of second.zoneinfo!.zones.filter((x) => x.populated)) {
      const cached = z.pagesets.reduce((n, p) => n + p.count, 0);
      const header = (await page.locator(`.zone[data-zone="${z.zone}"] h3`).innerText()).trim();
      if (cached > 0) assert.ok(header.endsWith(` · ${fmt(cached)} on per-CPU lists`), header);
      else assert.ok(!header.includes('per-CPU'), header);
    }
    mkdirSync(join(ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-results', 'slab-panel.png') });
    assertClean(problems);
    await context.close();
  });
});
