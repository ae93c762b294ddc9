/*
 * The webview's pure parts, without a browser: the message guards (on engine-made states and on
 * garbage), the page builders (CSP, nonce, escaping of the baked-in state), and the table model
 * (sorting, the filter, deltas, formatting).
 */

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeNonce, panelHtml, reportHtml } from '../../webview/html';
import {
  explainHostToWebview,
  isHostToWebview,
  isMachineState,
  isWebviewToHost,
  type MachineState,
} from '../../webview/protocol';
import {
  compareNames,
  diffCaches,
  formatBytes,
  formatDelta,
  formatOrderSize,
  formatPercent,
  isEmptyCache,
  matchesFilter,
  sortCaches,
} from '../../webview/slab/model';
import { scenarioStates } from './fixtures';

const { first, second } = scenarioStates();

describe('protocol guards', () => {
  test('accept the engine’s states, with and without a stop, after a JSON round trip', () => {
    assert.equal(isHostToWebview({ type: 'state', state: first }), true);
    const { stop: _stop, ...noStop } = second;
    assert.equal(isHostToWebview({ type: 'state', state: noStop }), true);
    assert.equal(isHostToWebview(JSON.parse(JSON.stringify({ type: 'state', state: second }))), true);
    assert.equal(isHostToWebview({ type: 'ended', message: 'done' }), true);
    assert.equal(isMachineState(first), true);
  });

  test('reject garbage with a reason that names the bad field', () => {
    const cases: [unknown, RegExp][] = [
      [undefined, /message is missing, not an object/],
      ['state', /message is "state", not an object/],
      [[{ type: 'state' }], /message is an array/],
      [{ type: 'frobnicate' }, /unknown message type "frobnicate"/],
      [{ type: 'ended', message: 7 }, /message\.message is 7, not a string/],
      [{ type: 'state', state: null }, /state is null/],
      [{ type: 'state', state: { ...first, slabinfo: { kind: 'meminfo', caches: [] } } }, /slabinfo\.kind/],
      [
        {
          type: 'state',
          state: { ...first, slabinfo: { kind: 'slabinfo', caches: [{ ...first.slabinfo.caches[0], numObjs: NaN }] } },
        },
        /state\.slabinfo\.caches\[0\]\.numObjs is NaN, not a count/,
      ],
      [
        { type: 'state', state: { ...first, summary: { ...first.summary, events: 1.5 } } },
        /state\.summary\.events is 1\.5/,
      ],
      [
        {
          type: 'state',
          state: { ...first, buddyinfo: { kind: 'buddyinfo', zones: [{ ...first.buddyinfo.zones[0], nrFree: [] }] } },
        },
        /nrFree is an array, not an array of 1 to 32 counts/,
      ],
      [{ type: 'state', state: { ...first, stop: { reason: 'step', line: -3 } } }, /state\.stop\.line is -3/],
      [{ type: 'state', state: { ...first, stop: { reason: 'step', line: 3, description: {} } } }, /description/],
      [{ type: 'state', state: { ...first, stop: { reason: 'step', line: 3, file: ['x'] } } }, /state\.stop\.file is/],
    ];
    for (const [message, reason] of cases) {
      assert.equal(isHostToWebview(message), false, JSON.stringify(message)?.slice(0, 80));
      assert.match(explainHostToWebview(message) ?? '', reason);
    }
  });

  test('zoneinfo: optional, and checked when present', () => {
    assert.ok(first.zoneinfo, 'the fixture carries the engine’s zoneinfo view');
    assert.equal(first.zoneinfo.zones.length, 4);
    // Valid: the engine's view, also after a JSON round trip.
    assert.equal(isMachineState(first), true);
    assert.equal(isHostToWebview(JSON.parse(JSON.stringify({ type: 'state', state: first }))), true);
    // Missing: a state from an older host or report is still valid.
    const { zoneinfo, ...old } = first;
    assert.equal(isMachineState(old), true);
    assert.equal(isHostToWebview({ type: 'state', state: old }), true);
    // Malformed: each names the bad field.
    const zone0 = zoneinfo!.zones[0]!;
    const withZone = (z: unknown) => ({ ...first, zoneinfo: { ...zoneinfo, zones: [z] } });
    const cases: [unknown, RegExp][] = [
      [{ ...first, zoneinfo: null }, /state\.zoneinfo is null, not an object/],
      [{ ...first, zoneinfo: [] }, /state\.zoneinfo is an array, not an object/],
      [
        { ...first, zoneinfo: { ...zoneinfo, kind: 'buddyinfo' } },
        /state\.zoneinfo\.kind is "buddyinfo", not "zoneinfo"/,
      ],
      [{ ...first, zoneinfo: { ...zoneinfo, minFreeKbytes: -1 } }, /state\.zoneinfo\.minFreeKbytes is -1, not a count/],
      [{ ...first, zoneinfo: { ...zoneinfo, zones: 'DMA' } }, /state\.zoneinfo\.zones is "DMA", not an array/],
      [{ ...first, zoneinfo: { ...zoneinfo, zones: new Array(9).fill(zone0) } }, /not an array of at most 8 zones/],
      [withZone(7), /state\.zoneinfo\.zones\[0\] is 7, not an object/],
      [withZone({ ...zone0, zone: 1 }), /zones\[0\]\.zone is 1, not a string/],
      [withZone({ ...zone0, populated: 'yes' }), /zones\[0\]\.populated is "yes", not a boolean/],
      [withZone({ ...zone0, low: 2.5 }), /zones\[0\]\.low is 2\.5, not a count/],
      [withZone({ ...zone0, min: undefined }), /zones\[0\]\.min is missing, not a count/],
      [withZone({ ...zone0, freePages: '3' }), /zones\[0\]\.freePages is "3", not a count/],
      [withZone({ ...zone0, protection: {} }), /zones\[0\]\.protection is an object, not an array/],
      [withZone({ ...zone0, protection: [0, NaN] }), /zones\[0\]\.protection\[1\] is NaN, not a count/],
    ];
    for (const [state, reason] of cases) {
      assert.equal(isMachineState(state), false, JSON.stringify(state)?.slice(0, 80));
      assert.match(explainHostToWebview({ type: 'state', state }) ?? '', reason);
    }
  });

  test('never throw, even on hostile objects', () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('gotcha');
        },
      },
    );
    const getter = {
      type: 'state',
      get state(): never {
        throw new Error('gotcha');
      },
    };
    for (const x of [hostile, getter, Symbol('x'), () => 1, 10n, Object.create(null)]) {
      assert.doesNotThrow(() => isHostToWebview(x));
      assert.equal(isHostToWebview(x), false);
      assert.doesNotThrow(() => isWebviewToHost(x));
    }
    assert.equal(explainHostToWebview(getter), 'message could not be read');
  });

  test('webview -> host messages', () => {
    assert.equal(isWebviewToHost({ type: 'ready' }), true);
    assert.equal(isWebviewToHost({ type: 'revealLine', line: 1 }), true);
    assert.equal(isWebviewToHost({ type: 'revealLine', line: 1, file: '/ws/lib/pools.kmem' }), true);
    assert.equal(isWebviewToHost({ type: 'error', message: 'x' }), true);
    for (const bad of [
      { type: 'revealLine', line: 0 },
      { type: 'revealLine', line: 2.5 },
      { type: 'revealLine', line: '3' },
      { type: 'revealLine', line: 3, file: 7 },
      { type: 'error' },
      { type: 'state', state: first },
      null,
    ]) {
      assert.equal(isWebviewToHost(bad), false, JSON.stringify(bad)?.slice(0, 60));
    }
  });
});

describe('page builders', () => {
  test('makeNonce: 32 characters of [A-Za-z0-9], fresh each time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const n = makeNonce();
      assert.match(n, /^[A-Za-z0-9]{32}$/);
      seen.add(n);
    }
    assert.equal(seen.size, 200);
  });

  test('panelHtml: strict CSP, the script by nonce, the stylesheet from cspSource, escaped text', () => {
    const html = panelHtml({
      cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
      nonce: 'abc123',
      scriptUri: 'https://x/slab.js?a=1&b=2',
      styleUri: 'https://x/slab.css',
      title: 'Slabs <script>alert(1)</script>',
    });
    const csp = /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html)?.[1] ?? '';
    assert.match(csp, /^default-src &#39;none&#39;;/);
    assert.match(csp, /script-src &#39;nonce-abc123&#39;/);
    assert.match(csp, /style-src https:\/\/file\+\.vscode-resource\.vscode-cdn\.net(;|$)/);
    assert.doesNotMatch(csp, /unsafe/);
    assert.match(html, /<script nonce="abc123" src="https:\/\/x\/slab\.js\?a=1&#38;b=2"><\/script>/);
    assert.match(html, /<link rel="stylesheet" href="https:\/\/x\/slab\.css">/);
    assert.equal(html.match(/<script/g)?.length, 1);
    assert.doesNotMatch(html, /<style/);
  });

  test('reportHtml: one nonce for the inline script and style, the state intact and unable to close its tag', () => {
    const sneaky: MachineState = {
      ...second,
      slabinfo: {
        kind: 'slabinfo',
        caches: [
          { ...second.slabinfo.caches[0]!, name: '</script><script>alert(1)</script><!--' },
          ...second.slabinfo.caches.slice(1),
        ],
      },
      stop: { reason: 'step', line: 3, description: '\u2028 </SCRIPT> & "quotes"' },
    };
    const script = 'console.log("</script>");\n//# sourceMappingURL=slab.js.map\n';
    const style = 'body { color: red; }\n/*# sourceMappingURL=slab.css.map */\n';
    const html = reportHtml({ title: 'Report', state: sneaky, script, style });

    const nonce = /script-src 'nonce-([A-Za-z0-9]{32})'/.exec(html.replace(/&#39;/g, "'"))?.[1];
    assert.ok(nonce, 'CSP names a script nonce');
    assert.match(html.replace(/&#39;/g, "'"), new RegExp(`default-src 'none'; style-src 'nonce-${nonce}'`));
    assert.match(html, new RegExp(`<style nonce="${nonce}">`));
    assert.match(html, new RegExp(`<script nonce="${nonce}">`));
    // Exactly two script elements: the data block and the bundle; nothing in the data closes a tag.
    assert.equal(html.match(/<script/gi)?.length, 2);
    assert.equal(html.match(/<\/script/gi)?.length, 2);
    assert.doesNotMatch(html, /<!--/);
    assert.doesNotMatch(html, /sourceMappingURL/);
    const json = /<script type="application\/json" id="kmem-state">([^<]*)<\/script>/.exec(html)?.[1];
    assert.ok(json, 'the state is baked in');
    assert.deepEqual(JSON.parse(json), JSON.parse(JSON.stringify(sneaky)));
    assert.notEqual(
      /nonce-([A-Za-z0-9]{32})/.exec(reportHtml({ title: 'R', state: first, script, style }))?.[1],
      nonce,
    );
  });
});

describe('table model', () => {
  const caches = second.slabinfo.caches;

  test('sorts numbers numerically, names naturally (sizes included), stably', () => {
    const byObjs = sortCaches(caches, 'numObjs', 'descending').map((c) => c.numObjs);
    assert.deepEqual(
      byObjs,
      [...byObjs].sort((a, b) => b - a),
    );
    const names = sortCaches(caches, 'name', 'ascending').map((c) => c.name);
    // Natural order: sizes by value within each kind, the kinds alphabetically (a digit sorts before a letter,
    // so kmalloc-8 comes before kmalloc-cg-8).
    const sizes = ['8', '16', '32', '64', '96', '128', '192', '256', '512', '1k', '2k', '4k', '8k'];
    assert.deepEqual(
      names,
      ['dma-kmalloc-', 'kmalloc-', 'kmalloc-cg-', 'kmalloc-rcl-'].flatMap((prefix) => sizes.map((n) => prefix + n)),
    );
    // Ties keep the kernel's order in both directions.
    const zeros = caches.filter((c) => c.numObjs === 0).map((c) => c.name);
    assert.deepEqual(
      sortCaches(caches, 'numObjs', 'descending')
        .filter((c) => c.numObjs === 0)
        .map((c) => c.name),
      zeros,
    );
    assert.equal(sortCaches(caches, undefined, 'ascending'), caches);
    assert.ok(compareNames('dma-kmalloc-1k', 'dma-kmalloc-512') > 0);
  });

  test('filter, empty caches, deltas', () => {
    assert.deepEqual(
      caches.filter((c) => matchesFilter(c, ' KMALLOC-1 ')).map((c) => c.name),
      ['dma-kmalloc-1k', 'dma-kmalloc-128', 'dma-kmalloc-16', 'dma-kmalloc-192'].concat([
        'kmalloc-1k',
        'kmalloc-128',
        'kmalloc-16',
        'kmalloc-192',
      ]),
    );
    assert.equal(caches.filter((c) => matchesFilter(c, '')).length, caches.length);
    // 52 caches (13 sizes x 4 kinds); the scenario used 5 kmalloc- caches, the other 47 are empty.
    assert.equal(caches.filter(isEmptyCache).length, 47);

    assert.equal(diffCaches(undefined, caches).size, 0);
    assert.equal(diffCaches(caches, caches).size, 0);
    const d = diffCaches(first.slabinfo.caches, caches);
    assert.deepEqual([...d.keys()].sort(), ['kmalloc-192', 'kmalloc-32', 'kmalloc-64']);
    assert.equal(d.get('kmalloc-192')?.get('numObjs'), 21);
    assert.equal(d.get('kmalloc-192')?.get('numSlabs'), 1);
    assert.equal(d.get('kmalloc-64')?.get('liveObjects'), -10);
    // A cache that did not exist before is new: it is in the map with its changes from zero.
    const grown = diffCaches(first.slabinfo.caches.slice(1), first.slabinfo.caches);
    assert.ok(grown.has(first.slabinfo.caches[0]!.name));
  });

  test('formatting', () => {
    assert.equal(formatDelta(21), '+21');
    assert.equal(formatDelta(-1234), '\u22121,234');
    assert.equal(formatBytes(256 * 1024 * 1024), '256 MiB');
    assert.equal(formatBytes(72 * 1024), '72 KiB');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(64 * 1024 ** 3), '64 GiB');
    assert.deepEqual([0, 1, 8, 10].map(formatOrderSize), ['4K', '8K', '1M', '4M']);
    assert.equal(formatPercent(0), '0%');
    assert.equal(formatPercent(1), '100%');
    assert.equal(formatPercent(64 / 84), '76%');
    assert.equal(formatPercent(65470 / 65536), '99.9%');
    assert.equal(formatPercent(0.99999), '>99.99%');
  });
});
