// `npm test`: every check and every test, in the order a failure is cheapest to find.
//   1. build all bundles; 2. type check, lint, format check; 3. unit, DAP, LSP and webview tests (node:test);
//   4. the real VS Code tests (code-server + Chromium), after installing what they need.
// Flags: --no-vscode skips step 4 (for a quick local loop only; CI and `npm test` run everything).
import { spawnSync } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const skipVscode = process.argv.includes('--no-vscode');

function run(label, cmd, args, env = {}) {
  console.log(`\n== ${label}: ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) {
    console.error(`\n${label} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

const testsIn = (dir) =>
  existsSync(join(root, dir))
    ? readdirSync(join(root, dir))
        .filter((f) => f.endsWith('.test.ts'))
        .map((f) => join(dir, f))
    : [];

run('build', 'node', ['scripts/build.mjs']);
run('typecheck', 'npx', ['tsc', '-p', '.', '--noEmit']);
run('lint', 'npx', ['eslint', '.']);
run('format', 'npx', ['prettier', '--check', '.']);
const fast = [...testsIn('test/unit'), ...testsIn('test/dap'), ...testsIn('test/lsp'), ...testsIn('test/webview')];
run('tests', 'node', ['--import', 'tsx', '--test', '--test-concurrency=1', ...fast]);
if (!skipVscode) {
  run('setup real VS Code', 'bash', ['scripts/setup-vscode.sh']);
  run('real VS Code tests', 'node', ['--import', 'tsx', '--test', '--test-concurrency=1', ...testsIn('test/vscode')]);
}
