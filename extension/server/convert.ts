/*
 * Engine values to LSP values. Positions need no translation: engine/lang counts 0-based lines and
 * UTF-16 code units, as LSP does.
 */
import { fileURLToPath } from 'node:url';
import { DiagnosticSeverity, type Diagnostic as LspDiagnostic } from 'vscode-languageserver/node';
import type { Diagnostic, Severity } from '../../engine/lang/diagnostics';

/** The `source` of every diagnostic this server publishes. */
export const DIAGNOSTIC_SOURCE = 'kmem';

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
};

export function toLspDiagnostic(diagnostic: Diagnostic): LspDiagnostic {
  const { start, end } = diagnostic.range;
  return {
    range: {
      start: { line: start.line, character: start.character },
      end: { line: end.line, character: end.character },
    },
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
