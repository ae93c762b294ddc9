/*
 * The seam between the server and the pure language service in engine/lang. The server only ever
 * calls this interface: one plain function per feature, over the document's text (and file name where
 * the engine takes one), as vscode-css-languageservice does. A new feature adds its method here, its
 * conversion in convert.ts and one guarded handler in features.ts. Tests inject their own.
 *
 * Positions and ranges are the engine's (engine/lang/diagnostics.ts): 0-based lines and UTF-16
 * characters, LSP's own, so they cross the seam untouched.
 */
import {
  completions,
  hover,
  signatureHelp,
  type CompletionItem,
  type Hover,
  type SignatureHelp,
} from '../../engine/lang/completion';
import type { Diagnostic, Position, Range } from '../../engine/lang/diagnostics';
import { formatEdits } from '../../engine/lang/format';
import {
  definition,
  documentSymbols,
  foldingRanges,
  prepareRename,
  references,
  rename,
  semanticTokens,
  type DocumentSymbol,
  type FoldingRange,
  type SemanticToken,
  type TextEdit,
} from '../../engine/lang/navigation';
import { diagnose } from '../../engine/lang/service';
import type { IncludeHost } from '../../engine/lang/include';

export interface LanguageService {
  /** Every problem in `source`, its includes read through `includes`; never throws (the server guards it all the same). */
  diagnose(source: string, fileName: string, includes?: IncludeHost): Diagnostic[];
  /** Proposals at `position`; `insertText`, when present, is in snippet syntax. */
  completions(source: string, position: Position, fileName: string): CompletionItem[];
  /** Markdown about the token at `position`. */
  hover(source: string, position: Position, fileName: string): Hover | undefined;
  /** The call whose parentheses hold `position`, with the parameter being typed. */
  signatureHelp(source: string, position: Position): SignatureHelp | undefined;
  /** Where the variable or procedure named at `position` is declared. */
  definition(source: string, position: Position): Range | undefined;
  references(source: string, position: Position, includeDeclaration: boolean): Range[];
  /** The range and text of the name to rename, or why it cannot be renamed. */
  prepareRename(source: string, position: Position): { range: Range; placeholder: string } | { error: string };
  /** One edit per occurrence, or why the rename is refused. */
  rename(source: string, position: Position, newName: string): { edits: TextEdit[] } | { error: string };
  documentSymbols(source: string): DocumentSymbol[];
  foldingRanges(source: string): FoldingRange[];
  semanticTokens(source: string): SemanticToken[];
  /** The edits to the canonical layout; none for a document with syntax errors. */
  formatEdits(source: string): TextEdit[];
}

export const kmemLanguageService: LanguageService = {
  diagnose: (source, fileName, includes) => diagnose(source, fileName, undefined, includes),
  completions,
  hover,
  signatureHelp,
  definition,
  references,
  prepareRename,
  rename,
  documentSymbols,
  foldingRanges,
  semanticTokens,
  formatEdits,
};
