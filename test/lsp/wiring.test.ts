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
  CompletionItemKind,
  createConnection,
  DiagnosticSeverity,
  InsertTextFormat,
  MarkupKind,
  MessageType,
  ProposedFeatures,
  SymbolKind,
  type ClientCapabilities,
  type CompletionItem,
  type Connection,
  type InitializeResult,
  type SignatureHelp,
  type SymbolInformation,
} from 'vscode-languageserver/node';
import type { Diagnostic } from '../../engine/lang/diagnostics';
import {
  fileNameOf,
  FULL_CLIENT_SUPPORT,
  snippetToPlainText,
  SYMBOL_KIND,
  toLspCompletionItem,
  toLspDiagnostic,
  toLspSignatureHelp,
} from '../../extension/server/convert';
import { guard, guardHandler } from '../../extension/server/guard';
import { DIAGNOSTICS_DELAY_MS, startServer } from '../../extension/server/server';
import { kmemLanguageService, type LanguageService } from '../../extension/server/service';
import { LspTestClient, MINIMAL_CAPABILITIES } from './lspClient';

const at = (line: number, from: number, to: number): Diagnostic['range'] => ({
  start: { line, character: from },
  end: { line, character: to },
});

/** `feature` of the real service, except that it throws on a text with 'boom' in it. */
function boomOr<A extends unknown[], R>(feature: (source: string, ...rest: A) => R): (source: string, ...rest: A) => R {
  return (source, ...rest) => {
    if (source.includes('boom')) {
      throw new Error('boom inside the service');
    }
    return feature(source, ...rest);
  };
}

/**
 * Reports KM9001 on every 'bad', throws on 'boom', and records what it was asked to diagnose; the other
 * features are the real ones, throwing on 'boom' as well.
 */
class FakeService implements LanguageService {
  readonly calls: { source: string; fileName: string }[] = [];
  readonly completions = boomOr(kmemLanguageService.completions);
  readonly hover = boomOr(kmemLanguageService.hover);
  readonly signatureHelp = boomOr(kmemLanguageService.signatureHelp);
  readonly definition = boomOr(kmemLanguageService.definition);
  readonly references = boomOr(kmemLanguageService.references);
  readonly prepareRename = boomOr(kmemLanguageService.prepareRename);
  readonly rename = boomOr(kmemLanguageService.rename);
  readonly documentSymbols = boomOr(kmemLanguageService.documentSymbols);
  readonly foldingRanges = boomOr(kmemLanguageService.foldingRanges);
  readonly semanticTokens = boomOr(kmemLanguageService.semanticTokens);
  readonly formatEdits = boomOr(kmemLanguageService.formatEdits);
  readonly documentLinks = boomOr(kmemLanguageService.documentLinks);

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

  it('answers null to every request whose service throws, logs it, and keeps answering', async () => {
    const uri = freshUri();
    const textDocument = { uri };
    const position = { line: 0, character: 5 };
    await client.open(uri, 'let boom = 1', 1);
    const requests = [
      ['textDocument/completion', { textDocument, position }],
      ['textDocument/hover', { textDocument, position }],
      ['textDocument/signatureHelp', { textDocument, position }],
      ['textDocument/definition', { textDocument, position }],
      ['textDocument/references', { textDocument, position, context: { includeDeclaration: true } }],
      ['textDocument/prepareRename', { textDocument, position }],
      ['textDocument/rename', { textDocument, position, newName: 'bang' }],
      ['textDocument/documentSymbol', { textDocument }],
      ['textDocument/foldingRange', { textDocument }],
      ['textDocument/semanticTokens/full', { textDocument }],
      ['textDocument/formatting', { textDocument, options: { tabSize: 2, insertSpaces: true } }],
    ] as const;
    for (const [method, params] of requests) {
      assert.equal(await client.connection.sendRequest(method, params), null, method);
      const logged = await client.logs.next((m) => m.type === MessageType.Error);
      assert.equal(logged.message.split('\n')[0], `kmem: ${method} failed: boom inside the service`);
    }
    await client.change(uri, 2, { text: 'let bang = 1' });
    assert.deepEqual(await client.connection.sendRequest('textDocument/definition', { textDocument, position }), {
      uri,
      range: at(0, 4, 8),
    });
    await client.close(uri); // cancels the pending diagnostics, which would throw too
    await client.nextDiagnostics(uri);
  });
});

/** A server in this process with the real service, initialized by a client with `capabilities`. */
async function inProcess(capabilities: ClientCapabilities): Promise<{
  client: LspTestClient;
  result: InitializeResult;
  dispose(): void;
}> {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const server = createConnection(
    ProposedFeatures.all,
    new StreamMessageReader(toServer),
    new StreamMessageWriter(toClient),
  );
  startServer(server);
  server.listen();
  const client = new LspTestClient(
    createMessageConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer)),
  );
  const result = await client.initialize(null, capabilities);
  return {
    client,
    result,
    dispose: () => {
      client.connection.dispose();
      server.dispose();
    },
  };
}

describe('a client without snippets, hierarchical symbols, label offsets or prepareRename', () => {
  let session: Awaited<ReturnType<typeof inProcess>>;
  const uri = 'file:///scenarios/minimal.kmem';
  const text = [
    'machine { memory 64M; cpus 1 }',
    'proc grab(size) {',
    '  return kmalloc(size, GFP_KERNEL)',
    '}',
    'let p = kmal',
  ].join('\n');

  before(async () => {
    session = await inProcess(MINIMAL_CAPABILITIES);
    await session.client.open(uri, text, 1);
  });

  after(async () => {
    // Closing cancels the diagnostics still pending (real timers here), which would outlive the connection.
    await session.client.close(uri);
    await session.client.diagnostics.next((p) => p.uri === uri && p.version === undefined);
    session.dispose();
  });

  it('is not offered prepareRename', () => {
    assert.equal(session.result.capabilities.renameProvider, true);
  });

  it('gets completions as plain text', async () => {
    const items = await session.client.connection.sendRequest<CompletionItem[]>('textDocument/completion', {
      textDocument: { uri },
      position: { line: 4, character: 12 },
    });
    const kmalloc = items.find((i) => i.label === 'kmalloc')!;
    assert.equal(kmalloc.insertText, 'kmalloc(size, gfp)');
    assert.equal(kmalloc.insertTextFormat, InsertTextFormat.PlainText);
  });

  it('gets parameter labels as strings', async () => {
    const help = await session.client.connection.sendRequest<SignatureHelp>('textDocument/signatureHelp', {
      textDocument: { uri },
      position: { line: 2, character: 23 },
    });
    assert.deepEqual(
      help.signatures[0]!.parameters!.map((p) => p.label),
      ['size', 'gfp'],
    );
    assert.equal(help.activeParameter, 1);
  });

  it('gets a flat outline, each child naming its parent', async () => {
    const symbols = await session.client.connection.sendRequest<SymbolInformation[]>('textDocument/documentSymbol', {
      textDocument: { uri },
    });
    assert.deepEqual(
      symbols.map((s) => [s.name, s.kind, s.containerName]),
      [
        ['machine', SymbolKind.Module, undefined],
        ['memory', SymbolKind.Property, 'machine'],
        ['cpus', SymbolKind.Property, 'machine'],
        ['grab', SymbolKind.Function, undefined],
        ['size', SymbolKind.Variable, 'grab'],
        ['p', SymbolKind.Variable, undefined],
      ],
    );
    assert.ok(symbols.every((s) => s.location.uri === uri));
  });
});

describe('engine features to LSP', () => {
  it('turns snippets into the text they insert', () => {
    assert.equal(snippetToPlainText('kmalloc(${1:size}, ${2:gfp})'), 'kmalloc(size, gfp)');
    assert.equal(snippetToPlainText('on ${1|cpu 1,irq,softirq|} {\n\t$0\n}'), 'on cpu 1 {\n\t\n}');
    assert.equal(snippetToPlainText('log "${1:message}"$0'), 'log "message"');
    assert.equal(snippetToPlainText('a \\$1 ${2} \\}'), 'a $1  }');
  });

  it('maps every completion kind and marks snippets', () => {
    const kinds = {
      keyword: CompletionItemKind.Keyword,
      function: CompletionItemKind.Function,
      constant: CompletionItemKind.Constant,
      variable: CompletionItemKind.Variable,
      procedure: CompletionItemKind.Function,
      'machine-entry': CompletionItemKind.Property,
      'report-kind': CompletionItemKind.EnumMember,
      snippet: CompletionItemKind.Snippet,
    } as const;
    for (const [kind, lsp] of Object.entries(kinds)) {
      const item = toLspCompletionItem({ label: 'x', kind: kind as keyof typeof kinds }, FULL_CLIENT_SUPPORT);
      assert.deepEqual(item, { label: 'x', kind: lsp });
    }
    assert.deepEqual(
      toLspCompletionItem(
        { label: 'if', kind: 'keyword', detail: 'd', documentation: '`if`', sortText: '0', insertText: 'if $0' },
        FULL_CLIENT_SUPPORT,
      ),
      {
        label: 'if',
        kind: CompletionItemKind.Keyword,
        detail: 'd',
        documentation: { kind: MarkupKind.Markdown, value: '`if`' },
        sortText: '0',
        insertText: 'if $0',
        insertTextFormat: InsertTextFormat.Snippet,
      },
    );
  });

  it('maps every symbol kind', () => {
    assert.deepEqual(SYMBOL_KIND, {
      procedure: SymbolKind.Function,
      variable: SymbolKind.Variable,
      machine: SymbolKind.Module,
      property: SymbolKind.Property,
      block: SymbolKind.Namespace,
    });
  });

  it('finds parameter labels as whole words after the "("', () => {
    const help = toLspSignatureHelp(
      { label: 'a(s, size[, sz])', parameters: ['s', 'size', 'sz'], activeParameter: 2 },
      FULL_CLIENT_SUPPORT,
    );
    assert.deepEqual(
      help.signatures[0]!.parameters!.map((p) => p.label),
      [
        [2, 3],
        [5, 9],
        [12, 14],
      ],
    );
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
