/*
 * The seam between the server and the pure language service in engine/lang. The server only ever
 * calls this interface: one plain function per feature, over the document's text (and file name where
 * the engine takes one), as vscode-css-languageservice does. A new feature adds its method here, its
 * conversion in convert.ts and one guarded handler in features.ts. Tests inject their own.
 *
 * Positions and ranges are the engine's (engine/lang/diagnostics.ts): 0-based lines and UTF-16
 * characters, LSP's own, so they cross the seam untouched. Features that follow `include` take the
 * document's file name and an IncludeHost (server.ts's includesOf); without a host they answer for the
 * text alone. Answers in another file name it (the host's name for it, an absolute path in the server).
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
  includedHover,
  prepareRename,
  references,
  rename,
  semanticTokens,
  type DocumentSymbol,
  type FileLocation,
  type FoldingRange,
  type SemanticToken,
  type TextEdit,
} from '../../engine/lang/navigation';
import { documentLinks, type IncludeLink } from '../../engine/lang/links';
import { diagnose } from '../../engine/lang/service';
import type { IncludeHost } from '../../engine/lang/include';

export interface LanguageService {
  /** Every problem in `source`, its includes read through `includes`; never throws (the server guards it all the same). */
  diagnose(source: string, fileName: string, includes?: IncludeHost): Diagnostic[];
  /** Proposals at `position`; `insertText`, when present, is in snippet syntax. */
  completions(source: string, position: Position, fileName: string): CompletionItem[];
  /** Markdown about the token at `position` (a name declared in an included file too, given `includes`). */
  hover(source: string, position: Position, fileName: string, includes?: IncludeHost): Hover | undefined;
  /** The call whose parentheses hold `position`, with the parameter being typed. */
  signatureHelp(source: string, position: Position): SignatureHelp | undefined;
  /** Where the variable or procedure named at `position` is declared: `fileName` or an included file. */
  definition(source: string, position: Position, fileName: string, includes?: IncludeHost): FileLocation | undefined;
  /** The occurrences in this document of the variable or procedure named at `position`. */
  references(
    source: string,
    position: Position,
    includeDeclaration: boolean,
    fileName?: string,
    includes?: IncludeHost,
  ): Range[];
  /** The range and text of the name to rename, or why it cannot be renamed (declared in an included file, say). */
  prepareRename(
    source: string,
    position: Position,
    fileName?: string,
    includes?: IncludeHost,
  ): { range: Range; placeholder: string } | { error: string };
  /** One edit per occurrence, or why the rename is refused. */
  rename(
    source: string,
    position: Position,
    newName: string,
    fileName?: string,
    includes?: IncludeHost,
  ): { edits: TextEdit[] } | { error: string };
  /**
   * Each `include "path"` string that `includes` resolves, with the file it names. Optional: a service
   * without it (a test's) gives no links.
   */
  documentLinks(source: string, fileName: string, includes: IncludeHost): IncludeLink[];
  documentSymbols(source: string): DocumentSymbol[];
  foldingRanges(source: string): FoldingRange[];
  semanticTokens(source: string): SemanticToken[];
  /** The edits to the canonical layout; none for a document with syntax errors. */
  formatEdits(source: string): TextEdit[];
}

export const kmemLanguageService: LanguageService = {
  diagnose: (source, fileName, includes) => diagnose(source, fileName, undefined, includes),
  completions,
  hover: (source, position, fileName, includes) =>
    hover(source, position, fileName) ?? (includes && includedHover(source, position, fileName, includes)),
  signatureHelp,
  definition: (source, position, fileName, includes) => definition(source, position, fileName, includes),
  references,
  prepareRename,
  rename,
  documentLinks,
  documentSymbols,
  foldingRanges,
  semanticTokens,
  formatEdits,
};
