/*
 * The hosts' side of `include "file"` (engine/lang/include.ts): paths resolve relative to the including
 * file, and must stay inside the workspace root (KM2030); a file that cannot be read is KM2031. The CLI and
 * the language server read synchronously (fileIncludeHost); the debug adapter, whose file access is
 * asynchronous, reads every file the include graph needs first (preloadIncludes) and then answers from
 * what it read.
 */

import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';

import { IncludeAnswer, IncludeHost, resolveIncludes } from '../../engine/lang/include';
import { parse } from '../../engine/lang/parser';

/** How an included file is named: absolute paths (the debugger, the editor), or relative to a directory (the CLI). */
export interface IncludeNaming {
  /** The directory names are relative to; absent: absolute names. */
  readonly relativeTo?: string;
}

type Refusal = Extract<IncludeAnswer, { code: string }>;

function place(
  root: string,
  path: string,
  from: string,
  naming: IncludeNaming,
): { full: string; fileName: string } | Refusal {
  if (path.trim() === '') return { code: 'KM2031', message: `include needs a file name` };
  const full = resolve(dirname(resolve(from)), path);
  const inside = relative(resolve(root), full);
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
    return { code: 'KM2030', message: `'${path}' is outside the workspace: include files under the scenario's folder` };
  }
  const fileName = naming.relativeTo !== undefined ? relative(naming.relativeTo, full) || full : full;
  return { full, fileName };
}

function unreadable(path: string, e: unknown): Refusal {
  const why = (e as NodeJS.ErrnoException | undefined)?.code === 'ENOENT' ? 'no such file' : 'it cannot be read';
  return { code: 'KM2031', message: `cannot include '${path}': ${why}` };
}

/** An include host over the file system, reading synchronously. `read` defaults to readFileSync. */
export function fileIncludeHost(
  root: string,
  naming: IncludeNaming = {},
  read: (full: string) => string = (full) => readFileSync(full, 'utf8'),
): IncludeHost {
  return {
    resolve(path, from) {
      const at = place(root, path, from, naming);
      if ('code' in at) return at;
      try {
        return { fileName: at.fileName, text: read(at.full) };
      } catch (e) {
        return unreadable(path, e);
      }
    },
    identify: (fileName) => resolve(fileName),
  };
}

/**
 * Reads, with an asynchronous `readFile`, every file the scenario's includes reach, then gives a host that
 * answers from those reads. Rounds: resolve the graph against what was read, read what it missed, again.
 */
export async function preloadIncludes(
  fileName: string,
  text: string,
  root: string,
  readFile: (full: string) => Promise<string>,
): Promise<IncludeHost> {
  const read = new Map<string, string | Error>();
  const script = parse(text).script;
  for (;;) {
    const missing = new Set<string>();
    const host = fileIncludeHost(root, {}, (full) => {
      const got = read.get(full);
      if (got === undefined) {
        missing.add(full);
        throw new Error('not read yet');
      }
      if (got instanceof Error) throw got;
      return got;
    });
    resolveIncludes({ fileName, text, script }, host);
    if (missing.size === 0) return host;
    for (const full of missing) {
      try {
        read.set(full, await readFile(full));
      } catch (e) {
        read.set(full, e instanceof Error ? e : new Error(String(e)));
      }
    }
  }
}
