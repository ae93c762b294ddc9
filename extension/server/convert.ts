/*
 * Engine values to LSP values. Positions need no translation: engine/lang counts 0-based lines and
 * UTF-16 code units (JavaScript string indices), as LSP's default position encoding does, so ranges
 * are copied field by field. Markdown texts (hover, documentation) go out as MarkupContent.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CompletionItemKind,
  DiagnosticSeverity,
  FoldingRangeKind,
  InsertTextFormat,
  MarkupKind,
  SymbolKind as LspSymbolKind,
  type ClientCapabilities,
  type CompletionItem as LspCompletionItem,
  type Diagnostic as LspDiagnostic,
  type DocumentLink as LspDocumentLink,
  type DocumentSymbol as LspDocumentSymbol,
  type FoldingRange as LspFoldingRange,
  type Hover as LspHover,
  type Location,
  type MarkupContent,
  type ParameterInformation,
  type Position as LspPosition,
  type Range as LspRange,
  type SemanticTokens,
  type SemanticTokensLegend,
  type SignatureHelp as LspSignatureHelp,
  type SignatureInformation,
  type SymbolInformation,
  type TextEdit as LspTextEdit,
} from 'vscode-languageserver/node';
import type { CompletionItem, CompletionKind, Hover, SignatureHelp } from '../../engine/lang/completion';
import type { Diagnostic, Position, Range, Severity } from '../../engine/lang/diagnostics';
import type { IncludeLink } from '../../engine/lang/links';
import {
  encodeSemanticTokens,
  SEMANTIC_TOKEN_MODIFIERS,
  SEMANTIC_TOKEN_TYPES,
  type DocumentSymbol,
  type FileLocation,
  type FoldingRange,
  type SemanticToken,
  type SymbolKind,
  type TextEdit,
} from '../../engine/lang/navigation';

/** The `source` of every diagnostic this server publishes. */
export const DIAGNOSTIC_SOURCE = 'kmem';

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
};

export function toLspDiagnostic(diagnostic: Diagnostic): LspDiagnostic {
  return {
    range: toLspRange(diagnostic.range),
    severity: SEVERITY[diagnostic.severity],
    code: diagnostic.code,
    source: DIAGNOSTIC_SOURCE,
    message: diagnostic.message,
  };
}

/** The file name the service reports against: the path of a file: URI, the URI itself otherwise (untitled:). */
export function fileNameOf(uri: string): string {
  if (uri.startsWith('file:')) {
    try {
      return fileURLToPath(uri);
    } catch {
      return uri;
    }
  }
  return uri;
}

// ---- language features ------------------------------------------------------------------------------

/** What the client said it can take (InitializeParams.capabilities); VS Code takes all of it. */
export interface ClientSupport {
  /** completionItem.snippetSupport: otherwise snippet texts are sent as plain text. */
  snippets: boolean;
  /** documentSymbol.hierarchicalDocumentSymbolSupport: otherwise a flat SymbolInformation[]. */
  hierarchicalSymbols: boolean;
  /** signatureInformation.parameterInformation.labelOffsetSupport: otherwise parameter labels are strings. */
  parameterLabelOffsets: boolean;
  /** rename.prepareSupport: RenameOptions.prepareProvider may only be declared to such a client. */
  prepareRename: boolean;
}

export const FULL_CLIENT_SUPPORT: ClientSupport = {
  snippets: true,
  hierarchicalSymbols: true,
  parameterLabelOffsets: true,
  prepareRename: true,
};

export function clientSupportOf(capabilities: ClientCapabilities | undefined): ClientSupport {
  const text = capabilities?.textDocument;
  return {
    snippets: text?.completion?.completionItem?.snippetSupport === true,
    hierarchicalSymbols: text?.documentSymbol?.hierarchicalDocumentSymbolSupport === true,
    parameterLabelOffsets: text?.signatureHelp?.signatureInformation?.parameterInformation?.labelOffsetSupport === true,
    prepareRename: text?.rename?.prepareSupport === true,
  };
}

export function toLspPosition(p: Position): LspPosition {
  return { line: p.line, character: p.character };
}

export function toLspRange(r: Range): LspRange {
  return { start: toLspPosition(r.start), end: toLspPosition(r.end) };
}

const markdown = (value: string): MarkupContent => ({ kind: MarkupKind.Markdown, value });

const COMPLETION_KIND: Record<CompletionKind, CompletionItemKind> = {
  keyword: CompletionItemKind.Keyword,
  function: CompletionItemKind.Function,
  constant: CompletionItemKind.Constant,
  variable: CompletionItemKind.Variable,
  procedure: CompletionItemKind.Function,
  'machine-entry': CompletionItemKind.Property,
  'report-kind': CompletionItemKind.EnumMember,
  snippet: CompletionItemKind.Snippet,
};

/** Escapes of the snippet syntax: `\$`, `\}`, `\\`, and `\,`, `\|` in choices. */
const unescapeSnippet = (text: string): string => text.replace(/\\([$}\\,|])/g, '$1');

/**
 * One pass over a snippet, left to right: an escape, a choice `${1|a,b|}`, a placeholder `${1:text}`,
 * or a tab stop `$1` / `${1}`.
 */
const SNIPPET_PART =
  /\\([$}\\,|])|\$\{\d+\|((?:\\.|[^,|\\])*)(?:,(?:\\.|[^,|\\])*)*\|\}|\$\{\d+:((?:\\.|[^}\\])*)\}|\$\{\d+\}|\$\d+/g;

/**
 * The text a snippet inserts when the client cannot take snippets: a placeholder's default, a choice's
 * first option, no tab stops, escapes undone. Enough for the engine's snippets (no nesting, no variables).
 */
export function snippetToPlainText(snippet: string): string {
  return snippet.replace(
    SNIPPET_PART,
    (_part: string, escaped?: string, choice?: string, placeholder?: string) =>
      escaped ?? unescapeSnippet(choice ?? placeholder ?? ''),
  );
}

export function toLspCompletionItem(item: CompletionItem, support: ClientSupport): LspCompletionItem {
  const out: LspCompletionItem = { label: item.label, kind: COMPLETION_KIND[item.kind] };
  if (item.detail !== undefined) out.detail = item.detail;
  if (item.documentation !== undefined) out.documentation = markdown(item.documentation);
  if (item.sortText !== undefined) out.sortText = item.sortText;
  if (item.insertText !== undefined) {
    if (support.snippets) {
      out.insertText = item.insertText;
      out.insertTextFormat = InsertTextFormat.Snippet;
    } else {
      out.insertText = snippetToPlainText(item.insertText);
      out.insertTextFormat = InsertTextFormat.PlainText;
    }
  }
  return out;
}

export function toLspHover(hover: Hover): LspHover {
  return { contents: markdown(hover.contents), range: toLspRange(hover.range) };
}

/** Where each parameter's name stands in the label, searched left to right after the "(" as whole words. */
function parameterOffsets(label: string, parameters: readonly string[]): ([number, number] | undefined)[] {
  let from = label.indexOf('(') + 1;
  return parameters.map((name) => {
    const isPart = (i: number): boolean => /[A-Za-z0-9_]/.test(label.charAt(i));
    for (let i = label.indexOf(name, from); i >= 0; i = label.indexOf(name, i + 1)) {
      if (!isPart(i - 1) && !isPart(i + name.length)) {
        from = i + name.length;
        return [i, from];
      }
    }
    return undefined;
  });
}

export function toLspSignatureHelp(help: SignatureHelp, support: ClientSupport): LspSignatureHelp {
  const offsets = parameterOffsets(help.label, help.parameters);
  const parameters: ParameterInformation[] = help.parameters.map((name, i) => ({
    label: support.parameterLabelOffsets ? (offsets[i] ?? name) : name,
  }));
  const signature: SignatureInformation = { label: help.label, parameters };
  if (help.documentation !== undefined) signature.documentation = markdown(help.documentation);
  return { signatures: [signature], activeSignature: 0, activeParameter: help.activeParameter };
}

export const toLspLocation = (uri: string, range: Range): Location => ({ uri, range: toLspRange(range) });

/**
 * The URI of a file the service names in its answer about the document at `documentUri`: that URI for the
 * document's own file name (fileNameOf), a file: URI for another file (an included one, an absolute path).
 */
export function uriOfFile(fileName: string, documentUri: string): string {
  return fileName === fileNameOf(documentUri) ? documentUri : pathToFileURL(fileName).href;
}

/** A location the service gives for the document at `documentUri`, in that document or in another file. */
export const toLspFileLocation = (documentUri: string, location: FileLocation): Location =>
  toLspLocation(uriOfFile(location.fileName, documentUri), location.range);

export const toLspDocumentLink = (documentUri: string, link: IncludeLink): LspDocumentLink => ({
  range: toLspRange(link.range),
  target: uriOfFile(link.fileName, documentUri),
});

export const toLspTextEdit = (edit: TextEdit): LspTextEdit => ({
  range: toLspRange(edit.range),
  newText: edit.newText,
});

/**
 * Outline kinds: a procedure is a Function; a variable (parameters and loop variables included) a
 * Variable; the machine block a Module (the configuration the scenario boots) with its entries as
 * Property children; an `expect KIND`, `on cpu N`, `on irq`/`on softirq` block a Namespace (a scope
 * holding the variables declared in it).
 */
export const SYMBOL_KIND: Record<SymbolKind, LspSymbolKind> = {
  procedure: LspSymbolKind.Function,
  variable: LspSymbolKind.Variable,
  machine: LspSymbolKind.Module,
  property: LspSymbolKind.Property,
  block: LspSymbolKind.Namespace,
};

export function toLspDocumentSymbol(symbol: DocumentSymbol): LspDocumentSymbol {
  const out: LspDocumentSymbol = {
    name: symbol.name,
    kind: SYMBOL_KIND[symbol.kind],
    range: toLspRange(symbol.range),
    selectionRange: toLspRange(symbol.selectionRange),
  };
  if (symbol.detail !== undefined) out.detail = symbol.detail;
  if (symbol.children !== undefined) out.children = symbol.children.map(toLspDocumentSymbol);
  return out;
}

/** The outline flattened, for clients without hierarchical symbols: each entry names its parent. */
export function toSymbolInformation(uri: string, symbols: readonly DocumentSymbol[]): SymbolInformation[] {
  const out: SymbolInformation[] = [];
  const visit = (list: readonly DocumentSymbol[], containerName: string | undefined): void => {
    for (const s of list) {
      const info: SymbolInformation = {
        name: s.name,
        kind: SYMBOL_KIND[s.kind],
        location: toLspLocation(uri, s.range),
      };
      if (containerName !== undefined) info.containerName = containerName;
      out.push(info);
      if (s.children) visit(s.children, s.name);
    }
  };
  visit(symbols, undefined);
  return out;
}

const FOLDING_KIND: Record<NonNullable<FoldingRange['kind']>, string> = {
  comment: FoldingRangeKind.Comment,
  region: FoldingRangeKind.Region,
};

export function toLspFoldingRange(range: FoldingRange): LspFoldingRange {
  const out: LspFoldingRange = { startLine: range.startLine, endLine: range.endLine };
  if (range.kind !== undefined) out.kind = FOLDING_KIND[range.kind];
  return out;
}

/** The legend the server declares: the engine's type and modifier lists, in the engine's order. */
export const SEMANTIC_TOKENS_LEGEND: SemanticTokensLegend = {
  tokenTypes: [...SEMANTIC_TOKEN_TYPES],
  tokenModifiers: [...SEMANTIC_TOKEN_MODIFIERS],
};

export function toLspSemanticTokens(tokens: readonly SemanticToken[]): SemanticTokens {
  return { data: encodeSemanticTokens(tokens) };
}
