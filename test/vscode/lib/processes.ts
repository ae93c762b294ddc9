/*
 * Child processes as process groups. code-server forks a VS Code server, which forks an extension host,
 * which spawns our debug adapter and language server; an orphaned extension host can outlive its parent.
 * So every server starts as the leader of its own group (`detached`), and stopping it signals the whole
 * group: SIGTERM, then SIGKILL after a grace period. Groups still alive when this process exits (a test
 * failure, an uncaught error, Ctrl+C, the test runner's timeout) are killed by an exit hook.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { settledWithin } from './wait';

export interface ProcessGroup {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or the signal's name) when the group leader exits. */
  readonly exited: Promise<number | string>;
  /** Whether the leader has exited. */
  hasExited(): boolean;
  /** The last `chars` characters of the combined stdout/stderr log. */
  logTail(chars?: number): string;
  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves once the leader has gone. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<number>();

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

let hooked = false;
function hookExit(): void {
  if (hooked) {
    return;
  }
  hooked = true;
  process.on('exit', () => {
    for (const pid of live) {
      signalGroup(pid, 'SIGKILL');
    }
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const pid of live) {
        signalGroup(pid, 'SIGKILL');
      }
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
}

export interface StartOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** stdout and stderr go here (appended). */
  readonly logFile: string;
}

/** Starts `command` as the leader of a new process group, its output appended to `logFile`. */
export function startGroup(options: StartOptions): ProcessGroup {
  hookExit();
  const fd = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(options.command, [...options.args], {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', (error) => {
      done = true;
      resolve(`spawn error: ${error.message}`);
    });
  });
  if (child.pid === undefined) {
    throw new Error(`${options.name}: could not start ${options.command}`);
  }
  const pid = child.pid;
  live.add(pid);
  return {
    name: options.name,
    pid,
    logFile: options.logFile,
    exited,
    hasExited: () => done,
    logTail(chars = 4000) {
      try {
        const text = readFileSync(options.logFile, 'utf8');
        return text.slice(-chars);
      } catch {
        return '';
      }
    },
    async stop(graceMs = 5000) {
      signalGroup(pid, 'SIGTERM');
      await settledWithin(exited, graceMs);
      // The leader may be gone while its children (extension host, adapter) linger: always finish the group.
      signalGroup(pid, 'SIGKILL');
      await settledWithin(exited, 2000);
      live.delete(pid);
    },
  };
}

export interface RunResult {
  readonly code: number | string;
  readonly output: string;
}

/**
 * Runs a short-lived command to completion (in its own group, killed after `timeoutMs`) and returns its
 * exit code and output; the output is also appended to `logFile`.
 */
export async function runToCompletion(options: StartOptions & { readonly timeoutMs: number }): Promise<RunResult> {
  const group = startGroup(options);
  await settledWithin(group.exited, options.timeoutMs);
  const code = group.hasExited() ? await group.exited : `timed out after ${options.timeoutMs} ms`;
  await group.stop(1000);
  return { code, output: group.logTail(20000) };
}
