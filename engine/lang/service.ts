/*
 * The pure language service: what an editor asks about a scenario, as plain functions over its text.
 * The LSP server (extension/server) only wires these to a connection; the CLI and the debug adapter reach
 * the same analysis through engine/scenario.ts. Nothing here throws on user input.
 *
 * analyze() runs the front end once: lex, parse (with recovery), check (on whatever the parser recovered).
 * diagnose() adds the machine-configuration checks and returns every diagnostic in document order.
 * With an IncludeHost, `include` statements are resolved (engine/lang/include.ts) and the included files
 * checked in place; a problem inside one shows at the include statement that brings it in.
 */

import { CheckResult, check } from './checker';
import { Diagnostic, sortDiagnostics } from './diagnostics';
import { MachineDefaults, resolveMachineConfig } from './machineConfig';
import { ParseResult, parse } from './parser';
import { IncludeGraph, IncludeHost, inScenarioFile, resolveIncludes } from './include';

export interface Analysis {
  readonly fileName: string;
  readonly parse: ParseResult;
  readonly check: CheckResult;
  /** The scenario's file and the files it includes. */
  readonly includes: IncludeGraph;
  /**
   * Lexical, syntax and check diagnostics (not the machine configuration's), all in the scenario's own file:
   * an included file's problem stands at its include statement, its own place in the message.
   */
  readonly diagnostics: readonly Diagnostic[];
}

export function analyze(source: string, fileName: string, includes?: IncludeHost): Analysis {
  const parsed = parse(source);
  const graph = resolveIncludes({ fileName, text: source, script: parsed.script }, includes);
  const checked = check(parsed.script, graph);
  const diagnostics = [...parsed.diagnostics, ...graph.diagnostics, ...checked.diagnostics].map((d) =>
    inScenarioFile(d, graph),
  );
  return { fileName, parse: parsed, check: checked, includes: graph, diagnostics };
}

/** Every diagnostic of a scenario: lex + parse + check + machine-config validation. Never throws. */
export function diagnose(
  source: string,
  fileName: string,
  defaults?: MachineDefaults,
  includes?: IncludeHost,
): Diagnostic[] {
  const analysis = analyze(source, fileName, includes);
  const machine = resolveMachineConfig(analysis.check.machine, defaults);
  return sortDiagnostics([...analysis.diagnostics, ...machine.diagnostics]);
}
