/*
 * The language features over the real protocol: `node dist/server.js --stdio` spawned as VS Code's
 * language client would, asked each request with vscode-jsonrpc on realistic scenarios, then bad
 * requests (unknown documents, positions out of range, malformed params) that must be answered
 * cleanly while the session stays usable. Last, navigation across `include` in a workspace on disk (a
 * temp dir): document links, definition into the included file, a rename refused. Build first:
 * `node scripts/build.mjs`.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ResponseError } from 'vscode-jsonrpc/node';
import {
  CompletionItemKind,
  ErrorCodes,
  FoldingRangeKind,
  InsertTextFormat,
  LSPErrorCodes,
  MarkupKind,
  MessageType,
  SymbolKind,
  type CompletionItem,
  type DocumentLink,
  type DocumentSymbol,
  type FoldingRange,
  type Hover,
  type InitializeResult,
  type Location,
  type MarkupContent,
  type Position,
  type Range,
  type SemanticTokens,
  type SemanticTokensLegend,
  type SignatureHelp,
  type TextEdit,
  type WorkspaceEdit,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { SEMANTIC_TOKEN_MODIFIERS, SEMANTIC_TOKEN_TYPES } from '../../engine/lang/navigation';
import { spawnServer, VSCODE_LIKE_CAPABILITIES, type LspTestClient, type SpawnedServer } from './lspClient';

const serverPath = fileURLToPath(new URL('../../dist/server.js', import.meta.url));
const TIMEOUT = { timeout: 15_000 };

/** A complete scenario: a procedure, a loop, a leak check. Line numbers below are 0-based. */
const MAIN_URI = 'file:///scenarios/features.kmem';
const MAIN = [
  '# features.kmem: a procedure and a loop', // 0
  '# on a small machine with KASAN', // 1
  'machine { memory 64M; cpus 2; kasan y }', // 2
  '', // 3
  'proc grab(size) {', // 4
  '  let p = kmalloc(size, GFP_KERNEL)', // 5
  '  return p', // 6
  '}', // 7
  '', // 8
  'let a = grab(64)', // 9
  'for i in 0..4 {', // 10
  '  let buf = kmalloc(128, GFP_ATOMIC)', // 11
  '  kfree(buf)', // 12
  '}', // 13
  'kfree(a)', // 14
  '',
].join('\n');

/** A scenario being typed: the cursor after "kmalloc(64, " on line 1. */
const TYPING_URI = 'file:///scenarios/typing.kmem';
const TYPING = ['machine { memory 64M; cpus 2 }', 'let b = kmalloc(64, '].join('\n');
const IN_GFP_ARGUMENT: Position = { line: 1, character: 20 };

const at = (line: number, character: number): Position => ({ line, character });
const span = (line: number, from: number, to: number): Range => ({
  start: { line, character: from },
  end: { line, character: to },
});
const doc = (uri: string): { textDocument: { uri: string } } => ({ textDocument: { uri } });

/** Decodes LSP's relative semantic token integers back to absolute tokens with their legend names. */
function decodeSemanticTokens(
  data: number[],
  legend: SemanticTokensLegend,
): { line: number; character: number; length: number; type: string; modifiers: string[] }[] {
  const out = [];
  let line = 0;
  let character = 0;
  for (let i = 0; i < data.length; i += 5) {
    const [deltaLine, deltaStart, length, type, bits] = data.slice(i, i + 5) as [
      number,
      number,
      number,
      number,
      number,
    ];
    line += deltaLine;
    character = deltaLine === 0 ? character + deltaStart : deltaStart;
    const modifiers = legend.tokenModifiers.filter((_, bit) => (bits & (1 << bit)) !== 0);
    out.push({ line, character, length, type: legend.tokenTypes[type]!, modifiers });
  }
  return out;
}

/** The built server, spawned as VS Code's language client would. */
function spawnBuilt(): SpawnedServer {
  assert.ok(existsSync(serverPath), `${serverPath} is missing: run node scripts/build.mjs first`);
  return spawnServer(serverPath);
}

/** Stops `server`, showing what it wrote to stderr. */
function stopShowingStderr(server: SpawnedServer): void {
  server.stop();
  if (server.stderr() !== '') {
    console.log(`server stderr:\n${server.stderr()}`);
  }
}

/** Expects `request` to fail with a ResponseError of `code` whose message matches `message`. */
async function rejectsWith(request: Promise<unknown>, code: number, message: RegExp): Promise<void> {
  await assert.rejects(request, (error: unknown) => {
    assert.ok(error instanceof ResponseError, `not a ResponseError: ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  });
}

describe('kmem language features over stdio', () => {
  let server: SpawnedServer;
  let client: LspTestClient;
  let legend: SemanticTokensLegend;

  const request = <R>(method: string, params: unknown): Promise<R> => client.connection.sendRequest<R>(method, params);

  before(() => {
    server = spawnBuilt();
    client = server.client;
  });

  after(() => stopShowingStderr(server));

  it('declares every feature in the initialize result', TIMEOUT, async () => {
    const { capabilities } = await client.initialize(process.pid);
    assert.deepEqual(capabilities.completionProvider, { resolveProvider: false });
    assert.equal(capabilities.hoverProvider, true);
    assert.deepEqual(capabilities.signatureHelpProvider?.triggerCharacters, ['(', ',']);
    assert.equal(capabilities.definitionProvider, true);
    assert.equal(capabilities.referencesProvider, true);
    assert.deepEqual(capabilities.renameProvider, { prepareProvider: true });
    assert.ok(capabilities.documentSymbolProvider);
    assert.equal(capabilities.foldingRangeProvider, true);
    assert.equal(capabilities.documentFormattingProvider, true);
    assert.deepEqual(capabilities.documentLinkProvider, { resolveProvider: false });
    const semantic = capabilities.semanticTokensProvider;
    assert.ok(semantic);
    assert.equal(semantic.full, true);
    assert.deepEqual(semantic.legend, {
      tokenTypes: [...SEMANTIC_TOKEN_TYPES],
      tokenModifiers: [...SEMANTIC_TOKEN_MODIFIERS],
    });
    legend = semantic.legend;

    await client.open(MAIN_URI, MAIN, 1);
    await client.open(TYPING_URI, TYPING, 1);
    assert.deepEqual((await client.nextDiagnostics(MAIN_URI)).diagnostics, []);
  });

  it('completes kmalloc with its snippet at the start of an expression', TIMEOUT, async () => {
    const uri = 'file:///scenarios/completion.kmem';
    await client.open(uri, 'let x = kmal', 1);
    const items = await request<CompletionItem[]>('textDocument/completion', { ...doc(uri), position: at(0, 12) });
    const kmalloc = items.find((i) => i.label === 'kmalloc');
    assert.ok(kmalloc, 'no kmalloc proposal');
    assert.equal(kmalloc.kind, CompletionItemKind.Function);
    assert.equal(kmalloc.insertText, 'kmalloc(${1:size}, ${2:gfp})');
    assert.equal(kmalloc.insertTextFormat, InsertTextFormat.Snippet);
    assert.equal(kmalloc.detail, 'kmalloc(size, gfp)');
    assert.equal((kmalloc.documentation as MarkupContent).kind, MarkupKind.Markdown);
    await client.close(uri);
  });

  it('proposes GFP masks first in the gfp argument', TIMEOUT, async () => {
    const items = await request<CompletionItem[]>('textDocument/completion', {
      ...doc(TYPING_URI),
      position: IN_GFP_ARGUMENT,
    });
    const gfp = items.find((i) => i.label === 'GFP_KERNEL');
    assert.ok(gfp, 'no GFP_KERNEL proposal');
    assert.equal(gfp.kind, CompletionItemKind.Constant);
    assert.equal(gfp.insertText, undefined, 'a constant inserts its label');
    const kmalloc = items.find((i) => i.label === 'kmalloc')!;
    assert.ok(gfp.sortText! < kmalloc.sortText!, `${gfp.sortText} should sort before ${kmalloc.sortText}`);
  });

  it('hovers kmalloc and GFP_KERNEL with markdown and the range of the word', TIMEOUT, async () => {
    const onKmalloc = await request<Hover>('textDocument/hover', { ...doc(MAIN_URI), position: at(5, 12) });
    const contents = onKmalloc.contents as MarkupContent;
    assert.equal(contents.kind, MarkupKind.Markdown);
    assert.match(contents.value, /kmalloc\(size, gfp\)/);
    assert.deepEqual(onKmalloc.range, span(5, 10, 17));

    const onGfp = await request<Hover>('textDocument/hover', { ...doc(MAIN_URI), position: at(5, 26) });
    assert.match((onGfp.contents as MarkupContent).value, /GFP_KERNEL = 0xcc0/);
    assert.deepEqual(onGfp.range, span(5, 24, 34));

    assert.equal(await request('textDocument/hover', { ...doc(MAIN_URI), position: at(3, 0) }), null);
  });

  it('gives the signature of kmalloc with the gfp parameter active after the comma', TIMEOUT, async () => {
    const help = await request<SignatureHelp>('textDocument/signatureHelp', {
      ...doc(TYPING_URI),
      position: IN_GFP_ARGUMENT,
    });
    assert.equal(help.signatures.length, 1);
    const [signature] = help.signatures;
    assert.equal(signature!.label, 'kmalloc(size, gfp)');
    assert.deepEqual(
      signature!.parameters!.map((p) => p.label),
      [
        [8, 12],
        [14, 17],
      ],
    );
    assert.equal(help.activeSignature, 0);
    assert.equal(help.activeParameter, 1);
    assert.equal((signature!.documentation as MarkupContent).kind, MarkupKind.Markdown);
  });

  it('goes to the definition of a variable and of a procedure', TIMEOUT, async () => {
    const ofA = await request<Location>('textDocument/definition', { ...doc(MAIN_URI), position: at(14, 6) });
    assert.deepEqual(ofA, { uri: MAIN_URI, range: span(9, 4, 5) });
    const ofGrab = await request<Location>('textDocument/definition', { ...doc(MAIN_URI), position: at(9, 9) });
    assert.deepEqual(ofGrab, { uri: MAIN_URI, range: span(4, 5, 9) });
    assert.equal(await request('textDocument/definition', { ...doc(MAIN_URI), position: at(5, 12) }), null);
  });

  it('finds the references of a variable, with and without its declaration', TIMEOUT, async () => {
    const position = at(9, 4);
    const all = await request<Location[]>('textDocument/references', {
      ...doc(MAIN_URI),
      position,
      context: { includeDeclaration: true },
    });
    assert.deepEqual(all, [
      { uri: MAIN_URI, range: span(9, 4, 5) },
      { uri: MAIN_URI, range: span(14, 6, 7) },
    ]);
    const uses = await request<Location[]>('textDocument/references', {
      ...doc(MAIN_URI),
      position,
      context: { includeDeclaration: false },
    });
    assert.deepEqual(uses, [{ uri: MAIN_URI, range: span(14, 6, 7) }]);
  });

  it('prepares a rename on a variable and refuses one on a builtin with its reason', TIMEOUT, async () => {
    const prepared = await request('textDocument/prepareRename', { ...doc(MAIN_URI), position: at(11, 7) });
    assert.deepEqual(prepared, { range: span(11, 6, 9), placeholder: 'buf' });
    await rejectsWith(
      request('textDocument/prepareRename', { ...doc(MAIN_URI), position: at(11, 14) }),
      LSPErrorCodes.RequestFailed,
      /'kmalloc' is a built-in function/,
    );
  });

  it('renames a variable with one edit per occurrence', TIMEOUT, async () => {
    const edit = await request<WorkspaceEdit>('textDocument/rename', {
      ...doc(MAIN_URI),
      position: at(11, 7),
      newName: 'obj',
    });
    assert.deepEqual(Object.keys(edit.changes ?? {}), [MAIN_URI]);
    const edits = edit.changes![MAIN_URI]!;
    assert.deepEqual(
      edits.map((e) => e.range),
      [span(11, 6, 9), span(12, 8, 11)],
    );
    const renamed = TextDocument.applyEdits(TextDocument.create(MAIN_URI, 'kmem', 1, MAIN), edits);
    assert.equal(renamed, MAIN.replace('let buf', 'let obj').replace('kfree(buf)', 'kfree(obj)'));
  });

  it('refuses a rename to a builtin name with a ResponseError and keeps serving', TIMEOUT, async () => {
    await rejectsWith(
      request('textDocument/rename', { ...doc(MAIN_URI), position: at(9, 4), newName: 'kmalloc' }),
      LSPErrorCodes.RequestFailed,
      /Cannot rename to 'kmalloc': 'kmalloc' is a built-in function/,
    );
    await rejectsWith(
      request('textDocument/rename', { ...doc(MAIN_URI), position: at(9, 4), newName: 'grab' }),
      LSPErrorCodes.RequestFailed,
      /already a procedure/,
    );
    const edit = await request<WorkspaceEdit>('textDocument/rename', {
      ...doc(MAIN_URI),
      position: at(9, 4),
      newName: 'ptr',
    });
    assert.equal(edit.changes![MAIN_URI]!.length, 2);
  });

  it('outlines the machine block and the procedure as a hierarchy', TIMEOUT, async () => {
    const symbols = await request<DocumentSymbol[]>('textDocument/documentSymbol', doc(MAIN_URI));
    assert.deepEqual(
      symbols.map((s) => [s.name, s.kind]),
      [
        ['machine', SymbolKind.Module],
        ['grab', SymbolKind.Function],
        ['a', SymbolKind.Variable],
      ],
    );
    const [machine, grab] = symbols as [DocumentSymbol, DocumentSymbol];
    assert.deepEqual(machine.range, span(2, 0, 39));
    assert.deepEqual(
      machine.children!.map((c) => [c.name, c.kind, c.detail]),
      [
        ['memory', SymbolKind.Property, '64M'],
        ['cpus', SymbolKind.Property, '2'],
        ['kasan', SymbolKind.Property, 'y'],
      ],
    );
    assert.equal(grab.detail, '(size)');
    assert.deepEqual(grab.range, { start: at(4, 0), end: at(7, 1) });
    assert.deepEqual(grab.selectionRange, span(4, 5, 9));
    assert.deepEqual(
      grab.children!.map((c) => [c.name, c.kind, c.detail]),
      [
        ['size', SymbolKind.Variable, 'parameter'],
        ['p', SymbolKind.Variable, undefined],
      ],
    );
  });

  it('folds the comment header, the procedure and the loop', TIMEOUT, async () => {
    const ranges = await request<FoldingRange[]>('textDocument/foldingRange', doc(MAIN_URI));
    assert.deepEqual(ranges, [
      { startLine: 0, endLine: 1, kind: FoldingRangeKind.Comment },
      { startLine: 4, endLine: 6 },
      { startLine: 10, endLine: 12 },
    ]);
  });

  it('classifies tokens with the declared legend', TIMEOUT, async () => {
    const { data } = await request<SemanticTokens>('textDocument/semanticTokens/full', doc(MAIN_URI));
    assert.ok(data.length > 0);
    assert.equal(data.length % 5, 0);
    const tokens = decodeSemanticTokens(data, legend);
    const find = (line: number, character: number) => tokens.find((t) => t.line === line && t.character === character);
    assert.deepEqual(find(5, 10), {
      line: 5,
      character: 10,
      length: 7,
      type: 'function',
      modifiers: ['defaultLibrary'],
    });
    assert.deepEqual(find(5, 24), {
      line: 5,
      character: 24,
      length: 10,
      type: 'macro',
      modifiers: ['readonly', 'defaultLibrary'],
    });
    assert.deepEqual(find(4, 5)?.modifiers, ['declaration']);
    assert.equal(find(4, 10)?.type, 'parameter');
    assert.equal(find(0, 0)?.type, 'comment');
  });

  it('formats "let a=1" to "let a = 1" and leaves a document with syntax errors alone', TIMEOUT, async () => {
    const uri = 'file:///scenarios/format.kmem';
    const text = 'let a=1\nkfree(  a )\n';
    await client.open(uri, text, 1);
    const edits = await request<TextEdit[]>('textDocument/formatting', {
      ...doc(uri),
      options: { tabSize: 4, insertSpaces: true },
    });
    assert.ok(edits.length > 0);
    const formatted = TextDocument.applyEdits(TextDocument.create(uri, 'kmem', 1, text), edits);
    assert.equal(formatted, 'let a = 1\nkfree(a)\n');

    await client.change(uri, 2, { text: formatted });
    assert.deepEqual(
      await request('textDocument/formatting', { ...doc(uri), options: { tabSize: 2, insertSpaces: true } }),
      [],
    );
    await client.change(uri, 3, { text: 'let a=(1\n' });
    assert.deepEqual(
      await request('textDocument/formatting', { ...doc(uri), options: { tabSize: 2, insertSpaces: true } }),
      [],
    );
    await client.close(uri);
  });

  it('answers on the text of the latest edit, without waiting for diagnostics', TIMEOUT, async () => {
    const uri = 'file:///scenarios/edited.kmem';
    await client.open(uri, 'let a = 1\nkfree(a)\n', 1);
    await client.change(uri, 2, { range: span(0, 4, 5), text: 'first' }, { range: span(1, 6, 7), text: 'first' });
    const location = await request<Location>('textDocument/definition', { ...doc(uri), position: at(1, 7) });
    assert.deepEqual(location, { uri, range: span(0, 4, 9) });
    await client.close(uri);
  });

  describe('bad requests', () => {
    const stillServing = async (): Promise<void> => {
      const hover = await request<Hover>('textDocument/hover', { ...doc(MAIN_URI), position: at(5, 12) });
      assert.match((hover.contents as MarkupContent).value, /kmalloc/);
    };

    it('answers null for a document that is not open', TIMEOUT, async () => {
      const unknown = doc('file:///scenarios/never-opened.kmem');
      const position = at(0, 0);
      for (const [method, params] of [
        ['textDocument/completion', { ...unknown, position }],
        ['textDocument/hover', { ...unknown, position }],
        ['textDocument/signatureHelp', { ...unknown, position }],
        ['textDocument/definition', { ...unknown, position }],
        ['textDocument/references', { ...unknown, position, context: { includeDeclaration: true } }],
        ['textDocument/prepareRename', { ...unknown, position }],
        ['textDocument/rename', { ...unknown, position, newName: 'x' }],
        ['textDocument/documentSymbol', unknown],
        ['textDocument/foldingRange', unknown],
        ['textDocument/semanticTokens/full', unknown],
        ['textDocument/formatting', { ...unknown, options: { tabSize: 2, insertSpaces: true } }],
        ['textDocument/documentLink', unknown],
      ] as const) {
        assert.equal(await request(method, params), null, method);
      }
      await stillServing();
    });

    it('answers null past the last line and clamps a character past the end of its line', TIMEOUT, async () => {
      for (const method of ['textDocument/hover', 'textDocument/definition', 'textDocument/completion']) {
        assert.equal(await request(method, { ...doc(MAIN_URI), position: at(10_000, 0) }), null, method);
      }
      // Line 14 is "kfree(a)": character 500 is its end, just after ")": no name there.
      assert.equal(await request('textDocument/definition', { ...doc(MAIN_URI), position: at(14, 500) }), null);
      const help = await request<SignatureHelp>('textDocument/signatureHelp', {
        ...doc(TYPING_URI),
        position: at(1, 500),
      });
      assert.equal(help.activeParameter, 1);
      await stillServing();
    });

    it('answers InvalidParams to malformed positions and params', TIMEOUT, async () => {
      const invalid = /params\.position must be/;
      await rejectsWith(
        request('textDocument/hover', { ...doc(MAIN_URI), position: at(-1, 0) }),
        ErrorCodes.InvalidParams,
        invalid,
      );
      await rejectsWith(
        request('textDocument/completion', { ...doc(MAIN_URI), position: { line: '1', character: 0 } }),
        ErrorCodes.InvalidParams,
        invalid,
      );
      await rejectsWith(
        request('textDocument/definition', { ...doc(MAIN_URI), position: at(1.5, 0) }),
        ErrorCodes.InvalidParams,
        invalid,
      );
      await rejectsWith(request('textDocument/references', doc(MAIN_URI)), ErrorCodes.InvalidParams, invalid);
      await rejectsWith(
        request('textDocument/hover', { position: at(0, 0) }),
        ErrorCodes.InvalidParams,
        /params\.textDocument\.uri must be a string/,
      );
      await rejectsWith(
        request('textDocument/documentSymbol', { textDocument: { uri: 42 } }),
        ErrorCodes.InvalidParams,
        /params\.textDocument\.uri must be a string/,
      );
      await rejectsWith(
        request('textDocument/rename', { ...doc(MAIN_URI), position: at(9, 4), newName: 7 }),
        ErrorCodes.InvalidParams,
        /params\.newName must be a string/,
      );
      // No params at all: vscode-jsonrpc refuses it before any handler runs.
      await rejectsWith(request('textDocument/semanticTokens/full', null), ErrorCodes.InvalidParams, /parameters/);
      await stillServing();
    });

    it('answers an empty list for a document with nothing in it', TIMEOUT, async () => {
      const uri = 'untitled:empty';
      await client.open(uri, '', 1);
      assert.deepEqual(await request('textDocument/documentSymbol', doc(uri)), []);
      assert.deepEqual(await request('textDocument/foldingRange', doc(uri)), []);
      assert.deepEqual(await request('textDocument/semanticTokens/full', doc(uri)), { data: [] });
      assert.deepEqual(await request('textDocument/references', { ...doc(uri), position: at(0, 0) }), []);
      assert.equal(await request('textDocument/hover', { ...doc(uri), position: at(0, 0) }), null);
      assert.deepEqual(await request('textDocument/documentLink', doc(uri)), []);
      await client.close(uri);
      await stillServing();
    });
  });

  it('logged no failure: every answer above came from the service, none from a guard', TIMEOUT, async () => {
    await request('textDocument/hover', { ...doc(MAIN_URI), position: at(0, 0) }); // logs sent before it have arrived
    assert.deepEqual(
      client.logs.drain((m) => m.type === MessageType.Error).map((m) => m.message),
      [],
    );
  });

  it('shuts down and exits with code 0', TIMEOUT, async () => {
    assert.equal(await client.connection.sendRequest('shutdown'), null);
    await client.connection.sendNotification('exit');
    assert.deepEqual(await server.exited, { code: 0, signal: null });
  });
});

/** A scenario in a workspace folder on disk that includes a library: line numbers below are 0-based. */
const INCLUDING = [
  'include "lib/pools.kmem"', // 0
  'include "lib/missing.kmem"', // 1: no such file
  'include "../outside.kmem"', // 2: outside the workspace
  'let pool = []', // 3
  'fill(pool, shared)', // 4
  '',
].join('\n');
const POOLS = [
  '# lib/pools.kmem', // 0
  'proc fill(pool, n) {', // 1
  '  for i in 0..n { push pool, kzalloc(32, GFP_KERNEL) }', // 2
  '}', // 3
  'let shared = 1', // 4
  '',
].join('\n');

describe('kmem navigation across include files, over stdio', () => {
  let server: SpawnedServer;
  let client: LspTestClient;
  let workspace: string;
  let mainUri: string;
  let poolsUri: string;

  const request = <R>(method: string, params: unknown): Promise<R> => client.connection.sendRequest<R>(method, params);

  before(async () => {
    workspace = realpathSync(mkdtempSync(join(tmpdir(), 'kmem-includes-')));
    mkdirSync(join(workspace, 'lib'));
    writeFileSync(join(workspace, 'main.kmem'), INCLUDING);
    writeFileSync(join(workspace, 'lib', 'pools.kmem'), POOLS);
    mainUri = pathToFileURL(join(workspace, 'main.kmem')).href;
    poolsUri = pathToFileURL(join(workspace, 'lib', 'pools.kmem')).href;
    server = spawnBuilt();
    client = server.client;
    const folder = pathToFileURL(workspace).href;
    const result = await request<InitializeResult>('initialize', {
      processId: process.pid,
      rootUri: folder,
      workspaceFolders: [{ uri: folder, name: 'workspace' }],
      capabilities: VSCODE_LIKE_CAPABILITIES,
    });
    assert.deepEqual(result.capabilities.documentLinkProvider, { resolveProvider: false });
    await client.connection.sendNotification('initialized', {});
    await client.open(mainUri, INCLUDING, 1);
  });

  after(() => {
    stopShowingStderr(server);
    rmSync(workspace, { recursive: true, force: true });
  });

  it('links the include path that resolves to the included file, and no other', TIMEOUT, async () => {
    const links = await request<DocumentLink[]>('textDocument/documentLink', doc(mainUri));
    assert.deepEqual(links, [{ range: span(0, 8, 24), target: poolsUri }]);
  });

  it('goes to the definition of a procedure and a variable of the included file', TIMEOUT, async () => {
    const ofFill = await request<Location>('textDocument/definition', { ...doc(mainUri), position: at(4, 1) });
    assert.deepEqual(ofFill, { uri: poolsUri, range: span(1, 5, 9) });
    const ofShared = await request<Location>('textDocument/definition', { ...doc(mainUri), position: at(4, 13) });
    assert.deepEqual(ofShared, { uri: poolsUri, range: span(4, 4, 10) });
    const ofPool = await request<Location>('textDocument/definition', { ...doc(mainUri), position: at(4, 6) });
    assert.deepEqual(ofPool, { uri: mainUri, range: span(3, 4, 8) });
  });

  it('hovers a procedure of the included file with the file it is defined in', TIMEOUT, async () => {
    const hover = await request<Hover>('textDocument/hover', { ...doc(mainUri), position: at(4, 1) });
    assert.match((hover.contents as MarkupContent).value, /proc fill\(pool, n\)[^]*lib\/pools\.kmem, line 2/);
    assert.deepEqual(hover.range, span(4, 0, 4));
  });

  it('refuses to rename a procedure of the included file from the including one', TIMEOUT, async () => {
    const message = /'fill' is declared in lib\/pools\.kmem: rename it there/;
    await rejectsWith(
      request('textDocument/prepareRename', { ...doc(mainUri), position: at(4, 1) }),
      LSPErrorCodes.RequestFailed,
      message,
    );
    await rejectsWith(
      request('textDocument/rename', { ...doc(mainUri), position: at(4, 1), newName: 'refill' }),
      LSPErrorCodes.RequestFailed,
      message,
    );
    const edit = await request<WorkspaceEdit>('textDocument/rename', {
      ...doc(mainUri),
      position: at(3, 5),
      newName: 'objects',
    });
    assert.deepEqual(
      edit.changes![mainUri]!.map((e) => e.range),
      [span(3, 4, 8), span(4, 5, 9)],
    );
  });

  it('follows the included file as the editor has it when it is open', TIMEOUT, async () => {
    await client.open(poolsUri, `# edited, not saved\n${POOLS}`, 1);
    const ofFill = await request<Location>('textDocument/definition', { ...doc(mainUri), position: at(4, 1) });
    assert.deepEqual(ofFill, { uri: poolsUri, range: span(2, 5, 9) });
    await client.close(poolsUri);
    const fromDisk = await request<Location>('textDocument/definition', { ...doc(mainUri), position: at(4, 1) });
    assert.deepEqual(fromDisk, { uri: poolsUri, range: span(1, 5, 9) });
  });

  it('diagnoses the including scenario again when the included file changes in the editor', TIMEOUT, async () => {
    await client.open(poolsUri, POOLS.replace('proc fill(', 'proc refill('), 1);
    // Publications for main.kmem queue up from its open on; the one after this edit names the lost procedure.
    for (;;) {
      const published = await client.nextDiagnostics(mainUri);
      const lost = published.diagnostics.find((d) => d.code === 'KM2003');
      if (lost) {
        assert.match(String(lost.message), /unknown function 'fill'/);
        break;
      }
    }
    await client.close(poolsUri);
  });

  it('logged no failure', TIMEOUT, async () => {
    await request('textDocument/hover', { ...doc(mainUri), position: at(0, 0) });
    assert.deepEqual(
      client.logs.drain((m) => m.type === MessageType.Error).map((m) => m.message),
      [],
    );
  });
});
