/*
 * Document links: every `include "path"` string of a text, linked to the file it names, so that an editor
 * opens the included file on a click. The host resolves the path (engine/lang/include.ts's IncludeHost), as
 * it does for diagnostics; the engine reads no file.
 *
 * Invariants:
 *   - One link per include statement whose path the host resolves, its range the string literal (quotes
 *     included), in document order. A path the host refuses (outside the workspace, unreadable) has none.
 *   - Every include statement is linked, wherever it stands: one inside a block (KM2028) or one that runs
 *     nothing (a file included before, a cycle) still names a file.
 */

import { Stmt, statementParts } from './ast';
import { Range } from './diagnostics';
import { IncludeHost } from './include';
import { parse } from './parser';

/** An include path's string literal and the file it resolves to (the host's name for it). */
export interface IncludeLink {
  readonly range: Range;
  readonly fileName: string;
}

/** The links of `source`, the text of `fileName`, whose include paths `includes` resolves. Never throws on text. */
export function documentLinks(source: string, fileName: string, includes: IncludeHost): IncludeLink[] {
  const links: IncludeLink[] = [];
  const visit = (statements: readonly Stmt[]): void => {
    for (const st of statements) {
      if (st.kind === 'include') {
        const answer = includes.resolve(st.path, fileName);
        if (!('code' in answer)) links.push({ range: st.pathRange, fileName: answer.fileName });
        continue;
      }
      for (const block of statementParts(st).blocks) visit(block.statements);
    }
  };
  visit(parse(source).script.statements);
  return links;
}
