/*
 * The suite's own report. Inside code-server the extension host's console reaches the test only as
 * unformatted printf arguments, so the suite writes what happened to files the outer test reads:
 *
 *   <dir>/results.json   { passes, failures, pending, tests: [{ title, state, durationMs, error }] }
 *   <dir>/suite.log      one line per test as it finishes (partial if the host dies mid-run)
 *
 * <dir> is $KMEM_SUITE_REPORT_DIR (set by the outer test through the extension environment), else
 * test-results/extension-host-suite/ in the repository.
 */

import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Mocha from 'mocha';
import { testResultsDir } from '../lib/paths';

export interface TestRecord {
  readonly title: string;
  readonly state: 'passed' | 'failed' | 'pending';
  readonly durationMs: number;
  readonly error?: string;
}

export interface SuiteResults {
  readonly host: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly passes: number;
  readonly failures: number;
  readonly pending: number;
  readonly tests: readonly TestRecord[];
}

export function reportDir(): string {
  return process.env.KMEM_SUITE_REPORT_DIR ?? join(testResultsDir, 'extension-host-suite');
}

export class SuiteReport {
  readonly resultsFile: string;
  readonly logFile: string;
  private readonly tests: TestRecord[] = [];
  private readonly started = Date.now();

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.resultsFile = join(dir, 'results.json');
    this.logFile = join(dir, 'suite.log');
    rmSync(this.resultsFile, { force: true });
    writeFileSync(this.logFile, '');
  }

  log(line: string): void {
    appendFileSync(this.logFile, line + '\n');
  }

  /** Records every test (and failing hook) of `runner`; writes results.json when the run ends. */
  attach(runner: Mocha.Runner, host: string): void {
    runner.on('pass', (test: Mocha.Test) => this.add(test, 'passed'));
    runner.on('fail', (test: Mocha.Runnable, error: unknown) => this.add(test, 'failed', error));
    runner.on('pending', (test: Mocha.Test) => this.add(test, 'pending'));
    runner.on('end', () => this.write(host));
  }

  private add(test: Mocha.Runnable, state: TestRecord['state'], error?: unknown): void {
    const title = test.fullTitle();
    const durationMs = test.duration ?? 0;
    const message =
      error === undefined ? undefined : error instanceof Error ? (error.stack ?? error.message) : String(error);
    this.tests.push(
      message === undefined ? { title, state, durationMs } : { title, state, durationMs, error: message },
    );
    const mark = state === 'passed' ? 'ok  ' : state === 'failed' ? 'FAIL' : 'skip';
    this.log(`${mark} ${title} (${durationMs} ms)`);
    if (message !== undefined) {
      this.log(message.replace(/^/gm, '       '));
    }
  }

  private write(host: string): void {
    const count = (state: TestRecord['state']) => this.tests.filter((t) => t.state === state).length;
    const results: SuiteResults = {
      host,
      startedAt: new Date(this.started).toISOString(),
      durationMs: Date.now() - this.started,
      passes: count('passed'),
      failures: count('failed'),
      pending: count('pending'),
      tests: this.tests,
    };
    writeFileSync(this.resultsFile, JSON.stringify(results, null, 2) + '\n');
    this.log(
      `${results.passes} passed, ${results.failures} failed, ${results.pending} pending in ${results.durationMs} ms`,
    );
  }
}
