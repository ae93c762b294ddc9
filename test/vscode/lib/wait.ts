/*
 * Bounded waiting. Tests wait for an event, a promise or an HTTP answer, never for a fixed time; each wait
 * has a deadline and says what it was waiting for when the deadline passes.
 */

import { createServer } from 'node:net';

/** Resolves with `promise`'s value, or rejects with `${what}: timed out after N ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves after `ms` or when `promise` settles, whichever is first; never rejects. */
export async function settledWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') {
          resolve(address.port);
        } else {
          reject(new Error('freePort: no address'));
        }
      });
    });
  });
}

export interface HttpWaitOptions {
  readonly timeoutMs: number;
  /** Between attempts; the server is not listening yet or answers with an error. */
  readonly intervalMs?: number;
  /** Stop early with this failure when it settles (the server process exited). */
  readonly abortWhen?: Promise<unknown>;
  readonly what: string;
}

/**
 * Polls `url` until it answers 2xx and returns the body. Fails after `timeoutMs`, or as soon as
 * `abortWhen` settles (a server that exits will never answer), with the last error seen.
 */
export async function waitForHttp(url: string, options: HttpWaitOptions): Promise<string> {
  const started = Date.now();
  let aborted: string | undefined;
  void options.abortWhen?.then(
    (value) => (aborted = `exited (${String(value)})`),
    (error: unknown) => (aborted = String(error)),
  );
  let last = 'no attempt';
  while (Date.now() - started < options.timeoutMs) {
    if (aborted !== undefined) {
      throw new Error(`${options.what}: ${aborted} before ${url} answered (last: ${last})`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
      const body = await response.text();
      if (response.ok) {
        return body;
      }
      last = `HTTP ${response.status}`;
    } catch (error) {
      last =
        error instanceof Error ? `${error.message}${error.cause ? ` (${String(error.cause)})` : ''}` : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 250));
  }
  throw new Error(`${options.what}: ${url} did not answer within ${options.timeoutMs} ms (last: ${last})`);
}
