/*
 * The slab panel's view: the stop and machine summary, the slab caches table (sortable, filterable,
 * with the changes since the previous state), and the buddy free areas per zone with the zone's
 * watermarks (when the host sends /proc/zoneinfo). It draws whatever
 * MachineState it is given; main.ts decides where states come from and where the panel's requests go.
 *
 * The skeleton (header, toolbar, table head) is built once, so the filter box keeps its focus and caret
 * while states arrive; each state redraws only the rows and numbers.
 */

import type { ZoneinfoView, ZoneinfoZoneView } from '../../engine/inspect/procfs';
import type { BuddyZoneView, SlabCacheView } from '../../engine/inspect/views';
import type { MachineState, WebviewToHost } from '../protocol';
import { h, replaceChildren, type Child } from './dom';
import {
  COLUMNS,
  type CacheDelta,
  type Column,
  type SortDir,
  type SortKey,
  diffCaches,
  formatBytes,
  formatCount,
  formatDelta,
  formatOrderSize,
  formatPercent,
  isEmptyCache,
  matchesFilter,
  sortCaches,
  usage,
} from './model';

/** The view settings a reshown panel restores along with the state. */
export interface UiSettings {
  sortKey?: SortKey;
  sortDir: SortDir;
  filter: string;
  /** undefined: decided by the data (on when many caches are empty) until the user picks. */
  hideEmpty?: boolean;
}

/** What the panel keeps across a hide and reshow (vscode.setState). */
export interface Snapshot {
  readonly v: 1;
  readonly state?: MachineState;
  readonly prev?: MachineState;
  readonly ended?: string;
  readonly ui: UiSettings;
}

export interface PanelHost {
  /** Sends a request to the host; absent in a report, where there is no one to ask. */
  readonly post?: (message: WebviewToHost) => void;
  /** Called after every change worth keeping. */
  readonly persist?: (snapshot: Snapshot) => void;
}

export class SlabPanel {
  private state: MachineState | undefined;
  private prev: MachineState | undefined;
  private ended: string | undefined;
  private readonly ui: UiSettings = { sortDir: 'descending', filter: '' };
  private ignored = 0;

  private readonly stopEl = h('div', { class: 'stop' });
  private readonly summaryEl = h('dl', { class: 'summary' });
  private readonly endedEl = h('div', { class: 'banner ended', role: 'status', hidden: true });
  private readonly errorText = h('span', { class: 'error-text' });
  private readonly errorEl: HTMLElement;
  private readonly countEl = h('span', { class: 'count', 'aria-live': 'polite' });
  private readonly filterInput = h('input', {
    type: 'search',
    class: 'filter',
    placeholder: 'Filter by name',
    'aria-label': 'Filter caches by name',
    spellcheck: 'false',
    autocomplete: 'off',
  });
  private readonly hideEmptyInput = h('input', { type: 'checkbox', id: 'kmem-hide-empty' });
  private readonly headCells = new Map<SortKey, HTMLTableCellElement>();
  private readonly tbody = h('tbody');
  private readonly buddyEl = h('div', { class: 'zones' });
  private readonly waitingEl = h('p', { class: 'waiting' }, 'Waiting for the machine state…');
  private readonly contentEl: HTMLElement;

  constructor(
    root: HTMLElement,
    private readonly host: PanelHost = {},
  ) {
    const dismiss = h('button', { type: 'button', class: 'dismiss', title: 'Dismiss', 'aria-label': 'Dismiss' }, '×');
    dismiss.addEventListener('click', () => this.clearError());
    this.errorEl = h(
      'div',
      { class: 'banner error', role: 'alert', hidden: true },
      h('span', { class: 'icon', 'aria-hidden': 'true' }, '!'),
      this.errorText,
      dismiss,
    );

    this.filterInput.addEventListener('input', () => {
      this.ui.filter = this.filterInput.value;
      this.renderRows();
      this.save();
    });
    this.hideEmptyInput.addEventListener('change', () => {
      this.ui.hideEmpty = this.hideEmptyInput.checked;
      this.renderRows();
      this.save();
    });

    const title = document.body.classList.contains('kmem-report') ? h('h1', null, document.title) : null;
    this.contentEl = h(
      'div',
      { class: 'content', hidden: true },
      h('header', { class: 'top' }, this.stopEl, this.summaryEl),
      h(
        'section',
        { class: 'caches', 'aria-labelledby': 'kmem-caches-title' },
        h(
          'div',
          { class: 'toolbar' },
          h('h2', { id: 'kmem-caches-title' }, 'Slab caches'),
          this.countEl,
          h('span', { class: 'spacer' }),
          this.filterInput,
          h('label', { class: 'toggle', for: 'kmem-hide-empty' }, this.hideEmptyInput, 'Hide empty caches'),
        ),
        h('div', { class: 'table-wrap' }, this.buildTable()),
      ),
      h(
        'section',
        { class: 'buddy', 'aria-labelledby': 'kmem-buddy-title' },
        h(
          'div',
          { class: 'toolbar' },
          h('h2', { id: 'kmem-buddy-title' }, 'Buddy free areas'),
          h('span', { class: 'count' }, 'free blocks per order; bars: free pages (nr_free << order)'),
        ),
        this.buddyEl,
      ),
    );
    replaceChildren(root, title, this.errorEl, this.endedEl, this.waitingEl, this.contentEl);
  }

  /** Shows a new state; the previous one becomes the baseline for the change highlights. */
  setState(state: MachineState): void {
    this.prev = this.state;
    this.state = state;
    this.ended = undefined;
    this.render();
    this.save();
  }

  /** The session is over: says so, and keeps showing the last state. */
  end(message: string): void {
    this.ended = message;
    this.renderEnded();
    this.save();
  }

  /** A message that failed validation: one clear line, and nothing else changes. */
  reportInvalid(reason: string): void {
    this.ignored++;
    const times = this.ignored > 1 ? ` (${this.ignored} so far)` : '';
    this.errorText.textContent = `Ignored a malformed message${times}: ${reason}`;
    this.errorEl.hidden = false;
  }

  clearError(): void {
    this.ignored = 0;
    this.errorEl.hidden = true;
  }

  /** Restores a snapshot kept by a previous instance of the panel (already validated by the caller). */
  restore(snapshot: Snapshot): void {
    Object.assign(this.ui, snapshot.ui);
    this.filterInput.value = this.ui.filter;
    this.state = snapshot.state;
    this.prev = snapshot.state ? snapshot.prev : undefined;
    this.ended = snapshot.ended;
    this.render();
  }

  snapshot(): Snapshot {
    return { v: 1, state: this.state, prev: this.prev, ended: this.ended, ui: { ...this.ui } };
  }

  private save(): void {
    this.host.persist?.(this.snapshot());
  }

  // ---- drawing ----------------------------------------------------------------------------------------

  private render(): void {
    this.renderEnded();
    const state = this.state;
    this.waitingEl.hidden = state !== undefined;
    this.contentEl.hidden = state === undefined;
    if (state === undefined) return;
    this.renderStop(state);
    this.renderSummary(state);
    this.renderRows();
    this.renderBuddy(state.buddyinfo.zones, this.prev?.buddyinfo.zones, state.zoneinfo);
  }

  private renderEnded(): void {
    this.endedEl.hidden = this.ended === undefined;
    this.endedEl.textContent = this.ended === undefined ? '' : `Session ended: ${this.ended}`;
    document.body.classList.toggle('kmem-ended', this.ended !== undefined);
  }

  private renderStop(state: MachineState): void {
    const stop = state.stop;
    if (stop === undefined) {
      replaceChildren(this.stopEl, h('span', { class: 'stop-label' }, this.ended ? 'Finished' : 'Machine state'));
      return;
    }
    // A stop in an included file names it: `pools.kmem:12`.
    const where = stop.file?.slice(Math.max(stop.file.lastIndexOf('/'), stop.file.lastIndexOf('\\')) + 1);
    const label = where !== undefined ? `${where}:${stop.line}` : `line ${stop.line}`;
    let line: HTMLElement;
    if (this.host.post) {
      const post = this.host.post;
      line = h(
        'button',
        { type: 'button', class: 'line link', title: `Show line ${stop.line} in ${where ?? 'the scenario'}` },
        label,
      );
      line.addEventListener('click', () =>
        post(
          stop.file !== undefined
            ? { type: 'revealLine', line: stop.line, file: stop.file }
            : { type: 'revealLine', line: stop.line },
        ),
      );
    } else {
      line = h('span', { class: 'line' }, label);
    }
    replaceChildren(
      this.stopEl,
      h('span', { class: 'reason' }, stop.reason),
      h('span', { class: 'stop-label' }, 'Stopped at'),
      line,
      stop.description ? h('span', { class: 'description' }, stop.description) : null,
    );
  }

  private renderSummary(state: MachineState): void {
    const s = state.summary;
    const p = this.prev?.summary;
    const d = (now: number, was: number | undefined): Child => deltaBadge(was === undefined ? 0 : now - was);
    const free = s.totalPages > 0 ? s.freePages / s.totalPages : 0;
    replaceChildren(
      this.summaryEl,
      item('Memory', formatBytes(s.memoryBytes)),
      item('CPUs', formatCount(s.cpus)),
      item(
        'Free pages',
        h('span', { class: 'num' }, formatCount(s.freePages)),
        h('span', { class: 'of' }, `/ ${formatCount(s.totalPages)}`),
        d(s.freePages, p?.freePages),
        meter(free, `${formatPercent(free)} of pages free`),
      ),
      item(
        'Slab pages',
        h('span', { class: 'num' }, formatCount(s.slabPages)),
        h('span', { class: 'of' }, `(${formatBytes(s.slabPages * 4096)})`),
        d(s.slabPages, p?.slabPages),
      ),
      item('Events', h('span', { class: 'num' }, formatCount(s.events)), d(s.events, p?.events)),
    );
  }

  private buildTable(): HTMLTableElement {
    const headRow = h('tr');
    for (const col of COLUMNS) {
      const button = h(
        'button',
        { type: 'button', class: 'sort', title: col.title },
        col.label,
        h('span', { class: 'arrow', 'aria-hidden': 'true' }),
      );
      button.addEventListener('click', () => this.sortBy(col));
      const cls = `${col.numeric ? 'numeric' : 'text'}${col.delta ? ' delta-col' : ''}`;
      const th = h('th', { scope: 'col', class: cls, 'data-key': col.key }, button);
      this.headCells.set(col.key, th);
      headRow.appendChild(th);
    }
    return h(
      'table',
      { class: 'slabs', id: 'kmem-slabs' },
      h('caption', { class: 'sr-only' }, 'Slab caches, as /proc/slabinfo and slabtop show them'),
      h('thead', null, headRow),
      this.tbody,
    );
  }

  /** Header click: numbers sort largest first, names A to Z; again reverses; a third time restores kernel order. */
  private sortBy(col: Column): void {
    const first: SortDir = col.numeric ? 'descending' : 'ascending';
    if (this.ui.sortKey !== col.key) {
      this.ui.sortKey = col.key;
      this.ui.sortDir = first;
    } else if (this.ui.sortDir === first) {
      this.ui.sortDir = first === 'ascending' ? 'descending' : 'ascending';
    } else {
      this.ui.sortKey = undefined;
    }
    this.renderRows();
    this.save();
  }

  private renderRows(): void {
    const state = this.state;
    if (state === undefined) return;
    const caches = state.slabinfo.caches;
    const deltas = diffCaches(this.prev?.slabinfo.caches, caches);
    const empty = caches.filter(isEmptyCache).length;
    const hideEmpty = this.ui.hideEmpty ?? (empty >= 3 && empty * 3 >= caches.length);
    this.hideEmptyInput.checked = hideEmpty;

    for (const [key, th] of this.headCells) {
      if (key === this.ui.sortKey) th.setAttribute('aria-sort', this.ui.sortDir);
      else th.removeAttribute('aria-sort');
    }

    const shown = sortCaches(caches, this.ui.sortKey, this.ui.sortDir).filter(
      (c) => matchesFilter(c, this.ui.filter) && !(hideEmpty && isEmptyCache(c) && !deltas.has(c.name)),
    );
    const rows = document.createDocumentFragment();
    for (const c of shown) rows.appendChild(cacheRow(c, deltas.get(c.name)));
    if (shown.length === 0) {
      const why =
        caches.length === 0
          ? 'No slab caches.'
          : caches.some((c) => matchesFilter(c, this.ui.filter))
            ? 'Every cache is empty: untick "Hide empty caches" to list them.'
            : 'No cache matches the filter.';
      rows.appendChild(h('tr', { class: 'none' }, h('td', { colspan: COLUMNS.length }, why)));
    }
    replaceChildren(this.tbody, rows);
    // Room for the "+21" beside every number of a delta column, so the numbers stay right-aligned.
    this.tbody.parentElement?.classList.toggle('with-deltas', deltas.size > 0);

    const parts = [`${shown.length} of ${caches.length} caches`];
    const emptyHidden = hideEmpty ? caches.filter((c) => isEmptyCache(c) && !deltas.has(c.name)).length : 0;
    if (emptyHidden > 0) parts.push(`${emptyHidden} empty hidden`);
    if (deltas.size > 0) parts.push(`${deltas.size} changed`);
    this.countEl.textContent = parts.join(' · ');
  }

  private renderBuddy(
    zones: readonly BuddyZoneView[],
    prev: readonly BuddyZoneView[] | undefined,
    zoneinfo: ZoneinfoView | undefined,
  ): void {
    if (zones.length === 0) {
      replaceChildren(this.buddyEl, h('p', { class: 'muted' }, 'No zones.'));
      return;
    }
    replaceChildren(
      this.buddyEl,
      ...zones.map((z) =>
        zoneTable(
          z,
          prev?.find((p) => p.node === z.node && p.zone === z.zone),
          zoneinfo?.zones.find((w) => w.node === z.node && w.zone === z.zone),
        ),
      ),
    );
  }
}

// ---- pieces -----------------------------------------------------------------------------------------------

function item(label: string, ...value: Child[]): HTMLElement {
  return h('div', { class: 'item' }, h('dt', null, label), h('dd', null, ...value));
}

function deltaBadge(delta: number | undefined): Child {
  if (delta === undefined || delta === 0) return null;
  return h('span', { class: delta > 0 ? 'delta up' : 'delta down' }, formatDelta(delta));
}

/** A small horizontal bar (decorative; the number beside it says the same). */
function meter(fraction: number, title: string): HTMLElement {
  const fill = h('span', { class: 'fill' });
  fill.style.width = `${(Math.max(0, Math.min(1, fraction)) * 100).toFixed(2)}%`;
  return h('span', { class: 'meter', title, 'aria-hidden': 'true' }, fill);
}

function cacheRow(c: SlabCacheView, delta: CacheDelta | undefined): HTMLTableRowElement {
  const tr = h('tr', {
    class: [delta ? 'changed' : '', isEmptyCache(c) ? 'empty' : ''].join(' ').trim() || undefined,
    'data-cache': c.name,
  });
  for (const col of COLUMNS) {
    tr.appendChild(cell(c, col, delta));
  }
  return tr;
}

function cell(c: SlabCacheView, col: Column, delta: CacheDelta | undefined): HTMLTableCellElement {
  switch (col.key) {
    case 'name':
      return h(
        'th',
        { scope: 'row', class: 'text name', 'data-key': col.key },
        c.name,
        delta && delta.size === 0 ? h('span', { class: 'tag' }, 'new') : null,
      );
    case 'objSize': {
      const title = c.objectSize !== c.objSize ? `object_size ${c.objectSize}, slot ${c.objSize}` : undefined;
      return h('td', { class: 'numeric', 'data-key': col.key, title }, formatCount(c.objSize));
    }
    case 'pagesPerSlab':
      return h(
        'td',
        { class: 'numeric', 'data-key': col.key, title: `order ${c.order}` },
        formatCount(c.pagesPerSlab),
        h('span', { class: 'order' }, `o${c.order}`),
      );
    case 'usage': {
      const u = usage(c);
      return h(
        'td',
        { class: 'numeric usage', 'data-key': col.key },
        c.numObjs > 0 ? meter(u, `${formatCount(c.activeObjs)} of ${formatCount(c.numObjs)} objects active`) : null,
        h('span', { class: 'pct' }, c.numObjs > 0 ? formatPercent(u) : '–'),
      );
    }
    default: {
      const value = c[col.key];
      const d = delta?.get(col.key);
      return h(
        'td',
        { class: `numeric${col.delta ? ' delta-col' : ''}${d ? ' moved' : ''}`, 'data-key': col.key },
        h('span', { class: 'num' }, formatCount(value)),
        deltaBadge(d),
      );
    }
  }
}

/**
 * Where a zone's free pages stand against its watermarks. The kernel's check, __zone_watermark_ok(), fails
 * when free pages are at or below the mark: at or below low, the allocator's slow path would wake kswapd;
 * at or below min, only allocations that may dip into the reserve (atomic, __GFP_HIGH) would succeed.
 * (The engine computes the watermarks but does not enforce them yet; the badge says what Linux would do.)
 */
export type WatermarkLevel = 'ok' | 'low' | 'min';

export function watermarkLevel(w: ZoneinfoZoneView): WatermarkLevel {
  if (w.freePages <= w.min) return 'min';
  if (w.freePages <= w.low) return 'low';
  return 'ok';
}

/** The zone's watermark line: the numbers, a gauge with min/low/high marked, and a badge when low. */
function watermarkLine(w: ZoneinfoZoneView): HTMLElement {
  const level = watermarkLevel(w);
  // The gauge zooms in on the watermarks (they are ~1% of a zone): 0 to twice the high mark, so min, low
  // and high sit apart; free pages beyond the scale fill it.
  const scale = Math.max(1, 2 * w.high);
  const at = (n: number): string => `${((Math.max(0, Math.min(scale, n)) / scale) * 100).toFixed(2)}%`;
  const fill = h('span', { class: 'fill' });
  fill.style.width = at(w.freePages);
  const ticks = (['min', 'low', 'high'] as const).map((mark) => {
    const tick = h('span', { class: `tick ${mark}` });
    tick.style.left = at(w[mark]);
    return tick;
  });
  const gauge = h(
    'span',
    {
      class: 'wm-gauge',
      role: 'img',
      'aria-label': `${formatCount(w.freePages)} free pages; min ${formatCount(w.min)}, low ${formatCount(w.low)}, high ${formatCount(w.high)}`,
      title: `0 to ${formatCount(scale)} pages (twice the high watermark); ticks at min, low and high`,
    },
    fill,
    ...ticks,
  );
  const num = (label: string, value: number, cls?: string): HTMLElement =>
    h(
      'span',
      { class: cls ? `wm-item ${cls}` : 'wm-item', 'data-wm': label },
      `${label} `,
      h('span', { class: 'num' }, formatCount(value)),
    );
  const sep = (): HTMLElement => h('span', { class: 'sep' }, ' · ');
  const badge =
    level === 'min'
      ? h(
          'span',
          { class: 'wm-badge min', role: 'status', title: 'free pages ≤ WMARK_MIN: zone_watermark_ok(min) fails' },
          'below min: only atomic allocations',
        )
      : level === 'low'
        ? h(
            'span',
            { class: 'wm-badge low', role: 'status', title: 'free pages ≤ WMARK_LOW: zone_watermark_ok(low) fails' },
            'below low watermark: kswapd would wake',
          )
        : null;
  return h(
    'div',
    { class: `watermarks ${level}`, 'data-level': level },
    gauge,
    h(
      'span',
      { class: 'wm-numbers' },
      num('free', w.freePages, 'free'),
      h('span', { class: 'unit' }, ' pages'),
      sep(),
      num('min', w.min),
      sep(),
      num('low', w.low),
      sep(),
      num('high', w.high),
      sep(),
      num('managed', w.managed),
    ),
    badge,
  );
}

function zoneTable(z: BuddyZoneView, prev: BuddyZoneView | undefined, wm: ZoneinfoZoneView | undefined): HTMLElement {
  const pages = z.nrFree.map((n, order) => n * 2 ** order);
  const maxPages = Math.max(1, ...pages);
  const head = h('tr', null, h('th', { scope: 'col', class: 'text' }, 'Order'));
  const chart = h('tr', { class: 'chart', 'aria-hidden': 'true' }, h('td'));
  const nrFree = h('tr', null, h('th', { scope: 'row', class: 'text' }, 'nr_free'));
  const freePages = h('tr', null, h('th', { scope: 'row', class: 'text' }, 'Free pages'));
  z.nrFree.forEach((n, order) => {
    head.appendChild(
      h('th', { scope: 'col', class: 'numeric' }, String(order), h('span', { class: 'size' }, formatOrderSize(order))),
    );
    const bar = h('span', { class: n > 0 ? 'bar' : 'bar zero' });
    // Linear in pages, so the chart shows where free memory really is; any free block stays visible.
    const p = pages[order]!;
    bar.style.height = p > 0 ? `max(2px, ${((p / maxPages) * 100).toFixed(2)}%)` : '0';
    chart.appendChild(
      h('td', { title: `order ${order}: ${formatCount(p)} free pages` }, h('span', { class: 'bar-box' }, bar)),
    );
    const was = prev?.nrFree[order];
    const changed = was !== undefined && was !== n;
    nrFree.appendChild(
      h(
        'td',
        { class: changed ? 'numeric moved' : 'numeric', title: changed ? `was ${formatCount(was)}` : undefined },
        formatCount(n),
      ),
    );
    freePages.appendChild(h('td', { class: 'numeric' }, formatCount(p)));
  });
  const managed = z.managedPages > 0 ? z.freePages / z.managedPages : 0;
  // Frames cached on the CPUs' per-CPU lists are free for allocation but not in the zone's free lists.
  const cached = wm?.pagesets?.reduce((n, p) => n + p.count, 0) ?? 0;
  return h(
    'div',
    { class: 'zone', 'data-zone': z.zone },
    h(
      'h3',
      null,
      `Node ${z.node}, zone ${z.zone}`,
      h(
        'span',
        { class: 'muted' },
        ` · ${formatCount(z.freePages)} of ${formatCount(z.managedPages)} pages free (${formatPercent(managed)})` +
          (cached > 0 ? ` · ${formatCount(cached)} on per-CPU lists` : ''),
      ),
    ),
    wm ? watermarkLine(wm) : null,
    h(
      'table',
      { class: 'orders' },
      h('caption', { class: 'sr-only' }, `Free areas of node ${z.node}, zone ${z.zone}`),
      h('thead', null, head),
      h('tbody', null, chart, nrFree, freePages),
    ),
  );
}
