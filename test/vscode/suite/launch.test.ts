/*
 * The other ways into a stop: F5 with no launch.json (the configuration provider debugs the active
 * file), stopOnEntry, and function breakpoints on kmalloc, kfree and a cache name. Each test starts and
 * ends its own session.
 */

import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { lineOf } from '../lib/scenario';
import type { DapRecorder } from './dap';
import {
  clearBreakpoints,
  launchConfig,
  lineBreakpoint,
  scenarioFrame,
  slabGrowthExample,
  threadOf,
  topFrame,
  type Example,
} from './fixture';

export function launchTests(dap: DapRecorder): void {
  suite('starting a session', () => {
    let example: Example;

    suiteSetup(async () => {
      example = await slabGrowthExample();
    });

    setup(() => clearBreakpoints());

    teardown(async () => {
      clearBreakpoints();
      await dap.stopAll();
    });

    test('F5 with no launch.json debugs the active .kmem file', async () => {
      const line = lineOf(example.text, 'kfree(first)');
      vscode.debug.addBreakpoints([lineBreakpoint(example.uri, line)]);
      await vscode.window.showTextDocument(example.uri);
      const mark = dap.mark();
      await vscode.commands.executeCommand('workbench.action.debug.start');
      const stop = await dap.waitForStop('breakpoint', mark);
      const top = await topFrame(stop.session, await threadOf(stop.session, stop.event));
      assert.equal(top.line, line);
      assert.equal(stop.session.configuration.type, 'kmem');
      assert.ok(
        String(stop.session.configuration.program).endsWith('slab-growth.kmem'),
        `program ${String(stop.session.configuration.program)}`,
      );
    });

    test('stopOnEntry stops with reason "entry" in the scenario', async () => {
      const mark = dap.mark();
      assert.equal(
        await vscode.debug.startDebugging(example.folder, launchConfig(example, { stopOnEntry: true })),
        true,
      );
      const stop = await dap.waitForStop('entry', mark);
      const top = await topFrame(stop.session, await threadOf(stop.session, stop.event));
      assert.ok(top.source?.path?.endsWith('slab-growth.kmem'), `entry frame source ${JSON.stringify(top.source)}`);
      assert.ok(top.line >= 1 && top.line <= lineOf(example.text, 'let first'), `entry line ${top.line}`);
    });

    test('function breakpoint kmalloc-192 stops with reason "function breakpoint" at its first two allocations', async () => {
      vscode.debug.addBreakpoints([new vscode.FunctionBreakpoint('kmalloc-192')]);
      let mark = dap.mark();
      assert.equal(await vscode.debug.startDebugging(example.folder, launchConfig(example)), true);
      let stop = await dap.waitForStop('function breakpoint', mark);
      const threadId = await threadOf(stop.session, stop.event);
      assert.equal((await scenarioFrame(stop.session, threadId)).line, lineOf(example.text, 'let first'));
      mark = dap.mark();
      await stop.session.customRequest('continue', { threadId });
      stop = await dap.waitForStop('function breakpoint', mark);
      assert.equal((await scenarioFrame(stop.session, threadId)).line, lineOf(example.text, 'let second'));
    });

    test('function breakpoints kfree and kmalloc stop where the scenario frees and allocates', async () => {
      vscode.debug.addBreakpoints([new vscode.FunctionBreakpoint('kfree')]);
      let mark = dap.mark();
      assert.equal(await vscode.debug.startDebugging(example.folder, launchConfig(example)), true);
      let stop = await dap.waitForStop('function breakpoint', mark);
      const threadId = await threadOf(stop.session, stop.event);
      assert.equal((await scenarioFrame(stop.session, threadId)).line, lineOf(example.text, 'kfree(first)'));
      await dap.stopAll();

      clearBreakpoints();
      vscode.debug.addBreakpoints([new vscode.FunctionBreakpoint('kmalloc')]);
      mark = dap.mark();
      assert.equal(await vscode.debug.startDebugging(example.folder, launchConfig(example)), true);
      stop = await dap.waitForStop('function breakpoint', mark);
      const top = await scenarioFrame(stop.session, await threadOf(stop.session, stop.event));
      assert.equal(top.line, lineOf(example.text, 'let first'));
    });
  });
}
