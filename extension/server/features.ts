/*
 * The language features over LSP: one guarded handler per request, each reading the synced document,
 * asking the language service (service.ts) and converting its answer (convert.ts).
 *
 *   request ──► documentOf(params)           ──► positionIn(document, params.position) ──► service.<feature>
 *                 │ not open: null                 │ line past the end: null                 │ convert.ts
 *                 │ no URI: InvalidParams          │ not a position: InvalidParams           ▼
 *                                                  │ character past its line: the line's end  LSP result
 *
 * Failure policy (as in server.ts): every handler goes through guardHandler, so an exception in the
 * service or a conversion is logged to the client's console and answered with null; malformed
 * params get a ResponseError InvalidParams; a refused rename gets a ResponseError RequestFailed with
 * the service's reason (VS Code shows it in the rename box). The session goes on after any of them.
 *
 * Capability choices (featureCapabilities): completion without trigger characters (VS Code asks as
 * a word is typed, and on Ctrl+Space) and without resolve (items come complete); signature help on "("
 * and ",", asked again on ")" so the popup closes with the call; rename with prepareRename when the
 * client supports it; hierarchical document symbols (flat SymbolInformation for a client without
 * them; kinds in convert.ts's SYMBOL_KIND); semantic tokens for the whole document only, with the
 * engine's legend; formatting ignores the client's FormattingOptions, since the layout is canonical
 * (2 spaces, as `kmem fmt`); document links without resolve (each include path's target is known at
 * once). None of it needs a package.json contribution.
 *
 * Includes: hover, definition, references, rename and document links read the document's includes
 * through the host server.ts gives (`includesOf`: workspace folders, open documents before disk), so
 * definition can answer a location in an included file and a rename of a name declared there is refused.
 */
import {
  ErrorCodes,
  LSPErrorCodes,
  ResponseError,
  type ClientCapabilities,
  type Connection,
  type Position,
  type ServerCapabilities,
  type TextDocuments,
} from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import {
  clientSupportOf,
  fileNameOf,
  SEMANTIC_TOKENS_LEGEND,
  toLspCompletionItem,
  toLspDocumentLink,
  toLspDocumentSymbol,
  toLspFileLocation,
  toLspFoldingRange,
  toLspHover,
  toLspLocation,
  toLspRange,
  toLspSemanticTokens,
  toLspSignatureHelp,
  toLspTextEdit,
  toSymbolInformation,
  type ClientSupport,
} from './convert';
import type { IncludeHost } from '../../engine/lang/include';
import { guardHandler } from './guard';
import type { LanguageService } from './service';

/** The capabilities of the language features, for a client that supports `support`. */
export function featureCapabilities(support: ClientSupport): ServerCapabilities {
  return {
    completionProvider: { resolveProvider: false },
    hoverProvider: true,
    signatureHelpProvider: { triggerCharacters: ['(', ','], retriggerCharacters: [')'] },
    definitionProvider: true,
    referencesProvider: true,
    renameProvider: support.prepareRename ? { prepareProvider: true } : true,
    documentSymbolProvider: { label: 'kmem' },
    foldingRangeProvider: true,
    semanticTokensProvider: { legend: SEMANTIC_TOKENS_LEGEND, full: true, range: false },
    documentFormattingProvider: true,
    documentLinkProvider: { resolveProvider: false },
  };
}

/** What a handler answers: its result, null (no result) or an error response. */
type Answer<R> = R | null | ResponseError<void>;

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;
const isIndex = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;

const invalidParams = (method: string, message: string): ResponseError<void> =>
  new ResponseError(ErrorCodes.InvalidParams, `${method}: ${message}`);

/**
 * Registers the feature handlers on `connection`, reading documents from `documents` and the files a
 * document includes through `includesOf(uri)`. Returns the function that the initialize handler calls
 * with the client's capabilities, for the server's own.
 */
export function registerFeatures(
  connection: Connection,
  documents: TextDocuments<TextDocument>,
  service: LanguageService,
  includesOf: (uri: string) => IncludeHost,
): (client: ClientCapabilities | undefined) => ServerCapabilities {
  let support = clientSupportOf(undefined);
  const log = connection.console;

  /** The document's file name and its include host: the arguments of the features that follow includes. */
  const filesOf = (document: TextDocument): [string, IncludeHost] => [
    fileNameOf(document.uri),
    includesOf(document.uri),
  ];

  /** The document a request names: null when it is not open (or never was), an error when no URI is given. */
  const documentOf = (method: string, params: unknown): TextDocument | null | ResponseError<void> => {
    const uri = isRecord(params) && isRecord(params.textDocument) ? params.textDocument.uri : undefined;
    if (typeof uri !== 'string') {
      return invalidParams(method, 'params.textDocument.uri must be a string');
    }
    return documents.get(uri) ?? null;
  };

  /**
   * params.position in `document`: null on a line past the end, clamped to the end of its line when
   * the character is past it (LSP's rule), an error when it is no position.
   */
  const positionIn = (
    method: string,
    document: TextDocument,
    params: unknown,
  ): Position | null | ResponseError<void> => {
    const position = isRecord(params) ? params.position : undefined;
    if (!isRecord(position) || !isIndex(position.line) || !isIndex(position.character)) {
      return invalidParams(method, 'params.position must be { line, character } with non-negative integers');
    }
    if (position.line >= document.lineCount) {
      return null;
    }
    return document.positionAt(document.offsetAt({ line: position.line, character: position.character }));
  };

  /** A guarded handler of a request about a whole document. */
  const onDocument =
    <P, R>(method: string, work: (document: TextDocument, params: P) => Answer<R>) =>
    (params: P): Answer<R> => {
      const document = documentOf(method, params);
      return document === null || document instanceof ResponseError ? document : work(document, params);
    };

  /** A guarded handler of a request about a position in a document. */
  const onPosition = <P, R>(
    method: string,
    work: (document: TextDocument, position: Position, params: P) => Answer<R>,
  ): ((params: P) => Answer<R>) =>
    onDocument<P, R>(method, (document, params) => {
      const position = positionIn(method, document, params);
      return position === null || position instanceof ResponseError ? position : work(document, position, params);
    });

  const guarded = <P, R>(method: string, handler: (params: P) => Answer<R>) =>
    guardHandler<[P], Answer<R>>(log, method, handler, null);

  connection.onCompletion(
    guarded(
      'textDocument/completion',
      onPosition('textDocument/completion', (document, position) =>
        service
          .completions(document.getText(), position, fileNameOf(document.uri))
          .map((item) => toLspCompletionItem(item, support)),
      ),
    ),
  );

  connection.onHover(
    guarded(
      'textDocument/hover',
      onPosition('textDocument/hover', (document, position) => {
        const hover = service.hover(document.getText(), position, ...filesOf(document));
        return hover === undefined ? null : toLspHover(hover);
      }),
    ),
  );

  connection.onSignatureHelp(
    guarded(
      'textDocument/signatureHelp',
      onPosition('textDocument/signatureHelp', (document, position) => {
        const help = service.signatureHelp(document.getText(), position);
        return help === undefined ? null : toLspSignatureHelp(help, support);
      }),
    ),
  );

  connection.onDefinition(
    guarded(
      'textDocument/definition',
      onPosition('textDocument/definition', (document, position) => {
        const location = service.definition(document.getText(), position, ...filesOf(document));
        return location === undefined ? null : toLspFileLocation(document.uri, location);
      }),
    ),
  );

  connection.onReferences(
    guarded(
      'textDocument/references',
      onPosition('textDocument/references', (document, position, params: { context?: unknown }) => {
        const context = isRecord(params.context) ? params.context : {};
        const includeDeclaration = context.includeDeclaration !== false;
        return service
          .references(document.getText(), position, includeDeclaration, ...filesOf(document))
          .map((range) => toLspLocation(document.uri, range));
      }),
    ),
  );

  connection.onPrepareRename(
    guarded(
      'textDocument/prepareRename',
      onPosition('textDocument/prepareRename', (document, position) => {
        const answer = service.prepareRename(document.getText(), position, ...filesOf(document));
        if ('error' in answer) {
          return new ResponseError(LSPErrorCodes.RequestFailed, answer.error);
        }
        return { range: toLspRange(answer.range), placeholder: answer.placeholder };
      }),
    ),
  );

  connection.onRenameRequest(
    guarded(
      'textDocument/rename',
      onPosition('textDocument/rename', (document, position, params: { newName?: unknown }) => {
        const { newName } = params;
        if (typeof newName !== 'string') {
          return invalidParams('textDocument/rename', 'params.newName must be a string');
        }
        const answer = service.rename(document.getText(), position, newName, ...filesOf(document));
        if ('error' in answer) {
          return new ResponseError(LSPErrorCodes.RequestFailed, `Cannot rename to '${newName}': ${answer.error}`);
        }
        return { changes: { [document.uri]: answer.edits.map(toLspTextEdit) } };
      }),
    ),
  );

  connection.onDocumentLinks(
    guarded(
      'textDocument/documentLink',
      onDocument('textDocument/documentLink', (document) =>
        service
          .documentLinks(document.getText(), ...filesOf(document))
          .map((link) => toLspDocumentLink(document.uri, link)),
      ),
    ),
  );

  connection.onDocumentSymbol(
    guarded(
      'textDocument/documentSymbol',
      onDocument('textDocument/documentSymbol', (document) => {
        const symbols = service.documentSymbols(document.getText());
        return support.hierarchicalSymbols
          ? symbols.map(toLspDocumentSymbol)
          : toSymbolInformation(document.uri, symbols);
      }),
    ),
  );

  connection.onFoldingRanges(
    guarded(
      'textDocument/foldingRange',
      onDocument('textDocument/foldingRange', (document) =>
        service.foldingRanges(document.getText()).map(toLspFoldingRange),
      ),
    ),
  );

  connection.languages.semanticTokens.on(
    guarded(
      'textDocument/semanticTokens/full',
      onDocument('textDocument/semanticTokens/full', (document) =>
        toLspSemanticTokens(service.semanticTokens(document.getText())),
      ),
    ),
  );

  connection.onDocumentFormatting(
    guarded(
      'textDocument/formatting',
      onDocument('textDocument/formatting', (document) => service.formatEdits(document.getText()).map(toLspTextEdit)),
    ),
  );

  return (client) => {
    support = clientSupportOf(client);
    return featureCapabilities(support);
  };
}
