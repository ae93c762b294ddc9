/*
 * Debug configurations for `kmem`: the initial launch.json, F5 with no launch.json (debug the active
 * .kmem file), and the adapter as a child process (or inline, when the kmem.adapter.inline setting asks).
 */

import * as vscode from 'vscode';
import { readFile } from 'node:fs/promises';
import { KmemDebugSession } from './adapter/session';

export const DEBUG_TYPE = 'kmem';

export class KmemConfigurationProvider implements vscode.DebugConfigurationProvider {
  provideDebugConfigurations(): vscode.DebugConfiguration[] {
    return [{ type: DEBUG_TYPE, request: 'launch', name: 'Debug scenario', program: '${file}', stopOnEntry: false }];
  }

  resolveDebugConfiguration(
    folder: vscode.WorkspaceFolder | undefined,
    config: vscode.DebugConfiguration,
  ): vscode.DebugConfiguration | undefined {
    if (!config.type && !config.request && !config.name) {
      const editor = vscode.window.activeTextEditor;
      if (editor?.document.languageId !== 'kmem') {
        void vscode.window.showErrorMessage(
          'KMem: open a .kmem scenario to debug it, or add a kmem launch configuration.',
        );
        return undefined;
      }
      config.type = DEBUG_TYPE;
      config.name = 'Debug scenario';
      config.request = 'launch';
      config.program = editor.document.uri.fsPath;
      config.stopOnEntry = false;
    }
    if (!config.program) {
      void vscode.window.showErrorMessage(
        "KMem: the launch configuration needs a 'program' (the .kmem scenario to run).",
      );
      return undefined;
    }
    // `include` stays inside the workspace: the folder the scenario belongs to.
    const owner = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(String(config.program))) ?? folder;
    if (config.workspaceRoot === undefined && owner) config.workspaceRoot = owner.uri.fsPath;
    return config;
  }
}

export class KmemAdapterFactory implements vscode.DebugAdapterDescriptorFactory {
  constructor(private readonly context: vscode.ExtensionContext) {}

  createDebugAdapterDescriptor(): vscode.ProviderResult<vscode.DebugAdapterDescriptor> {
    if (vscode.workspace.getConfiguration('kmem').get<boolean>('adapter.inline', false)) {
      return new vscode.DebugAdapterInlineImplementation(
        new KmemDebugSession({ readFile: (p) => readFile(p, 'utf8') }),
      );
    }
    // The extension host's own runtime runs the bundled adapter: Node in code-server and VS Code Server,
    // Electron in Node mode on the desktop.
    return new vscode.DebugAdapterExecutable(process.execPath, [this.context.asAbsolutePath('dist/adapter.js')], {
      env: { ELECTRON_RUN_AS_NODE: '1' },
    });
  }
}
