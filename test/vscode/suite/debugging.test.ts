/*
 * One debug session on slab-growth.kmem, driven through the public API as a person would through the UI:
 * a line breakpoint on `kfree(first)`, the stop, the Locals and Machine scopes, the slab panel, `next`,
 * and `continue` to the end. The tests run in order and share the session.
 */

import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { SlabCacheView } from '../../../engine/inspect/views';
import { engineSlabCacheAt, lineOf, SLAB_GROWTH } from '../lib/scenario';
import { sessionEnded, type DapRecorder } from './dap';
import {
  clearBreakpoints,
  launchConfig,
  lineBreakpoint,
  named,
  scopes,
  slabGrowthExample,
  threadOf,
  topFrame,
  until,
  variables,
  type Example,
} from './fixture';

/** What `kmem._slabPanelState` returns: the last state posted to the slab-caches panel. */
export interface PanelState {
  readonly slabinfo: { readonly kind: 'slabinfo'; readonly caches: readonly SlabCacheView[] };
  readonly buddyinfo: unknown;
  readonly summary: unknown;
  readonly stop?: { readonly reason: string; readonly line: number };
}

const POINTER = /^0xffff888[0-9a-f]+/;
/** The slabinfo fields a panel row shows. */
const ROW_FIELDS = [
  'activeObjs',
  'numObjs',
  'objSize',
  'objPerSlab',
  'pagesPerSlab',
  'numSlabs',
  'liveObjects',
] as const;

function rowOf(cache: SlabCacheView): Record<string, number> {
  return Object.fromEntries(ROW_FIELDS.map((field) => [field, cache[field]]));
}

/** Opens the panel (idempotent) and waits until its last posted state is the one for a stop on `line`. */
async function panelStateAt(line: number, reason: string): Promise<PanelState> {
  await vscode.commands.executeCommand('kmem.showSlabCaches');
  return until(
    async () => {
      const state = await vscode.commands.executeCommand<PanelState | undefined>('kmem._slabPanelState');
      return state?.stop?.line === line && state.stop.reason === reason ? state : undefined;
    },
    10_000,
    `kmem._slabPanelState with stop { reason: ${reason}, line: ${line} }`,
  );
}

export function debuggingTests(dap: DapRecorder): void {
  suite('a debug session on slab-growth.kmem', () => {
    let example: Example;
    let session: vscode.DebugSession | undefined;
    let threadId = 0;

    suiteSetup(async () => {
      example = await slabGrowthExample();
      clearBreakpoints();
      await vscode.window.showTextDocument(example.uri);
    });

    suiteTeardown(async () => {
      await dap.stopAll();
      clearBreakpoints();
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    });

    test('stops on the line breakpoint at kfree(first) with reason "breakpoint"', async () => {
      const line = lineOf(example.text, 'kfree(first)');
      vscode.debug.addBreakpoints([lineBreakpoint(example.uri, line)]);
      const mark = dap.mark();
      const started = await vscode.debug.startDebugging(example.folder, launchConfig(example));
      assert.equal(started, true, 'startDebugging returned false');
      const stop = await dap.waitForStop('breakpoint', mark);
      session = stop.session;
      threadId = await threadOf(session, stop.event);
      const top = await topFrame(session, threadId);
      assert.equal(top.line, line, `top frame line (breakpoint on line ${line})`);
      assert.ok(top.source?.path?.endsWith('slab-growth.kmem'), `top frame source ${JSON.stringify(top.source)}`);
    });

    test('Locals hold first and second as direct-map pointers that expand into their kmalloc-192 object', async () => {
      assert.ok(session, 'no session (the breakpoint test failed)');
      const top = await topFrame(session, threadId);
      const locals = named(await scopes(session, top.id), 'Locals');
      const vars = await variables(session, locals.variablesReference);
      const first = named(vars, 'first');
      const second = named(vars, 'second');
      assert.match(first.value, POINTER, 'first');
      assert.match(second.value, POINTER, 'second');
      assert.notEqual(first.value, second.value);
      assert.ok(first.variablesReference > 0, 'first does not expand');
      const details = await variables(session, first.variablesReference);
      const text = details.map((v) => `${v.name}=${v.value}`).join('; ');
      assert.match(text, /kmalloc-192/, `first expands into ${text}`);
    });

    test('Machine holds "free blocks per order" and "slab caches" with kmalloc-192', async () => {
      assert.ok(session, 'no session (the breakpoint test failed)');
      const top = await topFrame(session, threadId);
      const machine = named(await scopes(session, top.id), 'Machine');
      const vars = await variables(session, machine.variablesReference);
      const orders = named(vars, 'free blocks per order');
      const caches = named(vars, 'slab caches');
      assert.ok(orders.variablesReference > 0, '"free blocks per order" does not expand');
      const cacheRows = await variables(session, caches.variablesReference);
      assert.ok(
        cacheRows.some((v) => v.name.includes('kmalloc-192') || v.value.includes('kmalloc-192')),
        `slab caches: ${cacheRows.map((v) => v.name).join(', ')}`,
      );
    });

    test('the slab panel shows kmalloc-192 as the engine computes it at the stop', async () => {
      const line = lineOf(example.text, 'kfree(first)');
      const state = await panelStateAt(line, 'breakpoint');
      assert.equal(state.slabinfo.kind, 'slabinfo');
      const shown = state.slabinfo.caches.find((c) => c.name === 'kmalloc-192');
      assert.ok(shown, `no kmalloc-192 among ${state.slabinfo.caches.map((c) => c.name).join(', ')}`);
      const expected = engineSlabCacheAt(example.text, SLAB_GROWTH, line, 'kmalloc-192');
      assert.deepEqual(rowOf(shown), rowOf(expected));
      // The example's own claims: 129..192 bytes come from kmalloc-192; two objects are live.
      assert.equal(shown.objSize, 192);
      assert.equal(shown.liveObjects, 2);
    });

    test('next steps over kfree(first) and stops with reason "step" on the next line', async () => {
      assert.ok(session, 'no session (the breakpoint test failed)');
      const mark = dap.mark();
      await session.customRequest('next', { threadId });
      const stop = await dap.waitForStop('step', mark);
      assert.equal(stop.session.id, session.id);
      const top = await topFrame(session, threadId);
      assert.equal(top.line, lineOf(example.text, 'let again'));
    });

    test('the panel re-renders at the step: one kmalloc-192 object fewer is live', async () => {
      const line = lineOf(example.text, 'let again');
      const state = await panelStateAt(line, 'step');
      const shown = state.slabinfo.caches.find((c) => c.name === 'kmalloc-192');
      assert.ok(shown, 'no kmalloc-192 after the step');
      const expected = engineSlabCacheAt(example.text, SLAB_GROWTH, line, 'kmalloc-192');
      assert.deepEqual(rowOf(shown), rowOf(expected));
      assert.equal(shown.liveObjects, 1);
    });

    test('continue runs the scenario to its end and the session terminates', async () => {
      assert.ok(session, 'no session (the breakpoint test failed)');
      const mark = dap.mark();
      const ended = sessionEnded(session, 30_000);
      await session.customRequest('continue', { threadId });
      await dap.waitForEvent<DebugProtocol.TerminatedEvent>('terminated', mark, 30_000);
      await ended;
      const stops = dap.eventsSince<DebugProtocol.StoppedEvent>('stopped', mark);
      assert.deepEqual(
        stops.map((e) => e.body.reason),
        [],
        `stopped again after continue:\n${dap.describe(mark)}`,
      );
    });
  });
}
