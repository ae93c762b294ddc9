/*
 * The VS Code glue, and the only code that imports `vscode`: registers the kmem debugger (configuration
 * provider, adapter factory, a tracker that refreshes panels at every stop), the language client for the
 * kmem language server, the slab-caches panel, and the editor's run and debug commands.
 */

import * as vscode from 'vscode';
import {
  LanguageClient,
  TransportKind,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import { DEBUG_TYPE, KmemAdapterFactory, KmemConfigurationProvider } from './debugConfig';
import { registerExampleCommand } from './examples';
import { SlabPanel } from './slabPanel';

let client: LanguageClient | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const panel = new SlabPanel(context.extensionUri);
  context.subscriptions.push(
    panel,
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, new KmemConfigurationProvider()),
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, new KmemAdapterFactory(context)),
    vscode.debug.registerDebugAdapterTrackerFactory(DEBUG_TYPE, {
      createDebugAdapterTracker: (session) => ({
        onDidSendMessage: (message: { type?: string; event?: string }) => {
          if (message.type === 'event' && message.event === 'stopped') {
            void panel.refresh(session);
          }
        },
      }),
    }),
    vscode.debug.onDidTerminateDebugSession((session) => {
      if (session.type === DEBUG_TYPE) panel.ended('The debug session ended: the panel shows its last stop.');
    }),
    vscode.commands.registerCommand('kmem.showSlabCaches', () => panel.show()),
    vscode.commands.registerCommand('kmem._slabPanelState', () => panel.state),
    vscode.commands.registerCommand('kmem.debugScenario', (uri?: vscode.Uri) => startScenario(uri, false)),
    vscode.commands.registerCommand('kmem.runScenario', (uri?: vscode.Uri) => startScenario(uri, true)),
  );
  registerExampleCommand(context);
  client = startLanguageClient(context);
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}

async function startScenario(uri: vscode.Uri | undefined, noDebug: boolean): Promise<boolean> {
  const target = uri ?? vscode.window.activeTextEditor?.document.uri;
  if (!target) {
    void vscode.window.showErrorMessage('KMem: open a .kmem scenario first.');
    return false;
  }
  return vscode.debug.startDebugging(
    vscode.workspace.getWorkspaceFolder(target),
    { type: DEBUG_TYPE, name: noDebug ? 'Run scenario' : 'Debug scenario', request: 'launch', program: target.fsPath },
    { noDebug },
  );
}

function startLanguageClient(context: vscode.ExtensionContext): LanguageClient {
  const module = context.asAbsolutePath('dist/server.js');
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
  };
  const clientOptions: LanguageClientOptions = { documentSelector: [{ language: 'kmem' }] };
  const languageClient = new LanguageClient('kmem', 'KMem Language Server', serverOptions, clientOptions);
  void languageClient.start();
  return languageClient;
}
