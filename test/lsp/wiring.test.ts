/*
 * The server's wiring, in process, with a fake language service and mocked timers: the debounce
 * (one run per burst, on the latest text), close cancelling a pending run, the severity mapping, and
 * the guard that turns a service exception into a logged error and an empty result. The real
 * service over the real protocol is server.test.ts.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, it, mock } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import {
  createConnection,
  DiagnosticSeverity,
  MessageType,
  ProposedFeatures,
  type Connection,
} from 'vscode-languageserver/node';
import type { Diagnostic } from '../../engine/lang/diagnostics';
import { fileNameOf, toLspDiagnostic } from '../../extension/server/convert';
import { guard, guardHandler } from '../../extension/server/guard';
import { DIAGNOSTICS_DELAY_MS, startServer } from '../../extension/server/server';
import type { LanguageService } from '../../extension/server/service';
import { LspTestClient } from './lspClient';

const at = (line: number, from: number, to: number): Diagnostic['range'] => ({
  start: { line, character: from },
  end: { line, character: to },
});

/** Reports KM9001 on every 'bad', throws on 'boom', and records what it was asked. */
class FakeService implements LanguageService {
  readonly calls: { source: string; fileName: string }[] = [];

  diagnose(source: string, fileName: string): Diagnostic[] {
    this.calls.push({ source, fileName });
    if (source.includes('boom')) {
      throw new Error('boom inside the service');
    }
    return [...source.matchAll(/bad/g)].map((m) => ({
      code: 'KM9001',
      message: 'bad word',
      severity: 'warning',
      range: at(0, m.index, m.index + 3),
    }));
  }
}

describe('server wiring (in process, mocked timers)', () => {
  const service = new FakeService();
  let server: Connection;
  let client: LspTestClient;
  let uriCount = 0;
  const freshUri = (): string => `file:///scenarios/wiring-${++uriCount}.kmem`;

  /** Resolves once the server has handled every message sent before it (messages are handled in order). */
  const roundTrip = (): Promise<unknown> => client.connection.sendRequest('kmem/roundTrip').catch(() => undefined);

  before(async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    const toServer = new PassThrough();
    const toClient = new PassThrough();
    server = createConnection(
      ProposedFeatures.all,
      new StreamMessageReader(toServer),
      new StreamMessageWriter(toClient),
    );
    startServer(server, { service });
    server.listen();
    client = new LspTestClient(
      createMessageConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer)),
    );
    await client.initialize(null);
  });

  after(() => {
    client.connection.dispose();
    server.dispose();
    mock.timers.reset();
  });

  it('diagnoses a burst of edits once, on the latest version, after the quiet time', async () => {
    const uri = freshUri();
    service.calls.length = 0;
    await client.open(uri, 'bad', 1);
    await client.change(uri, 2, { text: 'ok' });
    await client.change(uri, 3, { text: 'bad and bad' });
    await roundTrip();
    mock.timers.tick(DIAGNOSTICS_DELAY_MS - 1);
    await roundTrip();
    assert.deepEqual(client.diagnostics.drain(), [], 'published before the quiet time');
    assert.equal(service.calls.length, 0);

    mock.timers.tick(1);
    const published = await client.nextDiagnostics(uri);
    assert.equal(published.version, 3);
    assert.deepEqual(
      published.diagnostics.map((d) => d.range.start.character),
      [0, 8],
    );
    assert.deepEqual(service.calls, [{ source: 'bad and bad', fileName: fileURLToPath(uri) }]);
    await roundTrip();
    assert.deepEqual(client.diagnostics.drain(), [], 'a stale version was published after the latest');
  });

  it('applies incremental edits before diagnosing', async () => {
    const uri = freshUri();
    await client.open(uri, 'fine text', 1);
    await client.change(uri, 2, { range: at(0, 0, 4), text: 'bad' });
    await roundTrip();
    mock.timers.tick(DIAGNOSTICS_DELAY_MS);
    const published = await client.nextDiagnostics(uri);
    assert.equal(service.calls.at(-1)!.source, 'bad text');
    assert.equal(published.version, 2);
    assert.equal(published.diagnostics.length, 1);
  });

  it('cancels the pending run of a closed document and clears it', async () => {
    const uri = freshUri();
    service.calls.length = 0;
    await client.open(uri, 'bad', 1);
    await client.close(uri);
    const published = await client.nextDiagnostics(uri);
    assert.deepEqual(published.diagnostics, []);
    assert.equal(published.version, undefined);
    mock.timers.tick(DIAGNOSTICS_DELAY_MS);
    await roundTrip();
    assert.deepEqual(client.diagnostics.drain(), []);
    assert.deepEqual(service.calls, []);
  });

  it('logs an exception in the service, publishes no diagnostics, and keeps serving', async () => {
    const uri = freshUri();
    await client.open(uri, 'bad', 1);
    await roundTrip();
    mock.timers.tick(DIAGNOSTICS_DELAY_MS);
    assert.equal((await client.nextDiagnostics(uri, 1)).diagnostics.length, 1);

    await client.change(uri, 2, { text: 'bad boom' });
    await roundTrip();
    mock.timers.tick(DIAGNOSTICS_DELAY_MS);
    assert.deepEqual((await client.nextDiagnostics(uri, 2)).diagnostics, []);
    const logged = await client.logs.next((m) => m.type === MessageType.Error);
    assert.match(
      logged.message,
      /diagnostics for file:\/\/\/scenarios\/wiring-\d+\.kmem failed: boom inside the service/,
    );

    await client.change(uri, 3, { text: 'bad again' });
    await roundTrip();
    mock.timers.tick(DIAGNOSTICS_DELAY_MS);
    assert.equal((await client.nextDiagnostics(uri, 3)).diagnostics.length, 1);
  });
});

describe('engine diagnostics to LSP', () => {
  it('maps severities, keeps code and range, and names the source', () => {
    const range = at(4, 2, 9);
    for (const [severity, lsp] of [
      ['error', DiagnosticSeverity.Error],
      ['warning', DiagnosticSeverity.Warning],
      ['info', DiagnosticSeverity.Information],
    ] as const) {
      assert.deepEqual(toLspDiagnostic({ code: 'KM2001', message: 'm', severity, range }), {
        range,
        severity: lsp,
        code: 'KM2001',
        source: 'kmem',
        message: 'm',
      });
    }
  });

  it('passes a file path for file: URIs and the URI otherwise', () => {
    assert.equal(fileNameOf('untitled:Untitled-1'), 'untitled:Untitled-1');
    assert.equal(fileNameOf('file:///scenarios/a%20b.kmem'), fileURLToPath('file:///scenarios/a%20b.kmem'));
  });
});

describe('guard', () => {
  const logged: string[] = [];
  const log = { error: (message: string) => logged.push(message) };

  it('returns the empty result and logs when the work throws', () => {
    logged.length = 0;
    assert.deepEqual(
      guard(log, 'hover', () => JSON.parse('{'), []),
      [],
    );
    assert.equal(logged.length, 1);
    assert.match(logged[0]!, /^kmem: hover failed: /);
  });

  it('guards sync and async request handlers alike', async () => {
    logged.length = 0;
    const throwing = guardHandler(
      log,
      'completion',
      (_n: number): string[] => {
        throw new Error('sync');
      },
      [],
    );
    const rejecting = guardHandler(
      log,
      'completion',
      async (_n: number): Promise<string[]> => {
        throw new Error('async');
      },
      [],
    );
    const working = guardHandler(log, 'completion', (n: number) => [String(n)], []);
    assert.deepEqual(throwing(1), []);
    assert.deepEqual(await rejecting(1), []);
    assert.deepEqual(working(7), ['7']);
    assert.deepEqual(
      logged.map((m) => m.split('\n')[0]),
      ['kmem: completion failed: sync', 'kmem: completion failed: async'],
    );
  });
});
