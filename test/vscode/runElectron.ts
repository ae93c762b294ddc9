/*
 * The extension-host suite under @vscode/test-electron: downloads a desktop VS Code (needs internet, so it
 * fails on the CI machines, where test/vscode/extensionHost.test.ts runs the same suite in code-server)
 * and runs dist/test/suite/index.js in it.
 *
 *   npm run test:electron          (builds, then node dist/test/runElectron.js)
 *   VSCODE_TEST_VERSION=1.95.0 npm run test:electron
 *
 * Like the code-server tests it keeps all state in a run folder under .vscode-test/runs/ and the suite's
 * report in test-results/extension-host-electron/.
 */

import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runTests } from '@vscode/test-electron';
import { distSuite, examplesDir, repoRoot, vscodeTestDir } from './lib/paths';
import { TestRun } from './lib/run';
import { BUILD_HINT, requireFiles, writeUserSettings } from './lib/vscodeHost';
import type { SuiteResults } from './suite/report';

async function main(): Promise<number> {
  requireFiles([
    { path: join(repoRoot, 'dist', 'extension.js'), fix: BUILD_HINT },
    { path: distSuite, fix: BUILD_HINT },
  ]);
  const run = TestRun.create('extension-host-electron', 'electron');
  let failure: unknown;
  try {
    cpSync(examplesDir, join(run.workspaceDir, 'examples'), { recursive: true });
    writeUserSettings(run.userDataDir);
    const reportDir = join(run.resultsDir, 'suite');
    const code = await runTests({
      version: process.env.VSCODE_TEST_VERSION ?? 'stable',
      cachePath: vscodeTestDir,
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: distSuite,
      extensionTestsEnv: { ...run.env(), KMEM_SUITE_REPORT_DIR: reportDir },
      launchArgs: [
        run.workspaceDir,
        '--user-data-dir',
        run.userDataDir,
        '--extensions-dir',
        run.extensionsDir,
        '--disable-extensions',
        '--disable-workspace-trust',
        '--disable-telemetry',
        '--skip-welcome',
        '--skip-release-notes',
        '--disable-gpu',
        '--no-sandbox',
      ],
    });
    const resultsFile = join(reportDir, 'results.json');
    if (!existsSync(resultsFile)) {
      throw new Error(`VS Code exited with ${code} and the suite wrote no ${resultsFile}`);
    }
    const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as SuiteResults;
    console.log(readFileSync(join(reportDir, 'suite.log'), 'utf8'));
    if (code !== 0 || results.failures > 0 || results.passes === 0) {
      throw new Error(`extension-host suite: exit ${code}, ${results.failures} failed, ${results.passes} passed`);
    }
    return 0;
  } catch (error) {
    failure = error;
    console.error(error instanceof Error ? error.message : error);
    return 1;
  } finally {
    await run.finish(failure);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
