/*
 * The slab-caches panel host: one webview panel that shows the machine of the active kmem debug session and
 * re-renders at every stop. Data comes from the adapter through the `kmem/state` custom request (never by
 * reaching into the adapter); messages both ways follow webview/protocol.ts and are validated on arrival.
 */

import * as vscode from 'vscode';
import { isWebviewToHost, type HostToWebview, type MachineState, type WebviewToHost } from '../webview/protocol';
import { makeNonce, panelHtml } from '../webview/html';

export const SLAB_PANEL_VIEW_TYPE = 'kmem.slabCaches';

export class SlabPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private lastState: MachineState | undefined;
  private programPath: string | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly extensionUri: vscode.Uri) {}

  /** The last state posted to the panel (tests read it through the kmem._slabPanelState command). */
  get state(): MachineState | undefined {
    return this.lastState;
  }

  show(): void {
    if (this.panel) {
      this.panel.reveal(undefined, true);
      return;
    }
    const root = vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview');
    const panel = vscode.window.createWebviewPanel(
      SLAB_PANEL_VIEW_TYPE,
      'KMem: Slab Caches',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      {
        enableScripts: true,
        localResourceRoots: [root],
      },
    );
    const webview = panel.webview;
    webview.html = panelHtml({
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(root, 'slab.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(root, 'slab.css')).toString(),
      title: 'KMem: Slab Caches',
    });
    webview.onDidReceiveMessage((raw: unknown) => this.onMessage(raw), undefined, this.disposables);
    panel.onDidDispose(() => (this.panel = undefined), undefined, this.disposables);
    this.panel = panel;
    void this.refresh(vscode.debug.activeDebugSession);
  }

  /** Asks the session for its machine state and shows it (called at every stop). */
  async refresh(session: vscode.DebugSession | undefined): Promise<void> {
    if (!session || session.type !== 'kmem') {
      return;
    }
    try {
      const state = (await session.customRequest('kmem/state')) as MachineState;
      this.programPath = typeof session.configuration.program === 'string' ? session.configuration.program : undefined;
      this.lastState = state;
      this.post({ type: 'state', state });
    } catch {
      // The session ended between the stop and the request: the panel keeps what it showed.
    }
  }

  ended(message: string): void {
    this.post({ type: 'ended', message });
  }

  dispose(): void {
    this.panel?.dispose();
    for (const d of this.disposables) d.dispose();
  }

  private post(message: HostToWebview): void {
    void this.panel?.webview.postMessage(message);
  }

  private onMessage(raw: unknown): void {
    if (!isWebviewToHost(raw)) {
      return; // untrusted input: ignore what the protocol does not describe
    }
    const message: WebviewToHost = raw;
    switch (message.type) {
      case 'ready':
        if (this.lastState) this.post({ type: 'state', state: this.lastState });
        break;
      case 'revealLine':
        void this.revealLine(message.line, message.file);
        break;
      case 'error':
        void vscode.window.showWarningMessage(`KMem slab panel: ${message.message}`);
        break;
    }
  }

  /** Shows `line` of the scenario, or of `file` when the last state's stop named that file (and no other). */
  private async revealLine(line: number, file: string | undefined): Promise<void> {
    const path = file === undefined ? this.programPath : file === this.lastState?.stop?.file ? file : undefined;
    if (!path || !Number.isInteger(line) || line < 1) return;
    const doc = await vscode.workspace.openTextDocument(path);
    const editor = await vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
    const pos = new vscode.Position(Math.min(line - 1, doc.lineCount - 1), 0);
    editor.selection = new vscode.Selection(pos, pos);
    editor.revealRange(new vscode.Range(pos, pos), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }
}
