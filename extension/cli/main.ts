/*
 * `kmem`: the command line. Runs the same engine as the debugger, headless, for CI and teaching.
 *
 *   kmem run FILE [--memory SIZE] [--cpus N] [--max-steps N] [--proc NAME]...   run a scenario, print a summary
 *   kmem check [--root DIR] FILE...                             print diagnostics; exit 2 on errors
 *   kmem boot [--memory SIZE] [--cpus N] [--proc NAME]...       /proc files of a freshly booted machine
 *
 * Exit codes: 0 clean; 1 the scenario hit a runtime error (a bad free, ...); 2 invalid input or usage.
 * Argument parsing is node:util.parseArgs; no flag is parsed by hand.
 */

import type { IncludeHost } from '../../engine/lang/include';
import { fileIncludeHost } from '../shared/includes';
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { LoadedScenario, ScenarioDefaults, loadScenario } from '../../engine/scenario';
import type { Diagnostic } from '../../engine/lang/diagnostics';
import { parseSlabDebug } from '../../engine/mm/slub_debug';
import { ARCH_NAMES, ArchName, isArchName } from '../../engine/mm/arch';
import { diagnose } from '../../engine/lang/service';
import { formatScript } from '../../engine/lang/format';
import { Machine } from '../../engine/mm/machine';
import { DEFAULT_CONFIG, KFENCE_MAX_INTERVAL_MS, MAX_CPUS, formatSize, parseSize } from '../../engine/mm/config';
import { buddyinfoView, slabinfoView, summaryView } from '../../engine/inspect/views';
import { reportEntries } from '../../engine/inspect/reports';
import type { Stop } from '../../engine/vm/vm';
import { RunDocument, renderHtmlReport } from './report';
import {
  DEBUGFS_FILE_NAMES,
  DebugfsFileName,
  PROC_FILE_NAMES,
  ProcFileName,
  debugfsFileText,
  isDebugfsFileName,
  procFileText,
} from '../../engine/inspect/procfs';
import { EVENT_KIND_NAMES } from '../../engine/trace/events';
import { formatDiagnostic } from '../shared/format';
import { REPORT_KINDS } from '../../engine/lang/builtins';

const PROC_FILES = PROC_FILE_NAMES;
type ProcFile = ProcFileName;

export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;

/** Statements `kmem run` lets a scenario start unless --max-steps says otherwise (seconds of work, not hours). */
export const DEFAULT_MAX_STEPS = 100_000_000;

/** How the summary names each detector. */
const DETECTOR_NAMES: Readonly<Record<string, string>> = {
  slub_debug: 'SLUB debugging',
  kasan: 'KASAN',
  kmemleak: 'kmemleak',
  kfence: 'KFENCE',
  might_sleep: 'might_sleep',
};

const HELP: Record<string, string> = {
  main: `kmem: run kernel-memory scenarios on an emulated Linux 6.12 machine

Usage:
  kmem run FILE [--memory SIZE] [--cpus N] [--arch ARCH] [--slab-debug FLAGS] [--kasan] [--kmemleak] [--kfence MS] [--seed N] [--json] [--report FILE.html] [--max-steps N] [--root DIR] [--proc NAME]... [--debugfs NAME]...
  kmem check [--root DIR] FILE...
  kmem fmt [--check] FILE...
  kmem boot [--memory SIZE] [--cpus N] [--arch ARCH] [--slab-debug FLAGS] [--kasan] [--kmemleak] [--kfence MS] [--proc NAME]... [--debugfs NAME]...
  kmem COMMAND --help

Exit codes: 0 clean, 1 runtime errors or detector reports, 2 invalid input or usage.
`,
  run: `kmem run FILE [--memory SIZE] [--cpus N] [--arch ARCH] [--slab-debug FLAGS] [--kasan] [--kmemleak] [--kfence MS] [--seed N] [--json] [--report FILE.html] [--max-steps N] [--root DIR] [--proc NAME]... [--debugfs NAME]...

Runs the scenario to the end and prints a summary: statements, events by kind, live objects per cache.
What the machine's kernel log receives (a page allocation failure, the OOM killer) is printed to stderr as
it happens. --memory, --cpus and --arch apply where the scenario's machine block is silent. Each --proc
prints that /proc file of the final machine (${PROC_FILE_NAMES.join(', ')}), each --debugfs that file
under /sys/kernel/debug (${DEBUGFS_FILE_NAMES.join(', ')}).
ARCH is ${ARCH_NAMES.join(', ')}. --slab-debug is the slab_debug= boot option's value (FZPU, FZ,kmalloc-64, ...)
where the scenario's machine block has none; --kasan boots with CONFIG_KASAN (generic) where it does not
say kasan n; --kmemleak with CONFIG_DEBUG_KMEMLEAK (the run ends with two scans); --kfence MS with KFENCE
sampling one allocation every MS milliseconds of the machine's clock (msleep). --json prints one JSON
document instead of the text (schema kmem-run/1, docs/cli.md). --seed seeds the machine's random numbers
(rand(), KFENCE's placement) where the machine block has no seed: a run is a function of scenario and seed.
--report FILE.html writes a self-contained HTML report of the run: the verdict, every detector report with
its kernel text, the expected and made counts, the source with the lines that reported, events by kind, the
output, the kernel log and the final views (caches, free areas); the exit code is the same.
The scenario's include statements read files under --root DIR (default: the current directory); a path
that leaves it is KM2030.
--max-steps bounds the statements the run may start (default
${DEFAULT_MAX_STEPS.toLocaleString('en-US')}); a scenario that goes past it, a loop that never ends, stops with KM4100.
Exits 1 when the scenario stops on a runtime error (a kernel panic and KM4100 included) or a detector
(SLUB debugging, KASAN, kmemleak, KFENCE) reported a bug the scenario's expect blocks did not expect, 2 when it does not compile.
`,
  fmt: `kmem fmt [--check] FILE...

Rewrites each scenario in the canonical form: 2-space indentation, one statement per line, single spaces
around operators, comments and number spellings kept (the rules are in engine/lang/format.ts). Files already
formatted are not touched. --check changes nothing: it names the files that are not formatted and exits 1
when there is one. A file with syntax errors is left as it is, its errors printed (exit 2).
`,
  check: `kmem check [--root DIR] FILE...

Prints every diagnostic as file:line:col: error KM1234: message (a problem in an included file at the
include statement, its own place first in the message). include statements read files under --root DIR
(default: the current directory). Exits 2 when any file has errors.
`,
  boot: `kmem boot [--memory SIZE] [--cpus N] [--arch ARCH] [--slab-debug FLAGS] [--kasan] [--kmemleak] [--kfence MS] [--proc NAME]... [--debugfs NAME]...

Boots a machine (default 256M, 2 CPUs, x86_64) and prints the files named, in the kernel's own format:
/proc files with --proc (${PROC_FILE_NAMES.join(', ')}), debugfs files with --debugfs
(${DEBUGFS_FILE_NAMES.join(', ')}); every /proc file when none is named. zoneinfo and meminfo print
only the fields the emulator models. ARCH is ${ARCH_NAMES.join(', ')}. --slab-debug boots with slab_debug=FLAGS
(FZPU, FZ,kmalloc-64, ...): the debug caches' geometry shows in slabinfo; --kasan with KASAN's metadata
and redzones in every cache.
`,
};

export interface Io {
  out(text: string): void;
  err(text: string): void;
  readFile(path: string): string;
  /** stderr is a terminal: long runs show a progress line there. */
  readonly errIsTty?: boolean;
  /** Milliseconds, for the progress line (performance.now() by default). */
  now?(): number;
  /** Writes a file (the HTML report); writeFileSync by default. */
  writeFile?(path: string, text: string): void;
}

const nodeIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  readFile: (p) => readFileSync(p, 'utf8'),
  errIsTty: process.stderr.isTTY === true,
};

/** A run shows its progress on a terminal's stderr after this long, then at most this often. */
export const PROGRESS_AFTER_MS = 1000;
const PROGRESS_EVERY_MS = 250;

/**
 * The progress line of a long run on a terminal: statements, events, the scenario line and the time, redrawn
 * in place ("\r", erased with "\x1b[K") and cleared when the run ends. Nothing when stderr is not a terminal.
 */
class Progress {
  private readonly start: number;
  private last = 0;
  private shown = false;

  constructor(private readonly io: Io) {
    this.start = this.now();
  }

  private now(): number {
    return this.io.now ? this.io.now() : performance.now();
  }

  update(statements: number, events: number, line: number): void {
    if (!this.io.errIsTty) return;
    const t = this.now();
    if (t - this.start < PROGRESS_AFTER_MS || t - this.last < PROGRESS_EVERY_MS) return;
    this.last = t;
    this.shown = true;
    const secs = ((t - this.start) / 1000).toFixed(1);
    this.io.err(
      `\r\x1b[Kkmem: ${statements.toLocaleString('en-US')} statements, ${events.toLocaleString('en-US')} events, line ${line}, ${secs} s`,
    );
  }

  /** Erases the line (before other output, and at the end); the next update draws it again. */
  done(): void {
    if (this.shown) this.io.err('\r\x1b[K');
    this.shown = false;
  }
}

const machineOptions = {
  memory: { type: 'string' },
  cpus: { type: 'string' },
  arch: { type: 'string' },
  proc: { type: 'string', multiple: true },
  debugfs: { type: 'string', multiple: true },
  'max-steps': { type: 'string' },
  'slab-debug': { type: 'string' },
  kasan: { type: 'boolean' },
  kmemleak: { type: 'boolean' },
  kfence: { type: 'string' },
  json: { type: 'boolean' },
  seed: { type: 'string' },
  report: { type: 'string' },
  root: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} satisfies ParseArgsConfig['options'];

export function main(argv: readonly string[], io: Io = nodeIo): number {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.out(HELP.main!);
    return command === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (command === '--version') {
    io.out(`kmem 0.1.0 (models Linux 6.12: ${ARCH_NAMES.join(', ')})\n`);
    return EXIT_OK;
  }
  const usage = (message: string) => {
    io.err(`kmem ${command}: ${message}\n${HELP[command] ?? HELP.main}`);
    return EXIT_USAGE;
  };
  switch (command) {
    case 'run':
    case 'boot': {
      let parsed;
      try {
        parsed = parseArgs({ args: [...rest], options: machineOptions, allowPositionals: true, strict: true });
      } catch (e) {
        return usage(e instanceof Error ? e.message : String(e));
      }
      const { values, positionals } = parsed;
      if (values.help) {
        io.out(HELP[command]!);
        return EXIT_OK;
      }
      const memoryBytes = values.memory === undefined ? undefined : parseSize(values.memory);
      if (values.memory !== undefined && memoryBytes === undefined) {
        return usage(`--memory takes a size such as 256M or 4G, not '${values.memory}'`);
      }
      const cpus = values.cpus === undefined ? undefined : Number(values.cpus);
      if (cpus !== undefined && (!Number.isInteger(cpus) || cpus < 1 || cpus > MAX_CPUS)) {
        return usage(`--cpus takes a whole number from 1 to ${MAX_CPUS}, not '${values.cpus}'`);
      }
      if (values.arch !== undefined && !isArchName(values.arch)) {
        return usage(`--arch takes ${ARCH_NAMES.join(', ')}, not '${values.arch}'`);
      }
      const arch = values.arch as ArchName | undefined;
      const debugfs = values.debugfs ?? [];
      const badDebugfs = debugfs.find((d) => !isDebugfsFileName(d));
      if (badDebugfs !== undefined) {
        return usage(`--debugfs takes ${DEBUGFS_FILE_NAMES.join(' or ')}, not '${badDebugfs}'`);
      }
      const files = { procs: [] as ProcFile[], debugfs: debugfs as DebugfsFileName[] };
      const procs = values.proc ?? [];
      const badProc = procs.find((p) => !(PROC_FILES as readonly string[]).includes(p));
      if (badProc !== undefined) {
        return usage(
          `--proc takes ${PROC_FILES.slice(0, -1).join(', ')} or ${PROC_FILES[PROC_FILES.length - 1]}, not '${badProc}'`,
        );
      }
      const kfence = values.kfence === undefined ? undefined : Number(values.kfence);
      if (kfence !== undefined && (!Number.isInteger(kfence) || kfence < 0 || kfence > KFENCE_MAX_INTERVAL_MS)) {
        return usage(
          `--kfence takes a sample interval in ms from 0 to ${KFENCE_MAX_INTERVAL_MS}, not '${values.kfence}'`,
        );
      }
      const seed = values.seed === undefined ? undefined : Number(values.seed);
      if (seed !== undefined && (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)) {
        return usage(`--seed takes a whole number from 0 to 4294967295, not '${values.seed}'`);
      }
      const slabDebugText = values['slab-debug'];
      if (slabDebugText !== undefined) {
        const parsed = parseSlabDebug(slabDebugText);
        const problem = parsed.ok ? parsed.warnings[0] : parsed.error;
        if (problem) return usage(`--slab-debug '${slabDebugText}': ${problem.message}`);
      }
      const slabDebug = {
        ...(slabDebugText === undefined ? {} : { slabDebug: slabDebugText }),
        ...(values.kasan ? { kasan: true } : {}),
        ...(values.kmemleak ? { kmemleak: true } : {}),
        ...(kfence !== undefined ? { kfence } : {}),
        ...(seed !== undefined ? { seed } : {}),
      };
      const maxSteps = values['max-steps'] === undefined ? DEFAULT_MAX_STEPS : Number(values['max-steps']);
      if (!Number.isSafeInteger(maxSteps) || maxSteps < 1) {
        return usage(`--max-steps takes a whole number of statements from 1 up, not '${values['max-steps']}'`);
      }
      if (command === 'boot') {
        if (positionals.length > 0) return usage(`unexpected argument '${positionals[0]}'`);
        if (values['max-steps'] !== undefined) return usage('--max-steps applies to kmem run');
        if (values.json) return usage('--json applies to kmem run');
        if (values.report !== undefined) return usage('--report applies to kmem run');
        if (values.root !== undefined) return usage('--root applies to kmem run and kmem check');
        files.procs = procs.length > 0 || debugfs.length > 0 ? (procs as ProcFile[]) : [...PROC_FILES];
        return boot(io, { memoryBytes, cpus, arch, ...slabDebug }, files);
      }
      if (positionals.length !== 1) {
        return usage(positionals.length === 0 ? 'name the scenario file to run' : 'run takes one scenario file');
      }
      files.procs = procs as ProcFile[];
      return run(io, positionals[0]!, { memoryBytes, cpus, arch, ...slabDebug }, files, maxSteps, {
        json: values.json ?? false,
        ...(values.report !== undefined ? { report: values.report } : {}),
        includes: includeHost(io, values.root),
      });
    }
    case 'check':
    case 'fmt': {
      // Both take files; fmt also --check.
      let parsed;
      try {
        parsed = parseArgs({
          args: [...rest],
          options: {
            help: { type: 'boolean', short: 'h' },
            check: { type: 'boolean' },
            root: { type: 'string' },
          },
          allowPositionals: true,
          strict: true,
        });
      } catch (e) {
        return usage(e instanceof Error ? e.message : String(e));
      }
      if (parsed.values.help) {
        io.out(HELP[command]!);
        return EXIT_OK;
      }
      if (parsed.positionals.length === 0) return usage('name at least one scenario file');
      if (command === 'check') {
        if (parsed.values.check) return usage('--check applies to kmem fmt');
        return check(io, parsed.positionals, includeHost(io, parsed.values.root));
      }
      if (parsed.values.root !== undefined) return usage('--root applies to kmem run and kmem check');
      return fmt(io, parsed.positionals, parsed.values.check === true);
    }
    default:
      io.err(`kmem: unknown command '${command}'\n${HELP.main}`);
      return EXIT_USAGE;
  }
}

/**
 * kmem fmt: each file rewritten in the canonical form (engine/lang/format.ts), or with --check only named
 * when it is not (exit 1). A file with syntax errors is left alone and its errors printed (exit 2).
 */
function fmt(io: Io, files: readonly string[], checkOnly: boolean): number {
  let invalid = false;
  let unformatted = false;
  for (const file of files) {
    const text = readScenario(io, file);
    if (text === undefined) {
      invalid = true;
      continue;
    }
    const r = formatScript(text);
    if (!r.ok) {
      for (const d of r.errors) io.err(`${formatDiagnostic(file, d)}\n`);
      invalid = true;
      continue;
    }
    if (!r.changed) continue;
    if (checkOnly) {
      io.out(`${file}\n`);
      unformatted = true;
      continue;
    }
    try {
      (io.writeFile ?? ((p: string, t: string) => writeFileSync(p, t)))(file, r.text);
      io.out(`formatted ${file}\n`);
    } catch (e) {
      io.err(`kmem fmt: cannot write ${file}: ${e instanceof Error ? e.message : String(e)}\n`);
      invalid = true;
    }
  }
  return invalid ? EXIT_USAGE : unformatted ? EXIT_FINDINGS : EXIT_OK;
}

function readScenario(io: Io, file: string): string | undefined {
  try {
    return io.readFile(file);
  } catch (e) {
    io.err(`kmem: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    return undefined;
  }
}

/**
 * `include` for the CLI: files under the workspace (`--root DIR`, else the current directory), named
 * relative to the current directory.
 */
function includeHost(io: Io, root: string | undefined): IncludeHost {
  const cwd = process.cwd();
  return fileIncludeHost(root ?? cwd, { relativeTo: cwd }, (full) => io.readFile(full));
}

function check(io: Io, files: readonly string[], includes: IncludeHost): number {
  let errors = 0;
  for (const file of files) {
    const text = readScenario(io, file);
    if (text === undefined) {
      errors++;
      continue;
    }
    for (const d of diagnose(text, file, undefined, includes)) {
      io.out(`${formatDiagnostic(file, d)}\n`);
      if (d.severity === 'error') errors++;
    }
  }
  return errors > 0 ? EXIT_USAGE : EXIT_OK;
}

/** The files a run or boot prints at the end. */
interface Files {
  procs: ProcFile[];
  debugfs: DebugfsFileName[];
}

function boot(io: Io, defaults: ScenarioDefaults, files: Files): number {
  const machine = Machine.boot({
    memoryBytes: defaults.memoryBytes ?? DEFAULT_CONFIG.memoryBytes,
    cpus: defaults.cpus ?? DEFAULT_CONFIG.cpus,
    arch: defaults.arch ?? 'x86_64',
    ...(defaults.slabDebug !== undefined ? { slabDebug: defaults.slabDebug } : {}),
    ...(defaults.kasan ? { kasan: true } : {}),
    ...(defaults.kmemleak ? { kmemleak: true } : {}),
    ...(defaults.kfence !== undefined ? { kfence: defaults.kfence } : {}),
    ...(defaults.seed !== undefined ? { seed: defaults.seed } : {}),
  });
  if (!(machine instanceof Machine)) {
    for (const e of machine) io.err(`kmem boot: error ${e.code}: ${e.message}\n`);
    return EXIT_USAGE;
  }
  printFiles(io, machine, files);
  return EXIT_OK;
}

function printFiles(io: Io, machine: Machine, files: Files): void {
  const all = [
    ...files.procs.map((name) => ({ path: `/proc/${name}`, text: () => procFileText(machine, name) })),
    ...files.debugfs.map((name) => ({
      path: `/sys/kernel/debug/${name}`,
      text: () => debugfsFileText(machine, name),
    })),
  ];
  for (const f of all) {
    if (all.length > 1) io.out(`==> ${f.path} <==\n`);
    io.out(f.text());
    if (all.length > 1) io.out('\n');
  }
}

/** How `kmem run` reports: text (the default), one JSON document, and an HTML report file. */
interface RunOutputs {
  readonly json: boolean;
  readonly report?: string;
  /** How `include` statements read their files (the workspace root). */
  readonly includes: IncludeHost;
}

function run(
  io: Io,
  file: string,
  defaults: ScenarioDefaults,
  files: Files,
  maxSteps: number,
  outs: RunOutputs,
): number {
  const text = readScenario(io, file);
  if (text === undefined) return EXIT_USAGE;
  const { diagnostics, scenario } = loadScenario(text, file, defaults, { statementLimit: maxSteps }, outs.includes);
  if (!scenario) {
    const doc: RunDocument = {
      schema: JSON_SCHEMA,
      file,
      status: 'invalid',
      exitCode: EXIT_USAGE,
      diagnostics: diagnostics.map(jsonDiagnostic),
    };
    if (outs.json) io.out(`${JSON.stringify(doc, null, 2)}\n`);
    else for (const d of diagnostics) io.err(`${formatDiagnostic(file, d)}\n`);
    if (outs.report && !writeReport(io, outs.report, doc, text)) return EXIT_USAGE;
    return EXIT_USAGE;
  }
  if (!outs.json) for (const d of diagnostics) io.err(`${formatDiagnostic(file, d)}\n`);
  const { vm, machine } = scenario;
  // The kernel log (a page allocation failure, a warning) goes to stderr as the run produces it.
  let logged = 0;
  let printed = 0;
  const progress = new Progress(io);
  const flushLog = () => {
    if (outs.json) return;
    if (logged < machine.log.length || printed < machine.output.length) progress.done();
    for (; logged < machine.log.length; logged++) io.err(machine.log[logged]!);
    // The scenario's own output (print) goes to stdout, before the summary.
    for (; printed < machine.output.length; printed++) io.out(machine.output[printed]!);
  };
  let stop = vm.run({ maxInstructions: 1_000_000 });
  flushLog();
  while (stop.reason === 'budget') {
    progress.update(vm.statementsExecuted, machine.events.length, vm.currentLine() + 1);
    stop = vm.run({ maxInstructions: 1_000_000 });
    flushLog();
  }
  progress.done();
  const doc = runDocument(file, scenario, diagnostics, files, stop);
  if (outs.report && !writeReport(io, outs.report, doc, text)) return EXIT_USAGE;
  if (outs.json) {
    io.out(`${JSON.stringify(doc, null, 2)}\n`);
    return doc.exitCode;
  }
  if (machine.logDropped > 0) io.err(`kmem: ${machine.logDropped} more kernel log messages not shown\n`);
  const s = summaryView(machine);
  io.out(
    `${file}: ${stop.reason === 'error' ? 'stopped on an error' : 'finished'} after ${vm.statementsExecuted} statements, ${s.events} events\n`,
  );
  io.out(
    `machine: ${formatSize(s.memoryBytes)}, ${s.cpus} CPU${s.cpus === 1 ? '' : 's'}, ${s.freePages} of ${s.totalPages} pages free, ${s.slabPages} in slabs\n`,
  );
  const byKind = Object.entries(doc.events!.byKind);
  if (byKind.length > 0) io.out(`events: ${byKind.map(([k, n]) => `${k} ${n}`).join(', ')}\n`);
  for (const c of doc.views!.slabinfo) {
    io.out(
      `  ${c.name.padEnd(14)} ${String(c.liveObjects).padStart(6)} live  ${String(c.activeObjs).padStart(6)}/${String(c.numObjs).padEnd(6)} objs  ${c.numSlabs} slab${c.numSlabs === 1 ? '' : 's'} of ${c.pagesPerSlab} page${c.pagesPerSlab === 1 ? '' : 's'}\n`,
    );
  }
  printFiles(io, machine, files);
  if (stop.reason === 'error' && stop.error) {
    io.err(`${formatDiagnostic(stop.error.file ?? file, { ...stop.error, severity: 'error' })}\n`);
    if (stop.error.report !== undefined) io.err(stop.error.report);
    return EXIT_FINDINGS;
  }
  // A detector's report is a finding even though the kernel (and the scenario) went on, unless an
  // `expect KIND { }` block of the scenario expected it.
  for (const [name, { made, expected }] of Object.entries(doc.reportCounts!)) {
    if (made <= expected) continue;
    const also = expected > 0 ? `, ${expected} of them expected` : '';
    const noun = name === 'kmemleak' ? 'suspected leak' : 'bug';
    io.err(
      `kmem: ${DETECTOR_NAMES[name] ?? name} reported ${made} ${noun}${made === 1 ? '' : 's'}${also} (the reports are above)\n`,
    );
  }
  return doc.exitCode;
}

/** Writes the HTML report; false (with a message) when the file cannot be written. */
function writeReport(io: Io, path: string, doc: RunDocument, source: string): boolean {
  try {
    (io.writeFile ?? ((p: string, t: string) => writeFileSync(p, t)))(path, renderHtmlReport(doc, source));
    return true;
  } catch (e) {
    io.err(`kmem run: cannot write the report ${path}: ${e instanceof Error ? e.message : String(e)}\n`);
    return false;
  }
}

/** The JSON output's schema id (docs/cli.md documents it); a change that breaks readers bumps the number. */
export const JSON_SCHEMA = 'kmem-run/1';

function jsonDiagnostic(d: Diagnostic) {
  return {
    code: d.code,
    severity: d.severity,
    message: d.message,
    line: d.range.start.line + 1,
    column: d.range.start.character + 1,
  };
}

/** Everything a finished run says (the JSON document and the HTML report's data), from the machine and VM. */
function runDocument(
  file: string,
  scenario: LoadedScenario,
  diagnostics: readonly Diagnostic[],
  files: Files,
  stop: Stop,
): RunDocument {
  const { vm, machine } = scenario;
  const byKind: Record<string, number> = {};
  for (let i = 0; i < machine.events.length; i++) {
    const name = EVENT_KIND_NAMES[machine.events.kindAt(i)];
    byKind[name] = (byKind[name] ?? 0) + 1;
  }
  const counts: Record<string, { made: number; expected: number }> = {};
  let findings = false;
  for (const [name, kind] of REPORT_KINDS) {
    const made = machine.reportCount(kind);
    const expected = vm.expectedReports(kind);
    counts[name] = { made, expected };
    if (made > expected) findings = true;
  }
  const error = stop.reason === 'error' && stop.error ? stop.error : undefined;
  const s = summaryView(machine);
  const c = machine.config;
  return {
    schema: JSON_SCHEMA,
    file,
    status: error ? 'error' : 'finished',
    exitCode: error || findings ? EXIT_FINDINGS : EXIT_OK,
    statements: vm.statementsExecuted,
    diagnostics: diagnostics.map(jsonDiagnostic),
    error: error
      ? {
          code: error.code,
          message: error.message,
          line: error.range.start.line + 1,
          column: error.range.start.character + 1,
          ...(error.file !== undefined ? { file: error.file } : {}),
          ...(error.report !== undefined ? { report: error.report } : {}),
        }
      : null,
    machine: {
      memoryBytes: c.memoryBytes,
      cpus: c.cpus,
      arch: c.arch ?? 'x86_64',
      slabDebug: c.slabDebug ?? null,
      kasan: c.kasan ?? false,
      kmemleak: c.kmemleak ?? false,
      kfence: c.kfence ?? 0,
    },
    events: { total: machine.events.length, byKind, digest: machine.events.digest() },
    reports: reportEntries(machine),
    reportCounts: counts,
    output: [...machine.output],
    log: [...machine.log],
    logDropped: machine.logDropped,
    views: {
      summary: { freePages: s.freePages, totalPages: s.totalPages, slabPages: s.slabPages },
      slabinfo: slabinfoView(machine).caches.filter((x) => x.numObjs > 0),
      buddyinfo: buddyinfoView(machine).zones,
      files: Object.fromEntries([
        ...files.procs.map((name) => [`/proc/${name}`, procFileText(machine, name)]),
        ...files.debugfs.map((name) => [`/sys/kernel/debug/${name}`, debugfsFileText(machine, name)]),
      ]),
    },
  };
}

if (require.main === module) {
  // A reader that stops early (kmem run ... | head) closes the pipe: stop quietly, as Unix tools do.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  process.exitCode = main(process.argv.slice(2));
}
