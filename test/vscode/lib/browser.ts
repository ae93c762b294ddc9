/*
 * Debian's chromium driven by playwright-core (no browser download): headless, a fresh profile inside the
 * run folder, no network beyond 127.0.0.1 in practice (background networking, sync, component updates
 * and QUIC off). The page's console and errors go to logs/browser-console.log.
 */

import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { chromiumPath } from './paths';
import type { TestRun } from './run';
import { settledWithin } from './wait';
import { SETUP_HINT } from './vscodeHost';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  '--password-store=basic',
] as const;

export interface BrowserSession {
  readonly context: BrowserContext;
  readonly page: Page;
}

/** Launches chromium with a fresh profile in the run folder; closed by the run's cleanups. */
export async function launchBrowser(
  run: TestRun,
  viewport: { width: number; height: number } = { width: 1600, height: 1000 },
): Promise<BrowserSession> {
  const executablePath = chromiumPath();
  if (!executablePath) {
    throw new Error(`chromium is not on PATH (or set KMEM_CHROMIUM): ${SETUP_HINT}`);
  }
  const context = await chromium.launchPersistentContext(run.browserProfileDir, {
    executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS],
    env: run.env(),
    viewport,
    deviceScaleFactor: 1,
    timeout: 60_000,
    // The workbench asks for clipboard access when a test types into inputs; grant it up front.
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  run.defer('close chromium', () => settledWithin(context.close(), 10_000));
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleLog = join(run.logsDir, 'browser-console.log');
  page.on('console', (message) => {
    appendFileSync(consoleLog, `[${message.type()}] ${message.text()}\n`);
  });
  page.on('pageerror', (error) => {
    appendFileSync(consoleLog, `[pageerror] ${error.stack ?? error.message}\n`);
  });
  run.log(`chromium ${executablePath}, profile ${run.browserProfileDir}`);
  return { context, page };
}
