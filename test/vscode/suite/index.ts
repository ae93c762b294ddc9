/*
 * The extension-host test suite: mocha inside a real VS Code extension host, loaded as
 * `extensionTestsPath` (dist/test/suite/index.js, bundled with mocha by scripts/build.mjs). VS Code calls
 * `run()` and exits the host with 0 when the promise resolves, 1 when it rejects.
 *
 * Two hosts run it: code-server's bundled server-main with the smoke-test driver
 * (test/vscode/extensionHost.test.ts, on these machines) and @vscode/test-electron's desktop VS Code
 * (test/vscode/runElectron.ts, `npm run test:electron`, needs internet). Either way the suite writes
 * results.json, suite.log and dap.jsonl into its report folder (see report.ts).
 *
 * The test files are bundled, not loaded from disk, so each exports a function that declares its
 * suites; `run()` binds mocha's tdd interface to the global object first, as mocha's file loader would.
 */

import { join } from 'node:path';
import Mocha from 'mocha';
import * as vscode from 'vscode';
import { activationTests } from './activation.test';
import { DapRecorder } from './dap';
import { debuggingTests } from './debugging.test';
import { launchTests } from './launch.test';
import { reportDir, SuiteReport } from './report';

export function run(): Promise<void> {
  const report = new SuiteReport(reportDir());
  const host = `${vscode.env.appName} ${vscode.version} (${vscode.env.uiKind === vscode.UIKind.Web ? 'web' : 'desktop'})`;
  report.log(`host: ${host}`);
  const dap = new DapRecorder(join(report.dir, 'dap.jsonl'));
  const mocha = new Mocha({ ui: 'tdd', timeout: 45_000, color: false, reporter: 'spec', failZero: true });
  mocha.suite.emit('pre-require', globalThis, 'kmem extension-host suite', mocha);
  activationTests();
  debuggingTests(dap);
  launchTests(dap);
  return new Promise((resolve, reject) => {
    try {
      const runner = mocha.run((failures) => {
        dap.dispose();
        if (failures > 0) {
          reject(new Error(`${failures} extension-host test(s) failed; see ${report.logFile}`));
        } else {
          resolve();
        }
      });
      report.attach(runner, host);
    } catch (error) {
      report.log(`mocha could not run: ${String(error)}`);
      dap.dispose();
      reject(error instanceof Error ? error : new Error(String(error)));
    }
  });
}
