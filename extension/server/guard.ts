/*
 * The server must outlive its own bugs. Every call into the language service, and every request
 * handler, goes through `guard`: an exception (or a rejected promise) is logged to the client's
 * console with the name of what failed and answered with that request's empty result, the way
 * vscode-css-languageservice's server answers `null` or `[]` when a service throws.
 */

/** The part of the LSP connection's remote console the guard needs. */
export interface ErrorLog {
  error(message: string): void;
}

/** "label failed: message" plus the stack, for the client's output channel. */
export function describeFailure(label: string, error: unknown): string {
  if (error instanceof Error) {
    return `kmem: ${label} failed: ${error.message}${error.stack ? `\n${error.stack}` : ''}`;
  }
  return `kmem: ${label} failed: ${String(error)}`;
}

/** Runs `work`; on an exception logs it and returns `empty` instead. */
export function guard<R>(log: ErrorLog, label: string, work: () => R, empty: R): R {
  try {
    return work();
  } catch (error) {
    log.error(describeFailure(label, error));
    return empty;
  }
}

/**
 * Wraps a request handler (sync or async) so that a throw or a rejection becomes `empty`, logged.
 * Later features plug in as `connection.onCompletion(guardHandler(console, 'completion', handler, null))`.
 */
export function guardHandler<P extends unknown[], R>(
  log: ErrorLog,
  label: string,
  handler: (...params: P) => R | Promise<R>,
  empty: R,
): (...params: P) => R | Promise<R> {
  return (...params: P) =>
    guard(
      log,
      label,
      () => {
        const result = handler(...params);
        return result instanceof Promise
          ? result.catch((error: unknown) => {
              log.error(describeFailure(label, error));
              return empty;
            })
          : result;
      },
      empty,
    );
}
