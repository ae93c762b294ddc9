import { cpSync } from 'node:fs';
import { examplesDir } from './lib/paths';
import { TestRun } from './lib/run';
import { launchBrowser } from './lib/browser';
import { startCodeServer, writeUserSettings, workbenchUrl } from './lib/vscodeHost';

async function main() {
  const run = TestRun.create('probe');
  let failure: unknown;
  try {
    cpSync(examplesDir, run.workspaceDir + '/examples', { recursive: true });
    writeUserSettings(run.userDataDir);
    const t0 = Date.now();
    const server = await startCodeServer(run, run.workspaceDir);
    console.log('ready', Date.now() - t0);
    const { page } = await launchBrowser(run);
    await page.goto(workbenchUrl(server, run.workspaceDir));
    await page.locator('.monaco-workbench').waitFor({ timeout: 60000 });
    await page.locator('.explorer-folders-view').waitFor({ timeout: 60000 });
    console.log('workbench', Date.now() - t0);
    await page.screenshot({ path: run.resultsDir + '/probe.png' });
    console.log(run.dir);
    throw new Error('keep');
  } catch (e) { failure = e; } finally { await run.finish(failure); }
}
void main();
