/*
 * The kmem language server: a thin wiring of the pure language service (engine/lang, reached through
 * service.ts) to an LSP connection. It owns no language knowledge; it keeps documents in sync,
 * decides when to ask the service, converts the answers and keeps itself alive.
 *
 *   didOpen/didChange ──► TextDocuments (incremental sync) ──► Debouncer (150 ms per document)
 *                                                                  │ fires with the latest text
 *                                                                  ▼
 *                               guard(service.diagnose) ──► toLspDiagnostic ──► publishDiagnostics
 *   didClose ──► cancel the pending run, publish [] for the document
 *   requests (completion, hover, signature help, definition, references, rename, symbols, folding,
 *   semantic tokens, formatting) ──► features.ts, on the synced text, answered at once
 *
 * Failure policy: a service exception is logged to the client's console and treated as "no
 * result" (an empty diagnostics list); requests go through guardHandler and answer their empty
 * result (null), malformed params get a ResponseError InvalidParams; unknown methods get JSON-RPC's
 * MethodNotFound from vscode-jsonrpc itself.
 */
import { readFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { IncludeHost } from '../../engine/lang/include';
import { fileIncludeHost } from '../shared/includes';
import {
  TextDocuments,
  TextDocumentSyncKind,
  type Connection,
  type InitializeParams,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { fileNameOf, toLspDiagnostic } from './convert';
import { Debouncer } from './debounce';
import { registerFeatures } from './features';
import { describeFailure, guard } from './guard';
import { kmemLanguageService, type LanguageService } from './service';

/** Quiet time after the last edit before a document is diagnosed again. */
export const DIAGNOSTICS_DELAY_MS = 150;

export interface ServerOptions {
  service?: LanguageService;
  diagnosticsDelayMs?: number;
}

/** Registers every handler on `connection`; the caller then calls `connection.listen()`. */
export function startServer(connection: Connection, options: ServerOptions = {}): void {
  const service = options.service ?? kmemLanguageService;
  const documents = new TextDocuments(TextDocument);
  const pending = new Debouncer(options.diagnosticsDelayMs ?? DIAGNOSTICS_DELAY_MS);

  /** The workspace folders: an include must stay inside the one holding its scenario. */
  let roots: string[] = [];
  connection.onInitialize((params: InitializeParams): InitializeResult => {
    const folders = params?.workspaceFolders?.map((f) => f.uri) ?? (params?.rootUri ? [params.rootUri] : []);
    roots = folders.filter((u) => u.startsWith('file:')).map(fileNameOf);
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
        ...capabilitiesFor(params?.capabilities),
      },
      serverInfo: { name: 'kmem-language-server' },
    };
  });

  /** Includes of a saved scenario: open documents as the editor has them, other files from disk. */
  const includesOf = (uri: string): IncludeHost => {
    if (!uri.startsWith('file:')) {
      return {
        resolve: (path) => ({ code: 'KM2031', message: `cannot include '${path}': save the scenario first` }),
      };
    }
    const fileName = fileNameOf(uri);
    const root = roots.find((r) => !relative(r, fileName).startsWith('..')) ?? dirname(fileName);
    return fileIncludeHost(
      root,
      {},
      (full) => documents.get(pathToFileURL(full).href)?.getText() ?? readFileSync(full, 'utf8'),
    );
  };

  const capabilitiesFor = registerFeatures(connection, documents, service, includesOf);

  const publish = (uri: string, diagnostics: ReturnType<typeof toLspDiagnostic>[], version?: number): void => {
    connection.sendDiagnostics({ uri, version, diagnostics }).catch((error: unknown) => {
      connection.console.error(describeFailure(`publishing diagnostics for ${uri}`, error));
    });
  };

  const diagnoseNow = (uri: string): void => {
    const document = documents.get(uri);
    if (document === undefined) {
      return; // closed while the timer ran; didClose already cleared it
    }
    const diagnostics = guard(
      connection.console,
      `diagnostics for ${uri}`,
      () => service.diagnose(document.getText(), fileNameOf(uri), includesOf(uri)).map(toLspDiagnostic),
      [],
    );
    publish(uri, diagnostics, document.version);
  };

  documents.onDidChangeContent(({ document }) => {
    pending.schedule(document.uri, () => diagnoseNow(document.uri));
    // A scenario that includes the changed file sees its new text: diagnose the open ones that include any.
    for (const other of documents.all()) {
      if (other.uri !== document.uri && /^\s*include\b/m.test(other.getText())) {
        pending.schedule(other.uri, () => diagnoseNow(other.uri));
      }
    }
  });
  documents.onDidClose(({ document }) => {
    pending.cancel(document.uri);
    publish(document.uri, []);
  });
  connection.onShutdown(() => pending.dispose());

  documents.listen(connection);
}
