/*
 * The debug adapter process: a KmemDebugSession speaking DAP over stdin/stdout, reading scenarios with
 * Node's fs. VS Code starts it as a child process (extension/extension.ts), so a runaway scenario can never
 * freeze the editor; tests and the demo start it the same way.
 */

import { readFile } from 'node:fs/promises';
import { KmemDebugSession } from './session';

const session = new KmemDebugSession({ readFile: (path) => readFile(path, 'utf8') });
process.on('SIGTERM', () => session.shutdown());
session.start(process.stdin, process.stdout);
