/*
 * The pure language service: what an editor asks about a scenario, as plain functions over its text.
 * The LSP server (extension/server) only wires these to a connection; the CLI and the debug adapter reach
 * the same analysis through engine/scenario.ts. Nothing here throws on user input.
 *
 * analyze() runs the front end once: lex, parse (with recovery), check (on whatever the parser recovered).
 * diagnose() adds the machine-configuration checks and returns every diagnostic in document order.
 */

import { CheckResult, check } from './checker';
import { Diagnostic, sortDiagnostics } from './diagnostics';
import { MachineDefaults, resolveMachineConfig } from './machineConfig';
import { ParseResult, parse } from './parser';

export interface Analysis {
  readonly fileName: string;
  readonly parse: ParseResult;
  readonly check: CheckResult;
  /** Lexical, syntax and check diagnostics (not the machine configuration's). */
  readonly diagnostics: readonly Diagnostic[];
}

export function analyze(source: string, fileName: string): Analysis {
  const parsed = parse(source);
  const checked = check(parsed.script);
  return { fileName, parse: parsed, check: checked, diagnostics: [...parsed.diagnostics, ...checked.diagnostics] };
}

/** Every diagnostic of a scenario: lex + parse + check + machine-config validation. Never throws. */
export function diagnose(source: string, fileName: string, defaults?: MachineDefaults): Diagnostic[] {
  const analysis = analyze(source, fileName);
  const machine = resolveMachineConfig(analysis.check.machine, defaults);
  return sortDiagnostics([...analysis.diagnostics, ...machine.diagnostics]);
}
