/*
 * Entry point of the slab panel bundle (dist/webview/slab.js). It runs in three places:
 *  - a VS Code webview (acquireVsCodeApi exists): posts {type:'ready'}, renders each 'state' message the
 *    host sends, and keeps the last state with vscode.setState so a hidden and reshown panel restores;
 *  - a standalone HTML report: renders the state baked into <script type="application/json" id="kmem-state">;
 *  - a plain page (tests, the report too): renders messages posted to the window.
 * Every incoming message is validated; a malformed one shows an error line and changes nothing else.
 */

import {
  explainHostToWebview,
  explainMachineState,
  isMachineState,
  type HostToWebview,
  type WebviewToHost,
} from '../protocol';
import { ROOT_ID, STATE_ID } from '../html';
import { SlabPanel, type Snapshot, type UiSettings } from './panel';
import { COLUMNS, type SortKey } from './model';

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare const acquireVsCodeApi: (() => VsCodeApi) | undefined;

function start(): void {
  const root = document.getElementById(ROOT_ID) ?? document.body.appendChild(document.createElement('main'));
  root.classList.add('kmem');
  const vscode = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : undefined;

  const panel = new SlabPanel(root, {
    post: vscode ? (message) => vscode.postMessage(message) : undefined,
    persist: vscode ? (snapshot) => vscode.setState(snapshot) : undefined,
  });

  if (vscode) {
    const saved = readSnapshot(vscode.getState());
    if (saved) panel.restore(saved);
  } else {
    const baked = document.getElementById(STATE_ID);
    if (baked?.textContent) {
      let state: unknown;
      try {
        state = JSON.parse(baked.textContent);
      } catch {
        panel.reportInvalid('the report state is not valid JSON');
      }
      if (isMachineState(state)) panel.setState(state);
      else if (state !== undefined) panel.reportInvalid(explainMachineState(state, 'report state') ?? 'bad state');
    }
  }

  window.addEventListener('message', (event: MessageEvent<unknown>) => {
    const why = explainHostToWebview(event.data);
    if (why !== undefined) {
      panel.reportInvalid(why);
      vscode?.postMessage({ type: 'error', message: `slab panel ignored a malformed message: ${why}` });
      return;
    }
    const message = event.data as HostToWebview;
    switch (message.type) {
      case 'state':
        panel.setState(message.state);
        break;
      case 'ended':
        panel.end(message.message);
        break;
    }
  });

  vscode?.postMessage({ type: 'ready' });
}

/** A snapshot from vscode.getState(), checked like any message: it may come from an older build. */
function readSnapshot(x: unknown): Snapshot | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const s = x as Partial<Record<keyof Snapshot, unknown>>;
  if (s.v !== 1) return undefined;
  const ui = (typeof s.ui === 'object' && s.ui !== null ? s.ui : {}) as Record<string, unknown>;
  const settings: UiSettings = {
    sortKey: COLUMNS.some((c) => c.key === ui.sortKey) ? (ui.sortKey as SortKey) : undefined,
    sortDir: ui.sortDir === 'ascending' ? 'ascending' : 'descending',
    filter: typeof ui.filter === 'string' ? ui.filter : '',
    hideEmpty: typeof ui.hideEmpty === 'boolean' ? ui.hideEmpty : undefined,
  };
  const state = isMachineState(s.state) ? s.state : undefined;
  return {
    v: 1,
    state,
    prev: state && isMachineState(s.prev) ? s.prev : undefined,
    ended: typeof s.ended === 'string' ? s.ended : undefined,
    ui: settings,
  };
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', start, { once: true });
} else {
  start();
}
