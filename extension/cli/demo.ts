/*
 * `npm run demo`: drives the real debug adapter (dist/adapter.js, over DAP on stdio) through a scenario, the
 * way VS Code does, and prints every stop with its locals and the slab caches in use; at the end it writes
 * a standalone HTML snapshot of the slab panel (the webview bundle with the final state baked in).
 *
 *   node dist/demo.js FILE [--break LINE]... [--function NAME]... [--html OUT.html]
 */

import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { MachineState } from '../../webview/protocol';
import { reportHtml } from '../../webview/html';

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      allowPositionals: true,
      options: {
        break: { type: 'string', multiple: true },
        function: { type: 'string', multiple: true },
        html: { type: 'string' },
      },
    });
  } catch (e) {
    process.stderr.write(`demo: ${(e as Error).message}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    process.stderr.write('usage: node dist/demo.js FILE [--break LINE]... [--function NAME]... [--html OUT.html]\n');
    return 2;
  }
  const program = resolve(positionals[0]!);
  const sourceLines = readFileSync(program, 'utf8').split(/\r?\n/);
  const breakLines = (values.break ?? []).map(Number);
  if (breakLines.some((n) => !Number.isInteger(n) || n < 1)) {
    process.stderr.write('demo: --break takes a 1-based line number\n');
    return 2;
  }

  const adapter = join(__dirname, 'adapter.js');
  const dc = new DebugClient(process.execPath, adapter, 'kmem', undefined, true);
  await dc.start();
  const queue: DebugProtocol.Event[] = [];
  let wake: (() => void) | undefined;
  const push = (e: DebugProtocol.Event) => {
    queue.push(e);
    wake?.();
  };
  dc.on('stopped', push);
  dc.on('terminated', push);
  dc.on('output', (e: DebugProtocol.OutputEvent) => process.stdout.write(`  | ${e.body.output}`));
  const next = async (): Promise<DebugProtocol.Event> => {
    while (queue.length === 0) await new Promise<void>((r) => (wake = r));
    return queue.shift()!;
  };

  console.log(`demo: debugging ${positionals[0]} through the kmem debug adapter (DAP over stdio)`);
  // The adapter sends `initialized` right after its initialize response: listen before asking.
  const initialized = dc.waitForEvent('initialized');
  await dc.initializeRequest({ adapterID: 'kmem', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  const launched = dc.launchRequest({ program, stopOnEntry: false } as DebugProtocol.LaunchRequestArguments);
  await initialized;
  const bps = await dc.setBreakpointsRequest({
    source: { path: program },
    breakpoints: breakLines.map((line) => ({ line })),
  });
  for (const bp of bps.body.breakpoints) {
    console.log(`demo: breakpoint at line ${bp.line} ${bp.verified ? 'verified' : `not verified: ${bp.message}`}`);
  }
  const fbps = await dc.setFunctionBreakpointsRequest({
    breakpoints: (values.function ?? []).map((name) => ({ name })),
  });
  (values.function ?? []).forEach((name, i) => {
    const bp = fbps.body.breakpoints[i];
    console.log(`demo: allocation breakpoint '${name}' ${bp?.verified ? 'verified' : `not verified: ${bp?.message}`}`);
  });
  await dc.configurationDoneRequest();
  await launched;

  let state: MachineState | undefined;
  let stops = 0;
  for (;;) {
    const event = await next();
    if (event.event === 'terminated') break;
    stops++;
    const body = (event as DebugProtocol.StoppedEvent).body;
    const trace = await dc.stackTraceRequest({ threadId: body.threadId ?? 1 });
    const frame = trace.body.stackFrames.find((f) => f.source) ?? trace.body.stackFrames[0]!;
    console.log(`\nstop ${stops}: ${body.reason} at line ${frame.line}: ${sourceLines[frame.line - 1]?.trim() ?? ''}`);
    if (body.description) console.log(`  ${body.description}`);
    const scopes = await dc.scopesRequest({ frameId: frame.id });
    const locals = scopes.body.scopes.find((s) => s.name === 'Locals');
    if (locals) {
      const vars = await dc.variablesRequest({ variablesReference: locals.variablesReference });
      console.log(`  locals: ${vars.body.variables.map((v) => `${v.name} = ${v.value}`).join(', ') || '(none)'}`);
    }
    state = (await dc.customRequest('kmem/state')).body as MachineState;
    for (const c of state.slabinfo.caches.filter((x) => x.numObjs > 0)) {
      console.log(
        `  ${c.name.padEnd(12)} ${c.activeObjs}/${c.numObjs} objs, ${c.numSlabs} slab(s) of ${c.pagesPerSlab} page(s), ${c.partial} partial, ${c.liveObjects} live`,
      );
    }
    await dc.continueRequest({ threadId: body.threadId ?? 1 });
  }
  await dc.stop();
  console.log(`\ndemo: the scenario ended after ${stops} stop(s)`);

  if (values.html && state) {
    const dist = __dirname;
    const html = reportHtml({
      title: `KMem: ${positionals[0]}`,
      state,
      script: readFileSync(join(dist, 'webview', 'slab.js'), 'utf8'),
      style: readFileSync(join(dist, 'webview', 'slab.css'), 'utf8'),
    });
    mkdirSync(dirname(resolve(values.html)), { recursive: true });
    writeFileSync(values.html, html);
    console.log(`demo: wrote the slab panel at the last stop to ${values.html}`);
  }
  return 0;
}

main().then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    process.stderr.write(`demo failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  },
);
