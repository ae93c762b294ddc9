// One build, several targets: Node/CJS bundles for the extension, the debug adapter, the language server,
// the CLI, the demo, the benchmarks and the extension-host test suite; browser bundles for the webviews.
// `vscode` stays external (the extension host provides it); everything else is bundled, so the .vsix
// carries no node_modules. Type checking is separate: `npm run typecheck`.
//
//   node scripts/build.mjs [--production] [--watch]
import * as esbuild from 'esbuild';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const node = [
  ['extension/extension.ts', 'dist/extension.js'],
  ['extension/adapter/main.ts', 'dist/adapter.js'],
  ['extension/server/main.ts', 'dist/server.js'],
  ['extension/cli/main.ts', 'dist/cli.js'],
  ['extension/cli/demo.ts', 'dist/demo.js'],
  ['bench/bench.ts', 'dist/bench.js'],
  ['test/vscode/suite/index.ts', 'dist/test/suite/index.js'],
  ['test/vscode/runElectron.ts', 'dist/test/runElectron.js'],
];
const browser = [['webview/slab/main.ts', 'dist/webview/slab.js']];
const assets = [['webview/slab/style.css', 'dist/webview/slab.css']];

const common = {
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  absWorkingDir: root,
  target: 'es2022',
};

const present = (list) => list.filter(([src]) => existsSync(join(root, src)));
const configs = [
  ...present(node).map(([entry, outfile]) => ({
    ...common,
    // mocha, bundled into the extension-host suite, resolves optional parallel-mode files we never use.
    logOverride: { 'require-resolve-not-external': 'silent' },
    entryPoints: [entry],
    outfile,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode', 'playwright-core', 'mocha', '@vscode/test-electron'].filter(
      (m) => !(entry.startsWith('test/vscode/suite') && m === 'mocha'),
    ),
  })),
  ...present(browser).map(([entry, outfile]) => ({
    ...common,
    entryPoints: [entry],
    outfile,
    platform: 'browser',
    format: 'iife',
  })),
];

function copyAssets() {
  for (const [src, dest] of present(assets)) {
    mkdirSync(join(root, dirname(dest)), { recursive: true });
    copyFileSync(join(root, src), join(root, dest));
  }
}

if (watch) {
  for (const config of configs) {
    const ctx = await esbuild.context(config);
    await ctx.watch();
  }
  copyAssets();
  console.log('esbuild: watching');
} else {
  await Promise.all(configs.map((config) => esbuild.build(config)));
  copyAssets();
}
