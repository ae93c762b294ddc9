/*
 * A test run's private world: one folder under .vscode-test/runs/ holds the VS Code user data, the
 * extensions, the browser profile, the workspace, TMPDIR, HOME and the XDG folders of every process the
 * run starts, so nothing is written to the real home folder or the system temp folder and two runs never
 * share state.
 *
 *   runs/<id>/                                     <id>: a short name and a base-36 time stamp
 *     home/ tmp/ xdg/{config,data,cache,runtime}/   the environment of every child process
 *     user-data/   extensions/   browser/             VS Code and Chromium state
 *     workspace/                                     the folder VS Code opens
 *     logs/                                          process output, browser console, run.log
 *
 * Unix sockets (Chromium's SingletonSocket, VS Code's IPC) live in TMPDIR and XDG_RUNTIME_DIR and their
 * paths must stay under 108 bytes, hence the short folder names; if the repository itself sits too deep,
 * those two move to a short folder in the system temp folder, removed with the run.
 *
 * Cleanups registered with `defer` run in reverse order in `finish`, also when the test failed. On failure
 * the logs (ours and VS Code's) are copied to test-results/<name>/ and the run folder is kept; on success
 * it is removed.
 */

import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runsDir, testResultsDir } from './paths';

type Cleanup = () => Promise<void> | void;

export class TestRun {
  readonly dir: string;
  readonly homeDir: string;
  readonly tmpDir: string;
  readonly userDataDir: string;
  readonly extensionsDir: string;
  readonly browserProfileDir: string;
  readonly workspaceDir: string;
  readonly logsDir: string;
  /** test-results/<name>/: screenshots and, on failure, the logs. */
  readonly resultsDir: string;
  private readonly cleanups: { label: string; fn: Cleanup }[] = [];
  private readonly xdg: Record<string, string>;

  /** A folder outside the run (short socket paths), removed in `finish`. */
  private readonly shortDir: string | undefined;

  private constructor(
    readonly name: string,
    shortName: string,
  ) {
    this.dir = join(runsDir, `${shortName}-${Date.now().toString(36)}`);
    // Longest socket path below TMPDIR: /org.chromium.Chromium.XXXXXX/SingletonSocket (46 bytes).
    this.shortDir = join(this.dir, 'tmp').length > 56 ? mkdtempSync(join(tmpdir(), 'kmem-')) : undefined;
    this.homeDir = join(this.dir, 'home');
    this.tmpDir = join(this.shortDir ?? this.dir, 'tmp');
    this.userDataDir = join(this.dir, 'user-data');
    this.extensionsDir = join(this.dir, 'extensions');
    this.browserProfileDir = join(this.dir, 'browser');
    this.workspaceDir = join(this.dir, 'workspace');
    this.logsDir = join(this.dir, 'logs');
    this.resultsDir = join(testResultsDir, name);
    this.xdg = {
      XDG_CONFIG_HOME: join(this.dir, 'xdg', 'config'),
      XDG_DATA_HOME: join(this.dir, 'xdg', 'data'),
      XDG_CACHE_HOME: join(this.dir, 'xdg', 'cache'),
      XDG_RUNTIME_DIR: join(this.shortDir ?? join(this.dir, 'xdg'), 'runtime'),
      XDG_STATE_HOME: join(this.dir, 'xdg', 'state'),
    };
    const dirs = [
      this.homeDir,
      this.tmpDir,
      this.userDataDir,
      this.extensionsDir,
      this.browserProfileDir,
      this.workspaceDir,
      this.logsDir,
      ...Object.values(this.xdg),
    ];
    for (const dir of dirs) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    }
    rmSync(this.resultsDir, { recursive: true, force: true });
    mkdirSync(this.resultsDir, { recursive: true });
  }

  /**
   * Creates the run folder (and prunes old ones). `name` is the folder under test-results/, `shortName`
   * starts the run folder's name (keep it short: socket paths).
   */
  static create(name: string, shortName: string): TestRun {
    pruneOldRuns();
    const run = new TestRun(name, shortName);
    run.log(`run folder ${run.dir}`);
    return run;
  }

  /** The environment of a child process: ours, with HOME, TMPDIR and XDG_* inside the run folder. */
  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env };
    // A VS Code or Electron process that started us must not leak its IPC hooks into the servers.
    for (const key of Object.keys(env)) {
      if (key.startsWith('VSCODE_') || key === 'ELECTRON_RUN_AS_NODE' || key === 'NODE_OPTIONS') {
        delete env[key];
      }
    }
    return {
      ...env,
      HOME: this.homeDir,
      TMPDIR: this.tmpDir,
      TMP: this.tmpDir,
      TEMP: this.tmpDir,
      npm_config_cache: join(this.tmpDir, 'npm-cache'),
      ...this.xdg,
      ...extra,
    };
  }

  /** Appends a timestamped line to logs/run.log (what the harness did, for a failure's post-mortem). */
  log(message: string): void {
    appendFileSync(join(this.logsDir, 'run.log'), `${new Date().toISOString()} ${message}\n`);
  }

  /** Registers a cleanup; `finish` runs them last-registered first. */
  defer(label: string, fn: Cleanup): void {
    this.cleanups.push({ label, fn });
  }

  /**
   * Runs the cleanups, then keeps the evidence of a failure (logs into test-results/<name>/logs) or removes
   * the run folder after a success. Cleanup errors are logged, never thrown over the test's own failure.
   */
  async finish(failure: unknown): Promise<void> {
    if (failure !== undefined) {
      this.log(`FAILED: ${failure instanceof Error ? (failure.stack ?? failure.message) : String(failure)}`);
    }
    for (const { label, fn } of this.cleanups.reverse()) {
      try {
        await fn();
      } catch (error) {
        this.log(`cleanup ${label} failed: ${String(error)}`);
      }
    }
    this.cleanups.length = 0;
    // run.log is small and says what happened when (the timings of every step): keep it either way.
    cpSync(join(this.logsDir, 'run.log'), join(this.resultsDir, 'run.log'));
    if (failure !== undefined) {
      this.collectLogs();
    } else {
      rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
    }
    if (this.shortDir) {
      rmSync(this.shortDir, { recursive: true, force: true, maxRetries: 3 });
    }
  }

  /** Copies our logs and VS Code's (user-data/logs: server, extension host, extensions) to test-results. */
  collectLogs(): void {
    const target = join(this.resultsDir, 'logs');
    mkdirSync(target, { recursive: true });
    cpSync(this.logsDir, target, { recursive: true });
    const vscodeLogs = join(this.userDataDir, 'logs');
    if (existsSync(vscodeLogs)) {
      cpSync(vscodeLogs, join(target, 'vscode'), { recursive: true });
    }
    this.log(`logs copied to ${target}`);
  }
}

/** Keeps the five newest run folders and any from the last two hours (a run may be in progress). */
function pruneOldRuns(): void {
  if (!existsSync(runsDir)) {
    return;
  }
  const entries = readdirSync(runsDir)
    .map((name) => ({ name, mtime: statSync(join(runsDir, name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  const cutoff = Date.now() - 2 * 60 * 60 * 1000;
  for (const entry of entries.slice(5)) {
    if (entry.mtime < cutoff) {
      rmSync(join(runsDir, entry.name), { recursive: true, force: true });
    }
  }
}
