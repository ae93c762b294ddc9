/*
 * The scenario the suite debugs and the small DAP conveniences the tests share. The example is taken
 * from the opened workspace (a copy of examples/ made by the outer test) so the session runs on a file
 * the run owns; without a workspace it falls back to the extension's own examples/.
 */

import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { EXTENSION_ID } from '../lib/paths';
import { SLAB_GROWTH } from '../lib/scenario';

export async function activateExtension(): Promise<vscode.Extension<unknown>> {
  const extension = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(extension, `${EXTENSION_ID} is not loaded in this extension host (extensionDevelopmentPath?)`);
  await extension.activate();
  return extension;
}

export interface Example {
  readonly uri: vscode.Uri;
  readonly text: string;
  /** The folder to start debugging in (undefined without a workspace). */
  readonly folder: vscode.WorkspaceFolder | undefined;
}

export async function slabGrowthExample(): Promise<Example> {
  const found = await vscode.workspace.findFiles(`**/${SLAB_GROWTH}`, '**/node_modules/**', 1);
  const extension = await activateExtension();
  const uri = found[0] ?? vscode.Uri.file(join(extension.extensionPath, 'examples', SLAB_GROWTH));
  const document = await vscode.workspace.openTextDocument(uri);
  return { uri, text: document.getText(), folder: vscode.workspace.getWorkspaceFolder(uri) };
}

export function launchConfig(example: Example, extra: Record<string, unknown> = {}): vscode.DebugConfiguration {
  return {
    type: 'kmem',
    request: 'launch',
    name: `suite: ${SLAB_GROWTH}`,
    program: example.uri.fsPath,
    stopOnEntry: false,
    ...extra,
  };
}

/** Removes every breakpoint VS Code holds (from earlier tests or the UI). */
export function clearBreakpoints(): void {
  if (vscode.debug.breakpoints.length > 0) {
    vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
  }
}

export function lineBreakpoint(uri: vscode.Uri, line: number): vscode.SourceBreakpoint {
  return new vscode.SourceBreakpoint(new vscode.Location(uri, new vscode.Position(line - 1, 0)));
}

export async function stackFrames(session: vscode.DebugSession, threadId: number): Promise<DebugProtocol.StackFrame[]> {
  const trace = (await session.customRequest('stackTrace', {
    threadId,
    startFrame: 0,
    levels: 20,
  })) as DebugProtocol.StackTraceResponse['body'];
  return trace.stackFrames;
}

export async function topFrame(session: vscode.DebugSession, threadId: number): Promise<DebugProtocol.StackFrame> {
  const top = (await stackFrames(session, threadId))[0];
  assert.ok(top, 'stackTrace returned no frames');
  return top;
}

/**
 * The topmost frame in the scenario's source. At a function breakpoint the adapter puts a label frame
 * (presentationHint 'label', no source: "kmalloc #2: kmalloc-192 allocated ...") above it.
 */
export async function scenarioFrame(session: vscode.DebugSession, threadId: number): Promise<DebugProtocol.StackFrame> {
  const frames = await stackFrames(session, threadId);
  const frame = frames.find((f) => f.source?.path !== undefined);
  assert.ok(frame, `no frame with a source among ${JSON.stringify(frames)}`);
  return frame;
}

export async function scopes(session: vscode.DebugSession, frameId: number): Promise<DebugProtocol.Scope[]> {
  const body = (await session.customRequest('scopes', { frameId })) as DebugProtocol.ScopesResponse['body'];
  return body.scopes;
}

export async function variables(session: vscode.DebugSession, reference: number): Promise<DebugProtocol.Variable[]> {
  assert.ok(reference > 0, 'variablesReference 0 has no children');
  const body = (await session.customRequest('variables', {
    variablesReference: reference,
  })) as DebugProtocol.VariablesResponse['body'];
  return body.variables;
}

export function named<T extends { name: string }>(list: readonly T[], name: string): T {
  const found = list.find((item) => item.name === name);
  assert.ok(found, `no ${JSON.stringify(name)} among ${JSON.stringify(list.map((item) => item.name))}`);
  return found;
}

/** The thread to step: the stopped event's, or the first the adapter lists. */
export async function threadOf(session: vscode.DebugSession, stopped: DebugProtocol.StoppedEvent): Promise<number> {
  if (stopped.body.threadId !== undefined) {
    return stopped.body.threadId;
  }
  const body = (await session.customRequest('threads')) as DebugProtocol.ThreadsResponse['body'];
  const first = body.threads[0];
  assert.ok(first, 'the adapter lists no threads');
  return first.id;
}

/**
 * Re-evaluates `probe` until it returns a value (not undefined) or `timeoutMs` passes. For state that
 * changes without an event the test can subscribe to (the panel's last posted state).
 */
export async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not true within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
