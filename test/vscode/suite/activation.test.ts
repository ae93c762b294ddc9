/*
 * The extension as VS Code sees it: loaded from the development path, activated, contributing the
 * `kmem` language and debugger and the slab-caches commands.
 */

import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { activateExtension, slabGrowthExample } from './fixture';

interface Contributes {
  readonly languages?: readonly { id: string; extensions?: readonly string[] }[];
  readonly debuggers?: readonly { type: string }[];
  readonly commands?: readonly { command: string; title: string; category?: string }[];
}

export function activationTests(): void {
  suite('activation', () => {
    test('kmem.kmem-debugger is loaded and activates', async () => {
      const extension = await activateExtension();
      assert.equal(extension.isActive, true);
    });

    test('contributes the kmem language for *.kmem, the kmem debugger and KMem: Show Slab Caches', async () => {
      const extension = await activateExtension();
      const contributes = (extension.packageJSON as { contributes?: Contributes }).contributes ?? {};
      const language = contributes.languages?.find((l) => l.id === 'kmem');
      assert.ok(language, 'no kmem language contributed');
      assert.ok(language.extensions?.includes('.kmem'), `kmem language extensions ${String(language.extensions)}`);
      assert.ok(
        contributes.debuggers?.some((d) => d.type === 'kmem'),
        'no kmem debugger contributed',
      );
      const show = contributes.commands?.find((c) => c.command === 'kmem.showSlabCaches');
      assert.ok(show, 'kmem.showSlabCaches is not contributed');
      const title = show.category ? `${show.category}: ${show.title}` : show.title;
      assert.equal(title, 'KMem: Show Slab Caches');
      const registered = await vscode.commands.getCommands(true);
      for (const command of ['kmem.showSlabCaches', 'kmem._slabPanelState']) {
        assert.ok(registered.includes(command), `${command} is not registered`);
      }
    });

    test('a .kmem file opens in language mode kmem', async () => {
      const example = await slabGrowthExample();
      const document = await vscode.workspace.openTextDocument(example.uri);
      assert.equal(document.languageId, 'kmem');
    });
  });
}
