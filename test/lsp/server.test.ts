/*
 * The language server over its real protocol: `node dist/server.js --stdio` spawned as VS Code's
 * language client would, spoken to with vscode-jsonrpc. Build first: `node scripts/build.mjs`.
 * Every wait is for a notification or a response; the per-test timeout only bounds a hang.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createMessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { DiagnosticSeverity, ErrorCodes, MessageType, TextDocumentSyncKind } from 'vscode-languageserver/node';
import { codesAndRanges, LspTestClient } from './lspClient';

const root = new URL('../../', import.meta.url);
const serverPath = fileURLToPath(new URL('dist/server.js', root));
const examplePath = fileURLToPath(new URL('examples/slab-growth.kmem', root));
const TIMEOUT = { timeout: 15_000 };

/** A scenario with one typo (GFP_KERNL) on line 2, characters 21..30, and the same scenario fixed. */
const BROKEN_URI = 'file:///scenarios/broken.kmem';
const BROKEN = [
  '# broken.kmem: one typo',
  'machine { memory 64M; cpus 1 }',
  'let p = kmalloc(192, GFP_KERNL)',
  'kfree(p)',
  '',
].join('\n');
const FIXED = BROKEN.replace('GFP_KERNL', 'GFP_KERNEL');
const EXPECTED = {
  code: 'KM2001',
  range: { start: { line: 2, character: 21 }, end: { line: 2, character: 30 } },
};
/** Incremental edits between the two. */
const FIX = { range: EXPECTED.range, text: 'GFP_KERNEL' };
const BREAK = {
  range: { start: { line: 2, character: 21 }, end: { line: 2, character: 31 } },
  text: 'GFP_KERNL',
};

describe('kmem language server over stdio', () => {
  let child: ChildProcess;
  let client: LspTestClient;
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  let stderr = '';

  before(() => {
    assert.ok(existsSync(serverPath), `${serverPath} is missing: run node scripts/build.mjs first`);
    child = spawn(process.execPath, [serverPath, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const connection = createMessageConnection(
      new StreamMessageReader(child.stdout!),
      new StreamMessageWriter(child.stdin!),
    );
    connection.onError(() => undefined); // the end of the stream after exit is expected
    client = new LspTestClient(connection);
  });

  after(() => {
    client.connection.dispose();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill();
    }
    if (stderr !== '') {
      console.log(`server stderr:\n${stderr}`);
    }
  });

  it('initializes with incremental document sync', TIMEOUT, async () => {
    const result = await client.initialize(process.pid);
    assert.deepEqual(result.capabilities.textDocumentSync, {
      openClose: true,
      change: TextDocumentSyncKind.Incremental,
    });
    assert.equal(result.serverInfo?.name, 'kmem-language-server');
  });

  it('publishes the error of a broken document with its code and exact range', TIMEOUT, async () => {
    await client.open(BROKEN_URI, BROKEN, 1);
    const published = await client.nextDiagnostics(BROKEN_URI);
    assert.equal(published.version, 1);
    assert.deepEqual(codesAndRanges(published.diagnostics), [EXPECTED]);
    const [diagnostic] = published.diagnostics;
    assert.equal(diagnostic!.source, 'kmem');
    assert.equal(diagnostic!.severity, DiagnosticSeverity.Error);
    assert.equal(typeof diagnostic!.message, 'string');
    assert.match(diagnostic!.message as string, /GFP_KERNL/);
  });

  it('clears the diagnostics when an incremental edit fixes the document', TIMEOUT, async () => {
    await client.change(BROKEN_URI, 2, FIX);
    const published = await client.nextDiagnostics(BROKEN_URI);
    assert.equal(published.version, 2);
    assert.deepEqual(published.diagnostics, []);
  });

  it('reports the error again when an edit breaks the document again', TIMEOUT, async () => {
    await client.change(BROKEN_URI, 3, BREAK);
    const published = await client.nextDiagnostics(BROKEN_URI);
    assert.equal(published.version, 3);
    assert.deepEqual(codesAndRanges(published.diagnostics), [EXPECTED]);
  });

  it('lets the latest version win a burst of edits', TIMEOUT, async () => {
    await client.change(BROKEN_URI, 4, { text: FIXED });
    await client.change(BROKEN_URI, 5, { text: BROKEN });
    await client.change(BROKEN_URI, 6, { text: FIXED });
    const published = await client.diagnosticsUntil(BROKEN_URI, 6);
    const versions = published.map((p) => p.version ?? -1);
    assert.deepEqual(
      versions,
      [...versions].sort((a, b) => a - b),
      `publications out of order: ${versions.join(', ')}`,
    );
    assert.deepEqual(published.at(-1)!.diagnostics, []);
  });

  it('clears the diagnostics of a closed document', TIMEOUT, async () => {
    await client.change(BROKEN_URI, 7, { text: BROKEN });
    assert.deepEqual(codesAndRanges((await client.nextDiagnostics(BROKEN_URI, 7)).diagnostics), [EXPECTED]);
    await client.close(BROKEN_URI);
    const published = await client.nextDiagnostics(BROKEN_URI);
    assert.equal(published.version, undefined);
    assert.deepEqual(published.diagnostics, []);
  });

  it('finds nothing wrong with examples/slab-growth.kmem', TIMEOUT, async () => {
    const uri = pathToFileURL(examplePath).href;
    await client.open(uri, readFileSync(examplePath, 'utf8'), 1);
    const published = await client.nextDiagnostics(uri);
    assert.deepEqual(published.diagnostics, []);
    await client.close(uri);
    assert.deepEqual((await client.nextDiagnostics(uri)).diagnostics, []);
  });

  it('answers an unknown request with MethodNotFound and keeps working', TIMEOUT, async () => {
    await assert.rejects(client.connection.sendRequest('kmem/noSuchRequest', { x: 1 }), (error: unknown) => {
      assert.ok(error instanceof ResponseError);
      assert.equal(error.code, ErrorCodes.MethodNotFound);
      return true;
    });
    const uri = 'untitled:after-unknown-request';
    await client.open(uri, BROKEN, 1);
    assert.deepEqual(codesAndRanges((await client.nextDiagnostics(uri)).diagnostics), [EXPECTED]);
    await client.close(uri);
    await client.nextDiagnostics(uri);
  });

  it('logs a malformed notification and keeps working', TIMEOUT, async () => {
    await client.connection.sendNotification('textDocument/didOpen', { nonsense: true });
    const logged = await client.logs.next((m) => m.type === MessageType.Error);
    assert.match(logged.message, /textDocument\/didOpen/);
    const uri = 'untitled:after-malformed-notification';
    await client.open(uri, FIXED, 1);
    assert.deepEqual((await client.nextDiagnostics(uri)).diagnostics, []);
  });

  it('shuts down and exits with code 0', TIMEOUT, async () => {
    assert.equal(await client.connection.sendRequest('shutdown'), null);
    await client.connection.sendNotification('exit');
    assert.deepEqual(await exited, { code: 0, signal: null });
  });
});
