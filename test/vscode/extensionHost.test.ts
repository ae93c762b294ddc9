/*
 * The extension-host suite (test/vscode/suite, bundled as dist/test/suite/index.js) inside a real VS Code
 * extension host: code-server's bundled VS Code server with the smoke-test driver on, opened by chromium
 * with a `payload` that names the repository as extensionDevelopmentPath and the suite as
 * extensionTestsPath. When the suite's run() settles the workbench calls window.codeAutomationExit(code);
 * the suite's own report (results.json, suite.log) says what passed.
 *
 *   node --import tsx --test test/vscode/extensionHost.test.ts     (after node scripts/build.mjs)
 */

import * as assert from 'node:assert/strict';
import { appendFileSync, cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { launchBrowser } from './lib/browser';
import { distExtension, distSuite, examplesDir, repoRoot } from './lib/paths';
import { TestRun } from './lib/run';
import { withTimeout } from './lib/wait';
import {
  BUILD_HINT,
  remoteUri,
  requireFiles,
  startServerMain,
  workbenchUrl,
  writeUserSettings,
} from './lib/vscodeHost';
import type { SuiteResults } from './suite/report';

/** Server start, workbench load, extension activation and the whole suite (about 40 s warm). */
const SUITE_TIMEOUT_MS = 240_000;

test('the extension-host suite passes inside code-server', { timeout: SUITE_TIMEOUT_MS + 60_000 }, async () => {
  requireFiles([
    { path: distExtension, fix: BUILD_HINT },
    { path: distSuite, fix: BUILD_HINT },
  ]);
  const run = TestRun.create('extension-host', 'ehost');
  let failure: unknown;
  try {
    cpSync(examplesDir, join(run.workspaceDir, 'examples'), { recursive: true });
    writeUserSettings(run.userDataDir);
    const reportDir = join(run.resultsDir, 'suite');
    const server = await startServerMain(run);
    const { page } = await launchBrowser(run);

    let exitCode: (code: number) => void = () => undefined;
    const exited = new Promise<number>((resolve) => (exitCode = resolve));
    await page.exposeFunction('codeAutomationExit', (code: number) => {
      run.log(`codeAutomationExit(${code})`);
      exitCode(code);
    });
    const workbenchLog = join(run.logsDir, 'workbench.log');
    await page.exposeFunction('codeAutomationLog', (level: string, message: string) => {
      appendFileSync(workbenchLog, `[${level}] ${message}\n`);
    });

    const url = workbenchUrl(server, run.workspaceDir, [
      ['extensionDevelopmentPath', remoteUri(server, repoRoot)],
      ['extensionTestsPath', remoteUri(server, distSuite)],
      ['extensionEnvironment', JSON.stringify({ KMEM_SUITE_REPORT_DIR: reportDir })],
    ]);
    run.log(`open ${url}`);
    await page.goto(url);
    const code = await withTimeout(exited, SUITE_TIMEOUT_MS, 'the extension-host suite (codeAutomationExit)');
    await page.screenshot({ path: join(run.resultsDir, 'extension-host-end.png') }).catch(() => undefined);

    const resultsFile = join(reportDir, 'results.json');
    const logFile = join(reportDir, 'suite.log');
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '(no suite.log)';
    assert.ok(
      existsSync(resultsFile),
      `the extension host exited with ${code} and the suite wrote no results.json; suite.log:\n${log}`,
    );
    const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as SuiteResults;
    assert.ok(results.failures === 0 && code === 0, `extension-host suite failed (exit ${code}):\n${log}`);
    assert.ok(results.passes > 0, `the suite ran no tests:\n${log}`);
    assert.equal(results.pending, 0, `tests were skipped:\n${log}`);
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    await run.finish(failure);
  }
});
