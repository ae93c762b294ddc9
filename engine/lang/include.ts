/*
 * Includes: `include "lib/pools.kmem"` brings another scenario file's statements in at that point.
 *
 * The engine reads no files: the host (CLI, debug adapter, language server) gives an IncludeHost that turns
 * a path written in a file into the included file's name and text, and refuses what it must (a file outside
 * the workspace, one it cannot read). resolveIncludes() walks the top-level include statements depth first
 * from the scenario's own file (file 0) and parses each file once.
 *
 * Invariants:
 *   - files[0] is the scenario itself; every other file is reached through exactly one include statement
 *     (`targets`). A file included a second time elsewhere (a diamond) is not run again: as with
 *     `#pragma once`, the first include defines its procedures and variables and later ones do nothing.
 *   - A cycle (a file including itself, directly or through others) is KM2029 at the include statement
 *     that closes it, naming the chain; nothing of the cycle is included twice.
 *   - Only top-level includes are resolved; the checker reports one inside a block or procedure (KM2028).
 *   - Diagnostics of an included file carry its name in `file`; the scenario's file has none.
 */

import { IncludeStmt, Script } from './ast';
import { Diagnostic, error } from './diagnostics';
import { parse } from './parser';

/** What a host answers for `include PATH` written in file FROM. */
export type IncludeAnswer =
  | { readonly fileName: string; readonly text: string }
  | { readonly code: 'KM2030' | 'KM2031'; readonly message: string };

export interface IncludeHost {
  resolve(path: string, from: string): IncludeAnswer;
  /** One name per file however it was written (an absolute path), for cycles and repeats; default: the name. */
  identify?(fileName: string): string;
}

export interface SourceFile {
  readonly fileName: string;
  readonly text: string;
  readonly script: Script;
}

export interface IncludeGraph {
  /** The scenario's file first, then every included file in the order they are first included. */
  readonly files: readonly SourceFile[];
  /** The file (index into files) each include statement runs; absent for one that runs nothing. */
  readonly targets: ReadonlyMap<IncludeStmt, number>;
  /** Parse diagnostics of the included files (with `file`) and the include statements' own errors. */
  readonly diagnostics: readonly Diagnostic[];
}

/** Include statements nested deeper than this are refused (KM2029 too): a chain that deep is a mistake. */
export const MAX_INCLUDE_DEPTH = 32;

/** The include graph of a parsed scenario. Without a host every include statement is KM2031. */
export function resolveIncludes(main: SourceFile, host: IncludeHost | undefined): IncludeGraph {
  const files: SourceFile[] = [main];
  const targets = new Map<IncludeStmt, number>();
  const diagnostics: Diagnostic[] = [];
  const id = (fileName: string): string => host?.identify?.(fileName) ?? fileName;
  const indexOf = new Map<string, number>([[id(main.fileName), 0]]);
  const chain: string[] = [id(main.fileName)];
  const names: string[] = [main.fileName];

  const report = (d: Diagnostic, file: number): void => {
    diagnostics.push(file === 0 ? d : { ...d, file: files[file]!.fileName });
  };

  const visit = (file: number): void => {
    const from = files[file]!;
    for (const st of from.script.statements) {
      if (st.kind !== 'include') continue;
      if (!host) {
        report(error('KM2031', `include needs files, and this host reads none`, st.pathRange), file);
        continue;
      }
      const answer = host.resolve(st.path, from.fileName);
      if ('code' in answer) {
        report(error(answer.code, answer.message, st.pathRange), file);
        continue;
      }
      const key = id(answer.fileName);
      const cycleAt = chain.indexOf(key);
      if (cycleAt >= 0) {
        const cycle = [...names.slice(cycleAt), answer.fileName].map(fileBaseName).join(' -> ');
        report(error('KM2029', `include cycle: ${cycle}`, st.pathRange), file);
        continue;
      }
      if (chain.length >= MAX_INCLUDE_DEPTH) {
        report(error('KM2029', `includes nested more than ${MAX_INCLUDE_DEPTH} deep`, st.pathRange), file);
        continue;
      }
      if (indexOf.has(key)) continue; // included already: runs once
      const parsed = parse(answer.text);
      const index = files.length;
      files.push({ fileName: answer.fileName, text: answer.text, script: parsed.script });
      indexOf.set(key, index);
      targets.set(st, index);
      for (const d of parsed.diagnostics) report(d, index);
      chain.push(key);
      names.push(answer.fileName);
      visit(index);
      chain.pop();
      names.pop();
    }
  };
  visit(0);
  return { files, targets, diagnostics };
}

/** The last part of a file name, with either separator: "lib/pools.kmem" -> "pools.kmem". */
export function fileBaseName(fileName: string): string {
  return fileName.slice(Math.max(fileName.lastIndexOf('/'), fileName.lastIndexOf('\\')) + 1);
}

/**
 * Where a diagnostic of an included file shows in the scenario's own file: at the top-level include
 * statement that brings that file in (directly or through others), its message prefixed with the place
 * in the included file. Diagnostics of the scenario's file come back as they are.
 */
export function inScenarioFile(d: Diagnostic, graph: IncludeGraph): Diagnostic {
  if (d.file === undefined) return d;
  let file = graph.files.findIndex((f) => f.fileName === d.file);
  const at = `${fileBaseName(d.file)}:${d.range.start.line + 1}:${d.range.start.character + 1}`;
  // Walk up the include chain to the statement in file 0.
  for (let guard = 0; file > 0 && guard < MAX_INCLUDE_DEPTH + 1; guard++) {
    let parent: { stmt: IncludeStmt; from: number } | undefined;
    for (const [stmt, target] of graph.targets) {
      if (target !== file) continue;
      const from = graph.files.findIndex((f) => f.script.statements.includes(stmt));
      parent = { stmt, from };
    }
    if (!parent) break;
    if (parent.from === 0) {
      return { code: d.code, message: `${at}: ${d.message}`, severity: d.severity, range: parent.stmt.range };
    }
    file = parent.from;
  }
  return { code: d.code, message: `${at}: ${d.message}`, severity: d.severity, range: d.range };
}
