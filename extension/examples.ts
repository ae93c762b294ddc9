/*
 * KMem: Open Example Scenario. The bundled examples (the extension's own examples/ folder) in a quick pick,
 * each described by the first sentence of its header comment; the one chosen opens as a new untitled .kmem
 * document holding its text, so the extension's folder is never written. When a folder is open the
 * document is tied to a free name there (slab-growth.kmem, slab-growth-2.kmem, ...), so Save writes it
 * without asking where. The debugger runs a scenario from its file: the copy runs once it is saved.
 */

import * as vscode from 'vscode';

export const OPEN_EXAMPLE_COMMAND = 'kmem.openExample';

/** One bundled example: its file name, what its header says it shows, and its text. */
export interface ExampleScenario {
  readonly name: string;
  readonly description: string;
  readonly text: string;
}

/**
 * The first sentence of a scenario's header comment, without the leading "# name.kmem:": the comment lines
 * at the top up to the first blank comment line, joined, cut after the first full stop (at most `max`
 * characters, ellipsis included).
 */
export function describeExample(text: string, max = 160): string {
  const lines: string[] = [];
  for (const line of text.split(/\r?\n|\r/)) {
    const comment = /^\s*#\s?(.*)$/.exec(line);
    if (!comment || comment[1]!.trim() === '') break;
    lines.push(comment[1]!.trim());
  }
  let description = lines.join(' ').replace(/^[\w.-]+\.kmem:\s*/, '');
  const end = /[.!?](\s|$)/.exec(description);
  if (end) description = description.slice(0, end.index + 1);
  return description.length > max ? `${description.slice(0, max - 1).trimEnd()}…` : description;
}

/** The .kmem files of the extension's examples/ folder, by name. */
export async function listExamples(extensionUri: vscode.Uri): Promise<ExampleScenario[]> {
  const folder = vscode.Uri.joinPath(extensionUri, 'examples');
  const entries = await vscode.workspace.fs.readDirectory(folder);
  const names = entries
    .filter(([name, type]) => type === vscode.FileType.File && name.endsWith('.kmem'))
    .map(([name]) => name)
    .sort();
  const decoder = new TextDecoder();
  return Promise.all(
    names.map(async (name) => {
      const text = decoder.decode(await vscode.workspace.fs.readFile(vscode.Uri.joinPath(folder, name)));
      return { name, description: describeExample(text), text };
    }),
  );
}

/**
 * An untitled URI tied to a name not yet taken in the first workspace folder (slab-growth.kmem,
 * slab-growth-2.kmem, ...): saving it writes there without a dialog. Undefined when no folder is open.
 */
async function untitledUriFor(name: string): Promise<vscode.Uri | undefined> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  if (!folder) return undefined;
  const stem = name.replace(/\.kmem$/, '');
  for (let n = 1; ; n++) {
    const target = vscode.Uri.joinPath(folder, n === 1 ? name : `${stem}-${n}.kmem`);
    const open = vscode.workspace.textDocuments.some((d) => d.uri.path === target.path);
    const exists = await vscode.workspace.fs.stat(target).then(
      () => true,
      () => false,
    );
    if (!open && !exists) return vscode.Uri.from({ scheme: 'untitled', path: target.path });
  }
}

/** Opens a copy of the example as a new untitled kmem document and shows it. */
export async function openExampleCopy(example: ExampleScenario): Promise<vscode.TextDocument> {
  const uri = await untitledUriFor(example.name);
  let document: vscode.TextDocument;
  if (uri) {
    document = await vscode.workspace.openTextDocument(uri);
    const edit = new vscode.WorkspaceEdit();
    edit.insert(document.uri, new vscode.Position(0, 0), example.text);
    await vscode.workspace.applyEdit(edit);
    if (document.languageId !== 'kmem') document = await vscode.languages.setTextDocumentLanguage(document, 'kmem');
  } else {
    document = await vscode.workspace.openTextDocument({ language: 'kmem', content: example.text });
  }
  await vscode.window.showTextDocument(document, { preview: false });
  return document;
}

/**
 * The command: with an example's file name as argument (a walkthrough's `command:` link) it opens that
 * one; without, it asks. Returns the new document, or undefined when the pick was dismissed.
 */
async function openExample(extensionUri: vscode.Uri, name?: unknown): Promise<vscode.TextDocument | undefined> {
  const examples = await listExamples(extensionUri);
  if (typeof name === 'string') {
    const example = examples.find((e) => e.name === name || e.name === `${name}.kmem`);
    if (!example) {
      void vscode.window.showErrorMessage(`KMem: there is no bundled example named ${name}.`);
      return undefined;
    }
    return openExampleCopy(example);
  }
  const picked = await vscode.window.showQuickPick(
    examples.map((example) => ({ label: example.name, detail: example.description, example })),
    {
      title: 'KMem: Open Example Scenario',
      placeHolder: 'An example opens as a new untitled scenario: change it, save it, run it',
      matchOnDetail: true,
    },
  );
  return picked ? openExampleCopy(picked.example) : undefined;
}

export function registerExampleCommand(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(OPEN_EXAMPLE_COMMAND, (name?: unknown) => openExample(context.extensionUri, name)),
  );
}
