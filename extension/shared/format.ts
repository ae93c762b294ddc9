/*
 * How every host prints a diagnostic: `file:line:col: error KM1234: message`, 1-based like compilers, so
 * terminals and editors turn it into a link.
 */

import type { Diagnostic } from '../../engine/lang/diagnostics';

export function formatDiagnostic(file: string, d: Pick<Diagnostic, 'code' | 'message' | 'severity' | 'range'>): string {
  return `${file}:${d.range.start.line + 1}:${d.range.start.character + 1}: ${d.severity} ${d.code}: ${d.message}`;
}
