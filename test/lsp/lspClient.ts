/*
 * A test-side LSP client over any JSON-RPC message connection: the few requests and notifications
 * the tests speak, and inboxes that hand out server notifications in arrival order. Tests wait for
 * the notification that means "done" (never a sleep); node:test's per-test timeout bounds the wait.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import type {
  ClientCapabilities,
  Diagnostic,
  InitializeResult,
  LogMessageParams,
  PublishDiagnosticsParams,
  TextDocumentContentChangeEvent,
} from 'vscode-languageserver/node';

/** Items in arrival order; `next` takes the first that matches, waiting for it if need be. */
export class Inbox<T> {
  private readonly items: T[] = [];
  private readonly waiters: { accepts: (item: T) => boolean; resolve: (item: T) => void }[] = [];

  push(item: T): void {
    const i = this.waiters.findIndex((w) => w.accepts(item));
    if (i >= 0) {
      const [waiter] = this.waiters.splice(i, 1);
      waiter!.resolve(item);
    } else {
      this.items.push(item);
    }
  }

  next(accepts: (item: T) => boolean = () => true): Promise<T> {
    const i = this.items.findIndex(accepts);
    if (i >= 0) {
      return Promise.resolve(this.items.splice(i, 1)[0]!);
    }
    return new Promise((resolve) => this.waiters.push({ accepts, resolve }));
  }

  /** Takes every queued item that matches, without waiting. */
  drain(accepts: (item: T) => boolean = () => true): T[] {
    const taken = this.items.filter(accepts);
    for (const item of taken) {
      this.items.splice(this.items.indexOf(item), 1);
    }
    return taken;
  }
}

export const LANGUAGE_ID = 'kmem';

/** The client capabilities the server adapts to, as VS Code sends them. */
export const VSCODE_LIKE_CAPABILITIES: ClientCapabilities = {
  textDocument: {
    publishDiagnostics: { versionSupport: true },
    completion: { completionItem: { snippetSupport: true, documentationFormat: ['markdown', 'plaintext'] } },
    hover: { contentFormat: ['markdown', 'plaintext'] },
    signatureHelp: { signatureInformation: { parameterInformation: { labelOffsetSupport: true } } },
    documentSymbol: { hierarchicalDocumentSymbolSupport: true },
    rename: { prepareSupport: true },
  },
};

/** A client that takes none of the optional forms: plain-text completions, flat symbols, no prepareRename. */
export const MINIMAL_CAPABILITIES: ClientCapabilities = {
  textDocument: { publishDiagnostics: { versionSupport: true } },
};

export class LspTestClient {
  readonly diagnostics = new Inbox<PublishDiagnosticsParams>();
  readonly logs = new Inbox<LogMessageParams>();

  constructor(readonly connection: MessageConnection) {
    connection.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) =>
      this.diagnostics.push(p),
    );
    connection.onNotification('window/logMessage', (p: LogMessageParams) => this.logs.push(p));
    connection.listen();
  }

  /**
   * `processId` arms the server's parent watchdog (a 3 s interval, never cleared): give it for a
   * spawned server, as VS Code does, and null for one in this process. `capabilities` are VS Code's
   * (the parts the server reads) unless given.
   */
  async initialize(
    processId: number | null,
    capabilities: ClientCapabilities = VSCODE_LIKE_CAPABILITIES,
  ): Promise<InitializeResult> {
    const result = await this.connection.sendRequest<InitializeResult>('initialize', {
      processId,
      rootUri: null,
      capabilities,
    });
    await this.connection.sendNotification('initialized', {});
    return result;
  }

  open(uri: string, text: string, version = 1): Promise<void> {
    return this.connection.sendNotification('textDocument/didOpen', {
      textDocument: { uri, languageId: LANGUAGE_ID, version, text },
    });
  }

  change(uri: string, version: number, ...contentChanges: TextDocumentContentChangeEvent[]): Promise<void> {
    return this.connection.sendNotification('textDocument/didChange', {
      textDocument: { uri, version },
      contentChanges,
    });
  }

  close(uri: string): Promise<void> {
    return this.connection.sendNotification('textDocument/didClose', { textDocument: { uri } });
  }

  /** The next diagnostics published for `uri` (optionally for exactly `version`). */
  async nextDiagnostics(uri: string, version?: number): Promise<PublishDiagnosticsParams> {
    return this.diagnostics.next((p) => p.uri === uri && (version === undefined || p.version === version));
  }

  /** Every publication for `uri` up to and including the one for `version`, in order. */
  async diagnosticsUntil(uri: string, version: number): Promise<PublishDiagnosticsParams[]> {
    const seen: PublishDiagnosticsParams[] = [];
    for (;;) {
      const p = await this.diagnostics.next((d) => d.uri === uri);
      seen.push(p);
      if (p.version === version) {
        return seen;
      }
    }
  }
}

/** code + range of each diagnostic, the part the tests pin down. */
export const codesAndRanges = (diagnostics: Diagnostic[]): { code: unknown; range: Diagnostic['range'] }[] =>
  diagnostics.map(({ code, range }) => ({ code, range }));

/** A spawned `node dist/server.js --stdio` and a client speaking to it. */
export interface SpawnedServer {
  readonly child: ChildProcess;
  readonly client: LspTestClient;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** What the server wrote to stderr so far. */
  stderr(): string;
  /** Disposes the connection and kills the server if it still runs. */
  stop(): void;
}

/** Starts the built server (`node scripts/build.mjs` first) as VS Code's language client would. */
export function spawnServer(serverPath: string): SpawnedServer {
  const child = spawn(process.execPath, [serverPath, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const connection = createMessageConnection(
    new StreamMessageReader(child.stdout!),
    new StreamMessageWriter(child.stdin!),
  );
  connection.onError(() => undefined); // the end of the stream after exit is expected
  const client = new LspTestClient(connection);
  return {
    child,
    client,
    exited,
    stderr: () => stderr,
    stop: () => {
      connection.dispose();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill();
      }
    },
  };
}
