/*
 * Watching the debug adapter from inside the extension host. A DebugAdapterTracker for type `kmem` sees
 * every DAP message between VS Code and our adapter; the recorder keeps them in order and lets a test wait
 * for the message that means "ready" (a `stopped` event with a given reason, `terminated`), never for a
 * fixed time.
 *
 * Race-free waiting: take `mark()` before the action that causes an event, then `waitForEvent(..., mark)`
 * looks at everything recorded since the mark, including what arrived before the wait began.
 */

import { appendFileSync } from 'node:fs';
import * as vscode from 'vscode';
import type { DebugProtocol } from '@vscode/debugprotocol';

export interface Recorded {
  readonly session: vscode.DebugSession;
  readonly direction: 'from adapter' | 'to adapter' | 'adapter exit';
  readonly message: DebugProtocol.ProtocolMessage;
}

interface Waiter {
  readonly from: number;
  readonly match: (r: Recorded) => boolean;
  readonly resolve: (r: Recorded) => void;
}

export class DapRecorder implements vscode.Disposable {
  private readonly recorded: Recorded[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly registrations: vscode.Disposable[];
  private readonly live = new Map<string, vscode.DebugSession>();

  /** `logFile`: every message is appended there too, one JSON line each (the suite's post-mortem). */
  constructor(private readonly logFile?: string) {
    const tracker = vscode.debug.registerDebugAdapterTrackerFactory('kmem', {
      createDebugAdapterTracker: (session) => {
        this.live.set(session.id, session);
        return {
          onDidSendMessage: (message: DebugProtocol.ProtocolMessage) => this.push(session, 'from adapter', message),
          onWillReceiveMessage: (message: DebugProtocol.ProtocolMessage) => this.push(session, 'to adapter', message),
          onExit: (code, signal) =>
            this.push(session, 'adapter exit', {
              seq: 0,
              type: 'event',
              event: 'kmem.adapterExit',
              body: { code, signal },
            } as DebugProtocol.Event),
        };
      },
    });
    const ended = vscode.debug.onDidTerminateDebugSession((session) => this.live.delete(session.id));
    this.registrations = [tracker, ended];
  }

  /** Stops every kmem session that has not terminated yet and waits for each to end. */
  async stopAll(timeoutMs = 15_000): Promise<void> {
    for (const session of [...this.live.values()]) {
      const ended = sessionEnded(session, timeoutMs);
      await vscode.debug.stopDebugging(session);
      await ended;
      this.live.delete(session.id);
    }
  }

  /** The position to wait from: events recorded after this call. */
  mark(): number {
    return this.recorded.length;
  }

  /** The first event named `event` (matching `where`) recorded at or after `from`. */
  waitForEvent<E extends DebugProtocol.Event>(
    event: string,
    from: number,
    timeoutMs: number,
    where: (e: E) => boolean = () => true,
  ): Promise<{ session: vscode.DebugSession; event: E }> {
    const match = (r: Recorded) =>
      r.direction === 'from adapter' &&
      r.message.type === 'event' &&
      (r.message as DebugProtocol.Event).event === event &&
      where(r.message as E);
    return this.waitFor(match, from, timeoutMs, `DAP event ${event}`).then((r) => ({
      session: r.session,
      event: r.message as E,
    }));
  }

  /** The events named `event` the adapter sent at or after `from`, so far. */
  eventsSince<E extends DebugProtocol.Event>(event: string, from: number): E[] {
    return this.recorded
      .slice(from)
      .filter((r) => r.direction === 'from adapter' && (r.message as DebugProtocol.Event).event === event)
      .map((r) => r.message as E);
  }

  /** A `stopped` event with `reason` after `from`. */
  waitForStop(
    reason: string,
    from: number,
    timeoutMs = 20_000,
  ): Promise<{ session: vscode.DebugSession; event: DebugProtocol.StoppedEvent }> {
    return this.waitForEvent<DebugProtocol.StoppedEvent>('stopped', from, timeoutMs, (e) => e.body.reason === reason);
  }

  private waitFor(match: (r: Recorded) => boolean, from: number, timeoutMs: number, what: string): Promise<Recorded> {
    const seen = this.recorded.slice(from).find(match);
    if (seen) {
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        from,
        match,
        resolve: (r) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(r);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${what}: not seen within ${timeoutMs} ms; since the mark:\n${this.describe(from)}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** A short transcript of what was recorded since `from` (for failure messages). */
  describe(from: number, max = 40): string {
    const lines = this.recorded.slice(from).map((r) => {
      const m = r.message as DebugProtocol.ProtocolMessage & { command?: string; event?: string; body?: unknown };
      const name = m.type === 'event' ? `event ${m.event}` : `${m.type} ${m.command}`;
      const body = m.body === undefined ? '' : ` ${JSON.stringify(m.body).slice(0, 160)}`;
      return `  ${r.direction}: ${name}${body}`;
    });
    return (lines.length > max ? ['  ...', ...lines.slice(-max)] : lines).join('\n') || '  (nothing)';
  }

  private push(session: vscode.DebugSession, direction: Recorded['direction'], message: DebugProtocol.ProtocolMessage) {
    const r: Recorded = { session, direction, message };
    this.recorded.push(r);
    if (this.logFile) {
      appendFileSync(this.logFile, JSON.stringify({ session: session.id, direction, message }) + '\n');
    }
    for (const waiter of [...this.waiters]) {
      if (this.recorded.length - 1 >= waiter.from && waiter.match(r)) {
        waiter.resolve(r);
      }
    }
  }

  dispose(): void {
    for (const registration of this.registrations) {
      registration.dispose();
    }
    this.waiters.clear();
  }
}

/** Resolves when `session` has terminated; create it before the action that ends the session. */
export function sessionEnded(session: vscode.DebugSession, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      listener.dispose();
      reject(new Error(`debug session ${session.name} did not terminate within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = vscode.debug.onDidTerminateDebugSession((ended) => {
      if (ended.id === session.id) {
        clearTimeout(timer);
        listener.dispose();
        resolve();
      }
    });
  });
}
