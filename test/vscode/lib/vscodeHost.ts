/*
 * The two ways to run a real VS Code here (see /work/shared/REAL-VSCODE.md):
 *
 *   code-server                 the workbench a person uses, with extensions installed from a .vsix;
 *                               ready when GET /healthz answers.
 *   server-main (inside it)     VS Code's own server; with --enable-smoke-test-driver its web client
 *                               honours extensionDevelopmentPath/extensionTestsPath from the `payload`
 *                               query and reports the suite's exit code to the page. Ready when GET
 *                               /version answers.
 *
 * Both run under Node 24 from .vscode-test (scripts/setup-vscode.sh installs it), on a free 127.0.0.1 port,
 * as their own process group with all state inside the TestRun's folder.
 */

import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { codeServerEntry, distExtension, node24, repoRoot, serverMain, vsceCli } from './paths';
import { startGroup, runToCompletion, type ProcessGroup } from './processes';
import type { TestRun } from './run';
import { freePort, waitForHttp } from './wait';

/** How long a cold server may take to answer (2 cores, first start compiles nothing but reads a lot). */
const STARTUP_TIMEOUT_MS = 90_000;

/** Fails with what to run when something the real-VS-Code tests need is missing. Never skips. */
export function requireFiles(files: readonly { path: string; fix: string }[]): void {
  const missing = files.filter((f) => !existsSync(f.path));
  if (missing.length > 0) {
    throw new Error('prerequisites missing:\n' + missing.map((f) => `  ${f.path}\n    -> ${f.fix}`).join('\n') + '\n');
  }
}

export const SETUP_HINT = 'run `bash scripts/setup-vscode.sh` (installs chromium, Node 24 and code-server)';
export const BUILD_HINT = 'run `node scripts/build.mjs` (the tests use the bundles in dist/)';

/**
 * User settings.json: no workspace-trust prompt (extensions stay disabled in Restricted Mode), no AI chat,
 * no welcome page, no telemetry, no gallery or update traffic, nothing that pops up over the views.
 */
export function writeUserSettings(userDataDir: string, extra: Record<string, unknown> = {}): void {
  const settings = {
    'security.workspace.trust.enabled': false,
    'chat.disableAIFeatures': true,
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'extensions.ignoreRecommendations': true,
    'git.enabled': false,
    'editor.minimap.enabled': false,
    'window.commandCenter': false,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'chat.commandCenter.enabled': false,
    'debug.internalConsoleOptions': 'neverOpen',
    'workbench.layoutControl.enabled': false,
    'debug.openDebug': 'openOnDebugBreak',
    'debug.toolBarLocation': 'docked',
    ...extra,
  };
  // Both code-server and server-main (given --user-data-dir) read <user-data-dir>/User/settings.json.
  const dir = join(userDataDir, 'User');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'settings.json'), JSON.stringify(settings, null, 2) + '\n');
}

export interface RunningServer {
  /** http://127.0.0.1:PORT */
  readonly baseUrl: string;
  readonly port: number;
  readonly group: ProcessGroup;
}

async function startAndWait(
  run: TestRun,
  name: string,
  args: (port: number) => string[],
  readyPath: string,
): Promise<RunningServer> {
  const port = await freePort();
  const group = startGroup({
    name,
    command: node24,
    args: args(port),
    env: run.env(),
    cwd: run.dir,
    logFile: join(run.logsDir, `${name}.log`),
  });
  run.log(`${name}: pid ${group.pid} (process group), port ${port}`);
  run.defer(`stop ${name}`, () => group.stop());
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${baseUrl}${readyPath}`, {
      timeoutMs: STARTUP_TIMEOUT_MS,
      abortWhen: group.exited,
      what: name,
    });
  } catch (error) {
    throw new Error(`${String(error)}\n--- ${name} log (tail) ---\n${group.logTail()}`, { cause: error });
  }
  run.log(`${name}: ready at ${baseUrl}`);
  return { baseUrl, port, group };
}

/** code-server with the run's user data and extensions, no auth, opened on `workspace`. */
export function startCodeServer(run: TestRun, workspace: string): Promise<RunningServer> {
  requireFiles([
    { path: node24, fix: SETUP_HINT },
    { path: codeServerEntry, fix: SETUP_HINT },
  ]);
  return startAndWait(
    run,
    'code-server',
    (port) => [
      codeServerEntry,
      '--auth',
      'none',
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--config',
      join(run.dir, 'code-server.yaml'),
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--ignore-last-opened',
      '--user-data-dir',
      run.userDataDir,
      '--extensions-dir',
      run.extensionsDir,
      workspace,
    ],
    '/healthz',
  );
}

/**
 * VS Code's server with the smoke-test driver on, extensions only from extensionDevelopmentPath (the
 * extensions dir stays empty), workspace trust off.
 */
export function startServerMain(run: TestRun): Promise<RunningServer> {
  requireFiles([
    { path: node24, fix: SETUP_HINT },
    { path: serverMain, fix: SETUP_HINT },
  ]);
  return startAndWait(
    run,
    'server-main',
    (port) => [
      serverMain,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--without-connection-token',
      '--accept-server-license-terms',
      '--enable-smoke-test-driver',
      '--disable-workspace-trust',
      '--disable-telemetry',
      '--server-data-dir',
      run.userDataDir,
      '--user-data-dir',
      run.userDataDir,
      '--extensions-dir',
      run.extensionsDir,
    ],
    '/version',
  );
}

/** Top-level folders vsce would walk for nothing (.vscodeignore keeps none of them) and that slow it down. */
const NOT_PACKAGED = new Set(['.git', 'node_modules', '.vscode-test', 'out', 'test-results', 'coverage']);

/**
 * Packages the extension as it is in dist/ (`vsce package --no-dependencies`, vsce 3 on this Node) into
 * the run folder and returns the .vsix path. vsce runs on a copy of the repository without the big
 * folders above (it lists every file before applying .vscodeignore: 30 s with code-server in
 * .vscode-test, 2 s without); .vscodeignore still decides what goes in.
 */
export async function packageExtension(run: TestRun): Promise<string> {
  requireFiles([
    { path: distExtension, fix: BUILD_HINT },
    { path: vsceCli, fix: 'run `npm ci` (vsce is a devDependency)' },
  ]);
  const stage = join(run.dir, 'package');
  for (const entry of readdirSync(repoRoot)) {
    if (!NOT_PACKAGED.has(entry)) {
      cpSync(join(repoRoot, entry), join(stage, entry), { recursive: true });
    }
  }
  const vsix = join(run.dir, 'kmem-debugger.vsix');
  const result = await runToCompletion({
    name: 'vsce',
    command: process.execPath,
    args: [vsceCli, 'package', '--no-dependencies', '-o', vsix],
    env: run.env(),
    cwd: stage,
    logFile: join(run.logsDir, 'vsce.log'),
    timeoutMs: 120_000,
  });
  if (result.code !== 0 || !existsSync(vsix)) {
    throw new Error(`vsce package failed (${result.code}):\n${result.output}`);
  }
  rmSync(stage, { recursive: true, force: true });
  run.log(`packaged ${vsix}`);
  return vsix;
}

/** `code-server --install-extension FILE.vsix` into the run's extensions dir. */
export async function installExtension(run: TestRun, vsix: string): Promise<void> {
  requireFiles([
    { path: node24, fix: SETUP_HINT },
    { path: codeServerEntry, fix: SETUP_HINT },
  ]);
  const result = await runToCompletion({
    name: 'install-extension',
    command: node24,
    args: [
      codeServerEntry,
      '--config',
      join(run.dir, 'code-server.yaml'),
      '--user-data-dir',
      run.userDataDir,
      '--extensions-dir',
      run.extensionsDir,
      '--force',
      '--install-extension',
      vsix,
    ],
    env: run.env(),
    cwd: run.dir,
    logFile: join(run.logsDir, 'install-extension.log'),
    timeoutMs: 120_000,
  });
  if (result.code !== 0) {
    throw new Error(`installing ${vsix} failed (${result.code}):\n${result.output}`);
  }
  run.log(`installed ${vsix}`);
}

/** The workbench URL for `folder`, with an optional smoke-test `payload` ([key, value] pairs). */
export function workbenchUrl(server: RunningServer, folder: string, payload?: readonly [string, string][]): string {
  let url = `${server.baseUrl}/?folder=${encodeURIComponent(folder)}`;
  if (payload) {
    url += `&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  }
  return url;
}

/** A vscode-remote URI for a path on the server (the payload's paths live on the server side). */
export function remoteUri(server: RunningServer, path: string): string {
  return `vscode-remote://127.0.0.1:${server.port}${path}`;
}
