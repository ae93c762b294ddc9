/*
 * The kmem debug session: translates the Debug Adapter Protocol into calls on the engine's VM and machine,
 * and the engine's stops into DAP events. Like mock-debug's mockDebug.ts, it holds no allocator logic; like
 * js-debug's adapter core, it imports nothing from vscode, so it runs as a plain Node process (stdio) or
 * inline in the extension host or a test.
 *
 * Life of a session: initialize → launch (validate, read, compile, boot; wait for configurationDone) →
 * setBreakpoints / setFunctionBreakpoints (verified against the program's executable lines and the
 * allocation event names) → configurationDone → the scenario runs in slices of instructions, yielding to
 * the event loop between slices so pause, terminate and disconnect answer at once → stopped events →
 * threads / stackTrace / scopes / variables / evaluate / kmem/state → ... → terminated.
 *
 * Allocation breakpoints are function breakpoints named after an event (EVENT_KIND_NAMES: "kmalloc",
 * "kfree", "slab_new", "slab_move", "slab_discard", "page_alloc", ...) or a slab cache ("kmalloc-192": stop
 * when that cache hands out an object). At an event stop the stack shows the event as a label frame, then
 * the allocator's own kernel frames (engine/inspect/callpath.ts), then the scenario's.
 *
 * What the machine prints to its kernel log (Machine.log: a page allocation failure, a warning) goes to the
 * debug console as it happens, after every slice of the run; a runtime error that carries the kernel's report
 * (free_pages: "BUG: Bad page state ...") prints the whole report there too.
 */

import { KASAN_BUG_NAMES, KasanBug } from '../../engine/mm/kasan_checks';
import { KFENCE_BUG_NAMES, KfenceBug } from '../../engine/mm/kfence_checks';
import { reportWhat } from '../../engine/inspect/reports';
import {
  Breakpoint,
  BreakpointEvent,
  Handles,
  InitializedEvent,
  LoggingDebugSession,
  OutputEvent,
  Scope,
  Source,
  StackFrame,
  StoppedEvent,
  TerminatedEvent,
  Thread,
  ThreadEvent,
} from '@vscode/debugadapter';
import { DebugProtocol } from '@vscode/debugprotocol';
import { basename, dirname } from 'node:path';
import { preloadIncludes } from '../shared/includes';
import { formatSize, NR_PAGE_ORDERS } from '../../engine/mm/config';
import { Machine } from '../../engine/mm/machine';
import { formatGfpMode } from '../../engine/mm/page_report';
import { addressView, buddyinfoView, slabinfoView, summaryView } from '../../engine/inspect/views';
import {
  debugfsFileText,
  isDebugfsFileName,
  isProcFileName,
  pagetypeinfoView,
  procFileText,
  zoneinfoView,
} from '../../engine/inspect/procfs';
import { MIGRATETYPE_NAMES } from '../../engine/mm/buddy';
import { formatWalk } from '../../engine/inspect/ptdump';
import { formatLookup, lookupAddress } from '../../engine/inspect/lookup';
import {
  formatObjectLookup,
  formatSlabLayout,
  formatSlabtop,
  formatSysfsSlab,
  objectLookup,
  slabLayoutAt,
  slabtopView,
  sysfsSlabAttribute,
  sysfsSlabEntries,
  sysfsSlabView,
} from '../../engine/inspect/slabviews';
import { formatMaps, formatStatusMemory, tasksView } from '../../engine/mm/process';
import { EVENT_KIND_NAMES, EventKind, KmemEvent } from '../../engine/trace/events';
import { allocatorFrames } from '../../engine/inspect/callpath';
import { rd } from '../../engine/inspect/rd';
import { SLAB_STATE_NAMES, SlabState } from '../../engine/mm/slub';
import { loadScenario, LoadedScenario } from '../../engine/scenario';
import { Stop, Value, Vm, formatValue } from '../../engine/vm/vm';
import { Cell, formatCell, isList } from '../../engine/vm/values';
import { evaluateExpression } from '../../engine/vm/evaluate';
import type { MachineState } from '../../webview/protocol';
import { formatDiagnostic } from '../shared/format';
import * as errors from './errors';
import { KmemLaunchArgs, LaunchRequestArguments, parseLaunchArgs } from './launchArgs';

/** How the adapter reaches files: Node's fs in the adapter process, anything in tests. */
export interface FileAccessor {
  readFile(path: string): Promise<string>;
}

const THREAD_ID = 1;
/** Stack frame ids of the allocator's own frames at an event (the scenario's frames count from 1). */
const KERNEL_FRAME_ID = 1_000_000;

/** What each slub_debug event reported, for the stop's description. */
/** Instructions per slice before the run loop yields to the event loop. */
const SLICE_INSTRUCTIONS = 250_000;

const EVENT_BREAKPOINT_KINDS: ReadonlyMap<string, EventKind> = new Map(
  (Object.entries(EVENT_KIND_NAMES) as [string, string][]).map(([kind, name]) => [name, Number(kind) as EventKind]),
);

interface FunctionBreakpointSpec {
  readonly id: number;
  readonly name: string;
  readonly kind: EventKind;
  /** Slab cache id the event must come from, -1 for any, or PENDING_CACHE: a cache the scenario creates later, by name. */
  readonly cache: number;
}

/** FunctionBreakpointSpec.cache of a breakpoint on a cache that does not exist yet (kmem_cache_create makes it). */
const PENDING_CACHE = -2;

type VariableContainer =
  | { kind: 'locals'; frame: number }
  | { kind: 'machine' }
  | { kind: 'event' }
  | { kind: 'pointer'; value: bigint }
  | { kind: 'list'; items: readonly Value[] }
  | { kind: 'buddy' }
  | { kind: 'zone'; name: string }
  | { kind: 'caches' }
  | { kind: 'cache'; name: string }
  | { kind: 'tasks' }
  | { kind: 'task'; name: string };

/** `fromLaunch`: the first run, where a breakpoint on the very first statement must count too. */
/** `depth`: count only statements with at most this many procedure calls active (RunOptions.stepDepth). */
type StepMode = { kind: 'continue'; fromLaunch?: boolean } | { kind: 'step'; depth?: number };

/** What a page_fault event's extra field says happened (engine/trace/events.ts). */
const FAULT_OUTCOMES: readonly string[] = [
  'demand-zero page',
  'zero page',
  'copy-on-write copy',
  'copy-on-write reuse',
  'SIGSEGV',
  'out of memory',
  'SIGKILL (corrupted page table)',
];

export class KmemDebugSession extends LoggingDebugSession {
  private scenario: LoadedScenario | undefined;
  private launchArgs: KmemLaunchArgs | undefined;
  private programPath = '';
  /** Line breakpoints by the source path the client set them in: 0-based line -> breakpoint id. */
  private lineBreakpoints = new Map<string, Map<number, number>>();
  /** The threads (pids) the client has been told of. */
  private announcedThreads = new Set<number>([THREAD_ID]);
  /** lineBreakpoints by the program's file index (Program.files), for the VM's breakAtLine. */
  private fileBreakpoints: (Map<number, number> | undefined)[] = [];
  private functionBreakpoints: FunctionBreakpointSpec[] = [];
  private nextBreakpointId = 1;
  private readonly variableHandles = new Handles<VariableContainer>();
  private configurationDone!: Promise<void>;
  private resolveConfigurationDone!: () => void;
  private running = false;
  private pauseRequested = false;
  private ended = false;
  private lastStop: Stop | undefined;
  private lastEvent: KmemEvent | undefined;
  /** Machine.log entries already sent to the client, and whether the "log full" notice was. */
  private logSent = 0;
  private outputSent = 0;
  private logFullSent = false;
  /** Executable lines of files breakpoints were set in before (or without) a launch, by path. */
  private readonly linesByPath = new Map<string, readonly number[]>();

  constructor(private readonly files: FileAccessor) {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
    this.configurationDone = new Promise((resolve) => (this.resolveConfigurationDone = resolve));
  }

  protected override initializeRequest(response: DebugProtocol.InitializeResponse): void {
    response.body = {
      ...response.body,
      supportsConfigurationDoneRequest: true,
      supportsFunctionBreakpoints: true,
      supportsTerminateRequest: true,
      supportsEvaluateForHovers: true,
      supportsBreakpointLocationsRequest: true,
      supportsExceptionInfoRequest: true,
      supportsSingleThreadExecutionRequests: false,
    };
    this.sendResponse(response);
    this.sendEvent(new InitializedEvent());
  }

  protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    this.sendResponse(response);
    this.resolveConfigurationDone();
  }

  protected override async launchRequest(
    response: DebugProtocol.LaunchResponse,
    raw: LaunchRequestArguments,
  ): Promise<void> {
    const { args, problems } = parseLaunchArgs(raw);
    if (!args) {
      return this.fail(response, errors.invalidLaunchArgs(problems));
    }
    let source: string;
    try {
      source = await this.files.readFile(args.program);
    } catch (e) {
      return this.fail(response, errors.programUnreadable(args.program, e instanceof Error ? e.message : String(e)));
    }
    const includes = await preloadIncludes(args.program, source, args.workspaceRoot ?? dirname(args.program), (path) =>
      this.files.readFile(path),
    );
    const { diagnostics, scenario } = loadScenario(
      source,
      args.program,
      { memoryBytes: args.memoryBytes, cpus: args.cpus, arch: args.arch },
      {},
      includes,
    );
    const problemsFound = diagnostics.filter((d) => d.severity === 'error');
    if (!scenario || problemsFound.length > 0) {
      const lines = problemsFound.map((d) => formatDiagnostic(args.program, d));
      for (const line of lines) {
        this.sendEvent(new OutputEvent(`${line}\n`, 'stderr'));
      }
      return this.fail(response, errors.scenarioInvalid(args.program, lines.slice(0, 10)));
    }
    this.scenario = scenario;
    this.launchArgs = args;
    this.programPath = args.program;
    this.linesByPath.set(args.program, scenario.program.executableLines);
    this.reverifyLineBreakpoints();
    const { memoryBytes, cpus } = scenario.config;
    this.sendEvent(
      new OutputEvent(
        `kmem: booted a ${formatSize(memoryBytes)} machine with ${cpus} CPU${cpus === 1 ? '' : 's'} for ${basename(args.program)}\n`,
        'console',
      ),
    );
    this.sendResponse(response);
    await this.configurationDone;
    if (args.stopOnEntry && !args.noDebug) {
      this.lastStop = { reason: 'step', line: scenario.vm.currentLine() };
      this.sendEvent(new StoppedEvent('entry', this.currentThread()));
    } else {
      void this.execute({ kind: 'continue', fromLaunch: true });
    }
  }

  protected override async setBreakPointsRequest(
    response: DebugProtocol.SetBreakpointsResponse,
    args: DebugProtocol.SetBreakpointsArguments,
  ): Promise<void> {
    const path = args.source.path ?? '';
    const executable = await this.executableLinesOf(path);
    const breakpoints: DebugProtocol.Breakpoint[] = [];
    const map = new Map<number, number>();
    for (const requested of args.breakpoints ?? []) {
      const wanted = this.convertClientLineToDebugger(requested.line) - 1;
      const line = executable?.find((l) => l >= wanted);
      const id = this.nextBreakpointId++;
      if (line === undefined) {
        const bp = new Breakpoint(false, requested.line) as DebugProtocol.Breakpoint;
        bp.id = id;
        bp.message = executable
          ? 'No statement on or after this line'
          : 'The scenario has errors; fix them to set breakpoints';
        breakpoints.push(bp);
        continue;
      }
      const bp = new Breakpoint(true, this.convertDebuggerLineToClient(line + 1)) as DebugProtocol.Breakpoint;
      bp.id = map.get(line) ?? id;
      map.set(line, bp.id);
      breakpoints.push(bp);
    }
    this.lineBreakpoints.set(path, map);
    this.indexBreakpoints();
    response.body = { breakpoints };
    this.sendResponse(response);
  }

  protected override async breakpointLocationsRequest(
    response: DebugProtocol.BreakpointLocationsResponse,
    args: DebugProtocol.BreakpointLocationsArguments,
  ): Promise<void> {
    const executable = (await this.executableLinesOf(args.source.path ?? '')) ?? [];
    const first = this.convertClientLineToDebugger(args.line) - 1;
    const last = args.endLine !== undefined ? this.convertClientLineToDebugger(args.endLine) - 1 : first;
    response.body = {
      breakpoints: executable
        .filter((l) => l >= first && l <= last)
        .map((l) => ({ line: this.convertDebuggerLineToClient(l + 1) })),
    };
    this.sendResponse(response);
  }

  protected override setFunctionBreakPointsRequest(
    response: DebugProtocol.SetFunctionBreakpointsResponse,
    args: DebugProtocol.SetFunctionBreakpointsArguments,
  ): void {
    const specs: FunctionBreakpointSpec[] = [];
    const breakpoints: DebugProtocol.Breakpoint[] = [];
    for (const fb of args.breakpoints) {
      const id = this.nextBreakpointId++;
      const spec = this.resolveFunctionBreakpoint(id, fb.name.trim());
      if (typeof spec === 'string') {
        breakpoints.push({ id, verified: false, message: spec });
      } else {
        specs.push(spec);
        breakpoints.push(
          spec.cache === PENDING_CACHE
            ? {
                id,
                verified: true,
                message: `No event or cache '${spec.name}' yet: it stops when a cache the scenario creates by that name allocates`,
              }
            : { id, verified: true },
        );
      }
    }
    this.functionBreakpoints = specs;
    response.body = { breakpoints };
    this.sendResponse(response);
  }

  /**
   * Threads are the machine's tasks: pid 1 (the scenario itself, or a spawned init) and every live process.
   * The scenario's statements run as `current` (switch_to), so its call stack is on that thread; the others
   * are not running and show where they wait.
   */
  protected override threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    response.body = { threads: this.threadList().map((t) => new Thread(t.id, t.name)) };
    this.sendResponse(response);
  }

  private threadList(): { id: number; name: string }[] {
    const machine = this.scenario?.machine;
    if (!machine) return [{ id: THREAD_ID, name: 'kmem (pid 1)' }];
    const current = machine.pid;
    const label = (pid: number, comm: string) => `${comm} (pid ${pid})${pid === current ? ' current' : ''}`;
    const init = machine.tasks.tasks.get(THREAD_ID);
    const out = [{ id: THREAD_ID, name: label(THREAD_ID, init?.comm ?? 'kmem') }];
    for (const t of machine.tasks.tasks.values()) {
      if (t.pid !== THREAD_ID) out.push({ id: t.pid, name: label(t.pid, t.comm) });
    }
    return out;
  }

  /** The thread the scenario runs on: current's pid (1 until switch_to). */
  private currentThread(): number {
    return this.scenario?.machine.pid ?? THREAD_ID;
  }

  /** ThreadEvents for tasks spawned or gone since the last stop, so the client's thread list follows the machine. */
  private announceThreads(): void {
    const now = new Set(this.threadList().map((t) => t.id));
    for (const id of now) if (!this.announcedThreads.has(id)) this.sendEvent(new ThreadEvent('started', id));
    for (const id of this.announcedThreads) if (!now.has(id)) this.sendEvent(new ThreadEvent('exited', id));
    this.announcedThreads = now;
  }

  protected override continueRequest(response: DebugProtocol.ContinueResponse): void {
    response.body = { allThreadsContinued: true };
    this.sendResponse(response);
    void this.execute({ kind: 'continue' });
  }

  protected override nextRequest(response: DebugProtocol.NextResponse): void {
    // Step over: a procedure call runs to its end.
    this.sendResponse(response);
    void this.execute({ kind: 'step', depth: this.scenario?.vm.callDepth ?? 0 });
  }

  protected override stepInRequest(response: DebugProtocol.StepInResponse): void {
    // Into a procedure the statement calls, else to the next statement.
    this.sendResponse(response);
    void this.execute({ kind: 'step' });
  }

  protected override stepOutRequest(response: DebugProtocol.StepOutResponse): void {
    // To the caller's next statement; at the top level, to the end or the next breakpoint.
    this.sendResponse(response);
    const depth = this.scenario?.vm.callDepth ?? 0;
    void this.execute(depth > 0 ? { kind: 'step', depth: depth - 1 } : { kind: 'continue' });
  }

  protected override pauseRequest(response: DebugProtocol.PauseResponse): void {
    this.pauseRequested = true;
    this.sendResponse(response);
  }

  protected override stackTraceRequest(
    response: DebugProtocol.StackTraceResponse,
    args: DebugProtocol.StackTraceArguments,
  ): void {
    const scenario = this.scenario;
    if (!scenario) {
      return this.fail(response, errors.notLaunched());
    }
    const current = this.currentThread();
    if (args.threadId !== current) {
      // A task the scenario does not run as: it is off the CPU, with no scenario code of its own to show.
      const machine = scenario.machine;
      const task = machine.tasks.tasks.get(args.threadId);
      const who = task ? `${task.comm} (pid ${task.pid})` : `pid ${args.threadId}`;
      const frame = new StackFrame(
        0,
        `${who} is not running: the scenario runs as ${machine.comm} (pid ${current})`,
      ) as DebugProtocol.StackFrame;
      frame.presentationHint = 'label';
      response.body = { stackFrames: [frame], totalFrames: 1 };
      return this.sendResponse(response);
    }
    const sourceOf = (file: string) => new Source(basename(file), this.convertDebuggerPathToClient(file));
    const frames: DebugProtocol.StackFrame[] = [];
    const event = this.lastStop?.reason === 'event' ? this.lastEvent : undefined;
    if (event) {
      const frame = new StackFrame(0, this.describeEventFrame(event)) as DebugProtocol.StackFrame;
      frame.presentationHint = 'label';
      frames.push(frame);
      // SLUB's own call path at the event, innermost first; no source to open, so shown as subtle frames.
      allocatorFrames(scenario.machine, event.seq).forEach((k, i) => {
        const kernel = new StackFrame(KERNEL_FRAME_ID + i, `${k.name}  (${k.file})`) as DebugProtocol.StackFrame;
        kernel.presentationHint = 'subtle';
        frames.push(kernel);
      });
    }
    scenario.vm.frames().forEach((f, i) => {
      const frame = new StackFrame(
        i + 1,
        f.name,
        sourceOf(f.file),
        this.convertDebuggerLineToClient(f.line + 1),
        this.convertDebuggerColumnToClient(f.character + 1),
      ) as DebugProtocol.StackFrame;
      frame.endLine = this.convertDebuggerLineToClient(f.endLine + 1);
      frame.endColumn = this.convertDebuggerColumnToClient(f.endCharacter + 1);
      frames.push(frame);
    });
    response.body = { stackFrames: frames, totalFrames: frames.length };
    this.sendResponse(response);
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse, args: DebugProtocol.ScopesArguments): void {
    const frame = this.vmFrameOf(args.frameId);
    const scopes: DebugProtocol.Scope[] = [
      new Scope('Locals', this.variableHandles.create({ kind: 'locals', frame }), false),
      new Scope('Machine', this.variableHandles.create({ kind: 'machine' }), false),
    ];
    if (this.lastStop?.reason === 'event' && this.lastEvent) {
      scopes.unshift(new Scope('Event', this.variableHandles.create({ kind: 'event' }), false));
    }
    response.body = { scopes };
    this.sendResponse(response);
  }

  protected override variablesRequest(
    response: DebugProtocol.VariablesResponse,
    args: DebugProtocol.VariablesArguments,
  ): void {
    const scenario = this.scenario;
    if (!scenario) {
      return this.fail(response, errors.notLaunched());
    }
    if (this.running) {
      return this.fail(response, errors.busy('variables'));
    }
    const container = this.variableHandles.get(args.variablesReference);
    response.body = { variables: container ? this.variablesOf(container, scenario) : [] };
    this.sendResponse(response);
  }

  protected override evaluateRequest(
    response: DebugProtocol.EvaluateResponse,
    args: DebugProtocol.EvaluateArguments,
  ): void {
    const scenario = this.scenario;
    if (!scenario) {
      return this.fail(response, errors.notLaunched());
    }
    const expression = args.expression.trim();
    const procFile = /^(?:cat\s+)?(?:\/proc\/)?(\w+)$/.exec(expression)?.[1];
    if (isProcFileName(procFile)) {
      response.body = { result: procFileText(scenario.machine, procFile), variablesReference: 0 };
      return this.sendResponse(response);
    }
    const debugfsFile = /^(?:cat\s+)?(?:\/sys\/kernel\/debug\/)?([\w/]+)$/.exec(expression)?.[1];
    if (isDebugfsFileName(debugfsFile)) {
      response.body = { result: debugfsFileText(scenario.machine, debugfsFile), variablesReference: 0 };
      return this.sendResponse(response);
    }
    if (this.running) {
      return this.fail(response, errors.busy('values'));
    }
    const slabView = this.slabViewText(expression);
    if (slabView !== undefined) {
      if (typeof slabView !== 'string') return this.fail(response, errors.evaluateFailed(expression, slabView.why));
      response.body = { result: slabView, variablesReference: 0 };
      return this.sendResponse(response);
    }
    const kmem = /^kmem\s+(\S+)$/.exec(expression);
    if (kmem) {
      const va = this.addressOf(kmem[1]!);
      if (va === undefined) {
        return this.fail(response, errors.evaluateFailed(expression, 'kmem takes an address (0x...) or a variable'));
      }
      response.body = { result: formatLookup(lookupAddress(scenario.machine, va)), variablesReference: 0 };
      return this.sendResponse(response);
    }
    const rdCommand = /^rd\s+(\S+)(?:\s+(\S+))?$/.exec(expression);
    if (rdCommand) {
      const va = this.addressOf(rdCommand[1]!);
      const count = rdCommand[2] === undefined ? 1 : Number(rdCommand[2]);
      if (va === undefined) {
        return this.fail(response, errors.evaluateFailed(expression, 'rd takes an address (0x...) or a variable'));
      }
      const out = rd(scenario.machine, va, count);
      if ('error' in out) return this.fail(response, errors.evaluateFailed(expression, out.error));
      response.body = { result: out.text, variablesReference: 0 };
      return this.sendResponse(response);
    }
    const perTask = /^(maps|status|pagewalk)\s+(\d+)(?:\s+(\S+))?$/.exec(expression);
    if (perTask && (perTask[1] !== 'pagewalk' || perTask[3] !== undefined)) {
      const task = scenario.machine.tasks.get(Number(perTask[2]));
      if (!task || !task.alive) {
        return this.fail(response, errors.evaluateFailed(expression, `no process with pid ${perTask[2]}`));
      }
      let result: string;
      if (perTask[1] === 'maps') {
        result = formatMaps(task) || '(no mappings)\n';
      } else if (perTask[1] === 'status') {
        result = `Name:\t${task.comm}\nPid:\t${task.pid}\n${formatStatusMemory(scenario.machine.tasks, task)}`;
      } else {
        const va = this.addressOf(perTask[3]!);
        if (va === undefined) {
          return this.fail(response, errors.evaluateFailed(expression, 'pagewalk PID takes an address or a variable'));
        }
        result = formatWalk(scenario.machine.arch, task.mm.walk(va));
      }
      response.body = { result, variablesReference: 0 };
      return this.sendResponse(response);
    }
    const walk = /^pagewalk\s+(\S+)$/.exec(expression);
    if (walk) {
      const va = this.addressOf(walk[1]!);
      if (va === undefined) {
        return this.fail(
          response,
          errors.evaluateFailed(expression, 'pagewalk takes an address (0x...) or a variable'),
        );
      }
      const machine = scenario.machine;
      const where = machine.vmalloc.findArea(va) ? `\nvmalloc: ${machine.vmalloc.describe(va)}\n` : '';
      response.body = { result: formatWalk(machine.arch, machine.kernelPt.walk(va)) + where, variablesReference: 0 };
      return this.sendResponse(response);
    }
    const variables = scenario.vm.locals(this.vmFrameOf(args.frameId));
    const local = variables.findLast((v) => v.name === expression);
    const evaluated = local ? undefined : evaluateExpression(scenario.machine, variables, expression);
    if (evaluated) {
      if ('error' in evaluated) return this.fail(response, errors.evaluateFailed(expression, evaluated.error));
      response.body = { result: formatCell(evaluated.value), variablesReference: this.cellReference(evaluated.value) };
      return this.sendResponse(response);
    }
    if (!local) {
      const reason =
        args.context === 'repl'
          ? 'not a variable in scope (try a variable name, a /proc file such as slabinfo, buddyinfo, pagetypeinfo, zoneinfo, meminfo or vmallocinfo, a debugfs file such as extfrag/extfrag_index or page_tables/kernel, pagewalk [PID] ADDR, kmem ADDR, rd ADDR [COUNT], maps PID, status PID, slabtop, sysfs slab NAME [ATTR], slab ADDR or object ADDR)'
          : 'not in scope';
      return this.fail(response, errors.evaluateFailed(expression, reason));
    }
    response.body = { result: formatCell(local.value), variablesReference: this.cellReference(local.value) };
    this.sendResponse(response);
  }

  /**
   * The SLUB views of the debug console: `slabtop`, `ls /sys/kernel/slab`, `sysfs slab NAME [ATTR]` (or the
   * path /sys/kernel/slab/NAME[/ATTR]), `slab ADDR` (one slab's layout) and `object ADDR`; undefined when the
   * expression is none of them, { why } when it is one but cannot be answered.
   */
  private slabViewText(expression: string): string | { why: string } | undefined {
    const machine = this.scenario!.machine;
    if (/^slabtop$/.test(expression)) return formatSlabtop(slabtopView(machine));
    if (/^ls\s+\/sys\/kernel\/slab\/?$/.test(expression)) {
      return sysfsSlabEntries(machine)
        .map((e) => (e.target ? `${e.name} -> ${e.target}` : e.name))
        .join('\n')
        .concat('\n');
    }
    const sysfs =
      /^sysfs\s+slab\s+(\S+)(?:\s+(\S+))?$/.exec(expression) ??
      /^(?:cat\s+)?\/sys\/kernel\/slab\/([^/\s]+)(?:\/(\S+))?$/.exec(expression);
    if (sysfs) {
      if (sysfs[2] !== undefined) {
        const text = sysfsSlabAttribute(machine, sysfs[1]!, sysfs[2]);
        return text ?? { why: `no /sys/kernel/slab/${sysfs[1]}/${sysfs[2]}` };
      }
      const view = sysfsSlabView(machine, sysfs[1]!);
      return view ? formatSysfsSlab(view) : { why: `no slab cache ${sysfs[1]}` };
    }
    const at = /^(slab|object)\s+(\S+)$/.exec(expression);
    if (at) {
      const va = this.addressOf(at[2]!);
      const phys = va === undefined ? undefined : machine.phys(va);
      if (phys === undefined) return { why: `${at[1]} takes a direct-map address (0x...) or a variable` };
      if (at[1] === 'slab') {
        const layout = slabLayoutAt(machine, phys);
        return layout ? formatSlabLayout(layout) : { why: 'not an address in a slab' };
      }
      const obj = objectLookup(machine, phys);
      return obj ? formatObjectLookup(obj) : { why: 'not an address in a slab' };
    }
    return undefined;
  }

  /**
   * The VM frame (0 = innermost) a DAP frame id names: stackTraceRequest numbers the scenario's frames from
   * 1; the event label and SLUB's kernel frames stand for the innermost one.
   */
  private vmFrameOf(frameId: number | undefined): number {
    const n = this.scenario?.vm.frames().length ?? 1;
    return frameId !== undefined && frameId >= 1 && frameId <= n ? frameId - 1 : 0;
  }

  /** A console operand: a hex or decimal address, or a variable whose value is one. */
  private addressOf(text: string): bigint | undefined {
    if (/^(0x[0-9a-f]+|\d+)$/i.test(text)) return BigInt(text);
    const local = this.scenario?.vm.locals(0).findLast((v) => v.name === text);
    return local === undefined || isList(local.value) ? undefined : BigInt.asUintN(64, BigInt(local.value));
  }

  protected override exceptionInfoRequest(response: DebugProtocol.ExceptionInfoResponse): void {
    const error = this.lastStop?.error;
    response.body = {
      exceptionId: error?.code ?? 'none',
      description: error?.message ?? 'No error',
      breakMode: 'always',
      ...(error?.report !== undefined ? { details: { message: error.report, typeName: 'Bad page state' } } : {}),
    };
    this.sendResponse(response);
  }

  protected override terminateRequest(response: DebugProtocol.TerminateResponse): void {
    this.pauseRequested = true;
    this.finish();
    this.sendResponse(response);
  }

  protected override disconnectRequest(response: DebugProtocol.DisconnectResponse): void {
    this.pauseRequested = true;
    this.ended = true;
    this.sendResponse(response);
    this.shutdown();
  }

  protected override customRequest(command: string, response: DebugProtocol.Response, args: unknown): void {
    if (command === 'kmem/state') {
      if (!this.scenario) {
        return this.fail(response, errors.notLaunched());
      }
      response.body = this.machineState();
      return this.sendResponse(response);
    }
    if (command === 'kmem/proc') {
      const name = (args as { name?: unknown } | undefined)?.name;
      if (!this.scenario || !isProcFileName(name)) {
        return this.fail(
          response,
          errors.evaluateFailed(
            String(name),
            "expected { name: 'slabinfo' | 'buddyinfo' | 'zoneinfo' | 'meminfo' } after launch",
          ),
        );
      }
      response.body = { text: procFileText(this.scenario.machine, name) };
      return this.sendResponse(response);
    }
    this.fail(response, errors.unknownRequest(command));
  }

  /** The state the panels render: views of the machine and where it stopped. */
  machineState(): MachineState {
    const machine = this.scenario!.machine;
    const stop = this.lastStop;
    return {
      slabinfo: slabinfoView(machine),
      buddyinfo: buddyinfoView(machine),
      summary: summaryView(machine),
      zoneinfo: zoneinfoView(machine),
      stop: stop ? { ...this.stopPlace(stop), description: this.describeStop(stop) } : undefined,
    };
  }

  /** Where the panel says the run stopped: the reason, the 1-based line and, in an included file, that file. */
  private stopPlace(stop: Stop): { reason: string; line: number; file?: string } {
    const program = this.scenario!.program;
    const file = this.scenario!.vm.frames()[0]?.file;
    const place = { reason: this.stopReasonText(stop), line: stop.line + 1 };
    return file !== undefined && file !== program.fileName ? { ...place, file } : place;
  }

  /** Runs the scenario until a breakpoint, an event breakpoint, the end of a step, a pause, an error or the end. */
  private async execute(mode: StepMode): Promise<void> {
    const scenario = this.scenario;
    if (!scenario || this.running || this.ended) {
      return;
    }
    const vm = scenario.vm;
    if (vm.status === 'error') {
      // The kernel would not go on after this either: resuming after a runtime error ends the session.
      this.sendEvent(
        new OutputEvent(
          `kmem: the scenario stopped on ${vm.error?.code ?? 'an error'}; ending the session\n`,
          'console',
        ),
      );
      this.finish();
      return;
    }
    const noDebug = this.launchArgs?.noDebug === true;
    this.running = true;
    this.pauseRequested = false;
    this.variableHandles.reset();
    const stepStart = vm.statementsExecuted;
    let askCurrent = mode.kind === 'continue' && mode.fromLaunch === true;
    try {
      for (;;) {
        const remaining = mode.kind === 'step' ? 1 - (vm.statementsExecuted - stepStart) : undefined;
        const stop = vm.run({
          maxInstructions: SLICE_INSTRUCTIONS,
          breakAtLine: noDebug ? undefined : (line, file) => this.fileBreakpoints[file]?.has(line) === true,
          stopOnEvent:
            noDebug || this.functionBreakpoints.length === 0
              ? undefined
              : (first, end) => this.matchEvent(vm.machine, first, end),
          stepStatements: remaining !== undefined && remaining > 0 ? remaining : undefined,
          stepDepth: mode.kind === 'step' ? mode.depth : undefined,
          askCurrent,
        });
        askCurrent = false;
        this.flushLog(vm.machine);
        if (stop.reason === 'budget') {
          if (this.pauseRequested || this.ended) {
            if (!this.ended) this.report({ ...stop, reason: 'step' }, 'pause');
            return;
          }
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (this.ended) return;
          continue;
        }
        if (stop.reason === 'end') {
          this.sendEvent(new OutputEvent(this.endSummary(vm), 'console'));
          this.finish();
          return;
        }
        this.report(stop);
        return;
      }
    } finally {
      this.running = false;
    }
  }

  private report(stop: Stop, override?: string): void {
    this.lastStop = stop;
    this.lastEvent = stop.eventSeq !== undefined ? this.scenario!.machine.events.get(stop.eventSeq) : undefined;
    const reason = override ?? this.stopReasonText(stop);
    this.announceThreads();
    const event = new StoppedEvent(
      reason,
      this.currentThread(),
      stop.error ? `${stop.error.code}: ${stop.error.message}` : undefined,
    ) as DebugProtocol.StoppedEvent;
    event.body.description = this.describeStop(stop);
    if (stop.reason === 'breakpoint') {
      const id = this.fileBreakpoints[stop.file ?? 0]?.get(stop.line);
      if (id !== undefined) event.body.hitBreakpointIds = [id];
    } else if (stop.reason === 'event' && this.lastEvent) {
      const hit = this.functionBreakpoints.find((b) => this.eventMatches(b, this.lastEvent!));
      if (hit) event.body.hitBreakpointIds = [hit.id];
    }
    if (stop.reason === 'error' && stop.error) {
      const e = stop.error;
      this.sendEvent(
        new OutputEvent(`${formatDiagnostic(e.file ?? this.programPath, { ...e, severity: 'error' })}\n`, 'stderr'),
      );
      if (e.report !== undefined) this.sendEvent(new OutputEvent(e.report, 'stderr'));
    }
    this.sendEvent(event);
  }

  private stopReasonText(stop: Stop): string {
    switch (stop.reason) {
      case 'breakpoint':
        return 'breakpoint';
      case 'event':
        return 'function breakpoint';
      case 'error':
        return 'exception';
      case 'end':
        return 'end';
      default:
        return 'step';
    }
  }

  private describeStop(stop: Stop): string | undefined {
    if (stop.reason === 'error' && stop.error) return `${stop.error.code}: ${stop.error.message}`;
    if (stop.reason === 'event' && stop.eventSeq !== undefined) {
      return this.describeEvent(this.scenario!.machine.events.get(stop.eventSeq));
    }
    return undefined;
  }

  private describeEvent(e: KmemEvent): string {
    const machine = this.scenario!.machine;
    const cache = e.cache >= 0 ? machine.slub.caches[e.cache]?.name : undefined;
    switch (e.kind) {
      case EventKind.Kmalloc:
        return `${cache ?? 'kmalloc (page allocator)'} allocated ${machine.formatVirt(e.addr)} (${e.extra} bytes for a ${e.size}-byte request)`;
      case EventKind.Kfree:
        return `${cache ?? 'kfree (page allocator)'} freed ${machine.formatVirt(e.addr)} (${e.extra} bytes)`;
      case EventKind.KmallocFail:
        return `kmalloc of ${e.size} bytes failed`;
      case EventKind.SlabNew:
        return `${cache} took a new slab: pfn ${e.addr}, order ${e.extra}`;
      case EventKind.SlabDiscard:
        return `${cache} gave a slab back: pfn ${e.addr}, order ${e.extra}`;
      case EventKind.PageAlloc:
        return `page allocator handed out pfn ${e.addr}, order ${e.extra}`;
      case EventKind.PageFree:
        return `page allocator took back pfn ${e.addr}, order ${e.extra}`;
      case EventKind.PageAllocFail:
        return `page allocation of order ${e.extra} failed (mode ${formatGfpMode(e.size)})`;
      case EventKind.Oom:
        return `the OOM killer ran for an order-${e.extra} allocation (mode ${formatGfpMode(e.size)}): ${e.cache > 0 ? `killed pid ${e.cache}` : 'nothing to kill, kernel panic'}`;
      case EventKind.PageFault:
        return `page fault in pid ${e.cache} (error code 0x${e.size.toString(16)}): ${FAULT_OUTCOMES[e.extra] ?? `outcome ${e.extra}`}${e.addr ? `, pfn ${e.addr}` : ''}`;
      case EventKind.Compaction:
        return `compaction of zone ${machine.buddy.zones[e.cache]?.name ?? e.cache}: ${e.addr} pages migrated, ${e.size} scanned`;
      case EventKind.SlabMove: {
        const state = SLAB_STATE_NAMES[e.extra as SlabState] ?? `state ${e.extra}`;
        const where =
          e.extra === SlabState.CpuSlab || e.extra === SlabState.CpuPartial ? `CPU ${e.cpu}'s ${state}` : state;
        return `${cache} slab pfn ${e.addr} is now ${where}`;
      }
      case EventKind.Kasan:
        return `KASAN: ${KASAN_BUG_NAMES[e.size as KasanBug] ?? 'report'}${e.addr ? ` at ${machine.formatVirt(e.addr)}` : ''} (the report is in the debug console)`;
      case EventKind.Kmemleak:
        return `kmemleak: unreferenced object${e.addr ? ` at ${machine.formatVirt(e.addr)}` : ''} (size ${e.size}) (the report is in the debug console)`;
      case EventKind.Kfence:
        return `KFENCE: ${KFENCE_BUG_NAMES[e.size as KfenceBug] ?? 'report'} at ${machine.formatVirt(e.addr)} (the report is in the debug console)`;
      case EventKind.MightSleep:
        return e.size === 1
          ? 'BUG: sleeping function called from invalid context (the report is in the debug console)'
          : 'BUG: scheduling while atomic (the report is in the debug console)';
      case EventKind.SlubDebug:
        return `SLUB debugging found a bug in ${cache}: ${reportWhat(e)} at ${machine.formatVirt(e.addr)} (the report is in the debug console)`;
    }
  }

  /** Sends what the machine appended to its kernel log since the last call to the debug console. */
  private flushLog(machine: Machine): void {
    const log = machine.log;
    for (; this.logSent < log.length; this.logSent++) {
      this.sendEvent(new OutputEvent(log[this.logSent]!, 'console'));
    }
    // What the scenario printed is the program's output.
    for (; this.outputSent < machine.output.length; this.outputSent++) {
      this.sendEvent(new OutputEvent(machine.output[this.outputSent]!, 'stdout'));
    }
    if (machine.logDropped > 0 && !this.logFullSent) {
      this.logFullSent = true;
      this.sendEvent(new OutputEvent(`kmem: the kernel log is full; later messages are not shown\n`, 'console'));
    }
  }

  private describeEventFrame(e: KmemEvent): string {
    return `${EVENT_KIND_NAMES[e.kind]} #${e.seq}: ${this.describeEvent(e)}`;
  }

  private matchEvent(machine: Machine, first: number, end: number): number | undefined {
    for (let seq = first; seq < end; seq++) {
      const kind = machine.events.kindAt(seq);
      for (const bp of this.functionBreakpoints) {
        if (bp.kind === kind && this.cacheMatches(bp, machine, machine.events.cacheAt(seq))) {
          return seq;
        }
      }
    }
    return undefined;
  }

  private eventMatches(bp: FunctionBreakpointSpec, e: KmemEvent): boolean {
    return bp.kind === e.kind && this.cacheMatches(bp, this.scenario!.machine, e.cache);
  }

  private cacheMatches(bp: FunctionBreakpointSpec, machine: Machine, cache: number): boolean {
    if (bp.cache === PENDING_CACHE) return machine.slub.caches[cache]?.name === bp.name;
    return bp.cache < 0 || bp.cache === cache;
  }

  private resolveFunctionBreakpoint(id: number, name: string): FunctionBreakpointSpec | string {
    const kind = EVENT_BREAKPOINT_KINDS.get(name);
    if (kind !== undefined) {
      return { id, name, kind, cache: -1 };
    }
    const names = this.scenario ? this.scenario.machine.slub.caches.map((c) => c.name) : bootCacheNames();
    const cache = names.indexOf(name);
    if (cache >= 0) {
      return { id, name, kind: EventKind.Kmalloc, cache };
    }
    if (/^[\w.:-]{1,64}$/.test(name)) {
      // A cache the scenario makes with kmem_cache_create("dentry", ...): matched by name when it allocates.
      return { id, name, kind: EventKind.Kmalloc, cache: PENDING_CACHE };
    }
    return `Unknown allocation event '${name}': use ${[...EVENT_BREAKPOINT_KINDS.keys()].join(', ')} or a cache name such as kmalloc-192`;
  }

  private variablesOf(container: VariableContainer, scenario: LoadedScenario): DebugProtocol.Variable[] {
    const machine = scenario.machine;
    switch (container.kind) {
      case 'locals':
        return scenario.vm.locals(container.frame).map((v) => ({
          name: v.name,
          value: isList(v.value) ? `list of ${v.value.items.length}` : formatValue(v.value),
          type: v.kind,
          variablesReference: this.cellReference(v.value),
          ...(isList(v.value) ? { indexedVariables: v.value.items.length } : {}),
        }));
      case 'list':
        return container.items.map((item, i) => ({
          name: `[${i}]`,
          value: formatValue(item),
          type: typeof item === 'bigint' ? 'ptr' : 'int',
          variablesReference: this.pointerReference(item),
        }));
      case 'pointer':
        return this.pointerVariables(container.value, machine);
      case 'event': {
        const e = this.lastEvent;
        if (!e) return [];
        const cache = e.cache >= 0 ? machine.slub.caches[e.cache]?.name : undefined;
        return [
          plain('event', `${EVENT_KIND_NAMES[e.kind]} #${e.seq}`),
          plain('description', this.describeEvent(e)),
          plain('cpu', String(e.cpu)),
          plain('line', e.file ? `${basename(scenario.program.files[e.file] ?? '')}:${e.line}` : String(e.line)),
          ...(cache ? [plain('cache', cache)] : []),
          ...(e.kind === EventKind.Kmalloc || e.kind === EventKind.Kfree
            ? [
                {
                  name: 'object',
                  value: machine.formatVirt(e.addr),
                  variablesReference: this.variableHandles.create({
                    kind: 'pointer',
                    value: machine.virt(e.addr),
                  }),
                },
              ]
            : e.kind === EventKind.PageAllocFail
              ? [plain('order', String(e.extra)), plain('mode', formatGfpMode(e.size))]
              : [plain('pfn', String(e.addr)), plain('order', String(e.extra))]),
          ...(e.kind === EventKind.Kmalloc
            ? [plain('requested', `${e.size} bytes`), plain('given', `${e.extra} bytes`)]
            : []),
        ];
      }
      case 'machine': {
        const s = summaryView(machine);
        return [
          plain('memory', formatSize(s.memoryBytes)),
          plain('cpus', String(s.cpus)),
          plain('free pages', `${s.freePages} of ${s.totalPages}`),
          plain('slab pages', String(s.slabPages)),
          plain('per-CPU list pages', String(machine.buddy.nrPcpPages)),
          plain('vmalloc areas', `${machine.vmalloc.areas().length} (${machine.vmalloc.nrVmallocPages} pages)`),
          plain('page-table pages', String(machine.pageTablePages)),
          {
            name: 'processes',
            value: `${[...machine.tasks.tasks.values()].filter((t) => t.alive).length} (${machine.tasks.kernelStackPages * 4} kB of kernel stacks)`,
            variablesReference: this.variableHandles.create({ kind: 'tasks' }),
          },
          plain('events', String(s.events)),
          {
            name: 'free blocks per order',
            value: machine.buddy.nrFreeByOrder().join(' '),
            variablesReference: this.variableHandles.create({ kind: 'buddy' }),
          },
          {
            name: 'slab caches',
            value: `${slabinfoView(machine).caches.filter((c) => c.numObjs > 0).length} in use of ${machine.slub.caches.length}`,
            variablesReference: this.variableHandles.create({ kind: 'caches' }),
          },
        ];
      }
      case 'buddy':
        return buddyinfoView(machine).zones.map((z) => ({
          name: `zone ${z.zone}`,
          value: `${z.nrFree.join(' ')} (${z.freePages} of ${z.managedPages} pages free)`,
          variablesReference: this.variableHandles.create({ kind: 'zone', name: z.zone }),
        }));
      case 'zone': {
        const zone = buddyinfoView(machine).zones.find((z) => z.zone === container.name);
        const types = pagetypeinfoView(machine).zones.find((z) => z.zone === container.name);
        const info = zoneinfoView(machine).zones.find((z) => z.zone === container.name);
        const out: DebugProtocol.Variable[] = [];
        for (let order = 0; zone && order < NR_PAGE_ORDERS; order++) {
          const n = zone.nrFree[order] ?? 0;
          const byType = types
            ? types.freeByType
                .map((counts, mt) => [MIGRATETYPE_NAMES[mt]!, counts[order] ?? 0] as const)
                .filter(([, c]) => c > 0)
                .map(([name, c]) => `${name} ${c}`)
            : [];
          out.push(
            plain(
              `order ${order}`,
              `${n} free block${n === 1 ? '' : 's'} of ${formatSize(4096 << order)}${byType.length > 0 ? ` (${byType.join(', ')})` : ''}`,
            ),
          );
        }
        if (types) {
          out.push(
            plain(
              'page blocks',
              types.blocksByType
                .map((c, mt) => [MIGRATETYPE_NAMES[mt]!, c] as const)
                .filter(([, c]) => c > 0)
                .map(([name, c]) => `${name} ${c}`)
                .join(', '),
            ),
          );
        }
        if (info) {
          out.push(
            plain('watermarks', `min ${info.min}, low ${info.low}, high ${info.high} pages; ${info.freePages} free`),
          );
          out.push(
            plain(
              'per-CPU lists',
              info.pagesets.map((p) => `cpu${p.cpu} ${p.count} (high ${p.high}, batch ${p.batch})`).join('; '),
            ),
          );
        }
        return out;
      }
      case 'tasks':
        return tasksView(machine).tasks.map((t) => ({
          name: `pid ${t.pid}`,
          value: `${t.comm}: ${t.rssPages} pages resident, ${t.vmas.length} mapping${t.vmas.length === 1 ? '' : 's'}, ${t.pageTablePages} page-table pages`,
          variablesReference: this.variableHandles.create({ kind: 'task', name: String(t.pid) }),
        }));
      case 'task': {
        const t = tasksView(machine).tasks.find((x) => String(x.pid) === container.name);
        if (!t) return [];
        return [
          ...t.vmas.map((v) => plain(`${v.start}-${v.end}`, v.perms)),
          plain('kernel stack', `${t.kernelStack.start}-${t.kernelStack.end}`),
          plain('page-table pages', String(t.pageTablePages)),
        ];
      }
      case 'caches':
        return slabinfoView(machine).caches.map((c) => ({
          name: c.name,
          value: `${c.activeObjs}/${c.numObjs} objs, ${c.numSlabs} slab${c.numSlabs === 1 ? '' : 's'}, ${c.liveObjects} live`,
          variablesReference: this.variableHandles.create({ kind: 'cache', name: c.name }),
        }));
      case 'cache': {
        const c = slabinfoView(machine).caches.find((x) => x.name === container.name);
        if (!c) return [];
        return [
          plain('active_objs', String(c.activeObjs)),
          plain('num_objs', String(c.numObjs)),
          plain('objsize', String(c.objSize)),
          plain('objperslab', String(c.objPerSlab)),
          plain('pagesperslab', String(c.pagesPerSlab)),
          plain('order', String(c.order)),
          plain('slabs', String(c.numSlabs)),
          plain('partial', String(c.partial)),
          plain('cpu_slabs', String(c.cpuSlabs)),
          plain('cpu partial slabs', String(c.cpuPartial)),
          plain('min_partial', String(c.minPartial)),
          plain('live objects', String(c.liveObjects)),
        ];
      }
    }
  }

  /** A list expands to its items (a snapshot: the VM only runs on after the next request), a pointer to its object. */
  private cellReference(value: Cell): number {
    if (isList(value)) return this.variableHandles.create({ kind: 'list', items: value.items.slice() });
    return this.pointerReference(value);
  }

  private pointerReference(value: Value): number {
    if (typeof value !== 'bigint' || !this.scenario) return 0;
    return this.scenario.machine.phys(value) === undefined
      ? 0
      : this.variableHandles.create({ kind: 'pointer', value });
  }

  private pointerVariables(value: bigint, machine: Machine): DebugProtocol.Variable[] {
    const phys = machine.phys(value);
    if (phys === undefined) return [plain('address', formatValue(value)), plain('state', 'not in the direct map')];
    const view = addressView(machine, phys);
    return [
      plain('address', view.virt),
      plain('phys', `0x${phys.toString(16)}`),
      plain('pfn', String(view.pfn)),
      plain('zone', view.zone),
      plain('state', view.state),
      ...(view.order !== undefined && view.headPfn !== undefined
        ? [plain('order', `${view.order} (${formatSize(4096 << view.order)})`), plain('head pfn', String(view.headPfn))]
        : []),
      ...(view.cache ? [plain('cache', view.cache)] : []),
      ...(view.objectSize !== undefined
        ? [plain(view.state === 'large kmalloc' ? 'size' : 'object size', `${view.objectSize} bytes`)]
        : []),
    ];
  }

  private endSummary(vm: Vm): string {
    const s = summaryView(vm.machine);
    const busy = slabinfoView(vm.machine).caches.filter((c) => c.liveObjects > 0);
    const live = busy.map((c) => `${c.name} ${c.liveObjects}`).join(', ');
    return `kmem: scenario finished after ${vm.statementsExecuted} statements and ${s.events} events; ${s.freePages} of ${s.totalPages} pages free${live ? `; objects still allocated: ${live}` : ''}\n`;
  }

  private finish(): void {
    if (!this.ended) {
      this.ended = true;
      this.sendEvent(new TerminatedEvent());
    }
  }

  private isProgram(path: string): boolean {
    return !!this.programPath && samePath(path, this.programPath);
  }

  /** The program's file index of a client path (Program.files), or -1. */
  private fileIndexOf(path: string): number {
    return this.scenario ? this.scenario.program.files.findIndex((f) => samePath(f, path)) : -1;
  }

  /** fileBreakpoints from lineBreakpoints: each program file's breakpoints, found by path once, not per statement. */
  private indexBreakpoints(): void {
    const files = this.scenario?.program.files ?? [];
    this.fileBreakpoints = files.map((f) => [...this.lineBreakpoints].find(([path]) => samePath(path, f))?.[1]);
  }

  private async executableLinesOf(path: string): Promise<readonly number[] | undefined> {
    const file = this.fileIndexOf(path);
    if (this.scenario && file >= 0) return this.scenario.program.executableLinesByFile[file];
    const known = this.linesByPath.get(path);
    if (known) return known;
    try {
      const text = await this.files.readFile(path);
      const { scenario } = loadScenario(text, path);
      if (!scenario) return undefined;
      this.linesByPath.set(path, scenario.program.executableLines);
      return scenario.program.executableLines;
    } catch {
      return undefined;
    }
  }

  /** After launch compiled the real program, tell the client where its breakpoints really are. */
  private reverifyLineBreakpoints(): void {
    for (const [path, map] of this.lineBreakpoints) {
      const file = this.fileIndexOf(path);
      if (file >= 0) {
        this.lineBreakpoints.set(path, this.reverified(map, this.scenario!.program.executableLinesByFile[file]!));
      }
    }
    this.indexBreakpoints();
  }

  private reverified(breakpoints: Map<number, number>, lines: readonly number[]): Map<number, number> {
    const moved = new Map<number, number>();
    for (const [line, id] of breakpoints) {
      const actual = lines.find((l) => l >= line);
      if (actual === undefined) {
        this.sendEvent(
          new BreakpointEvent('changed', {
            id,
            verified: false,
            message: 'No statement on or after this line',
          } as DebugProtocol.Breakpoint),
        );
        continue;
      }
      moved.set(actual, id);
      if (actual !== line) {
        this.sendEvent(
          new BreakpointEvent('changed', {
            id,
            verified: true,
            line: this.convertDebuggerLineToClient(actual + 1),
          } as DebugProtocol.Breakpoint),
        );
      }
    }
    return moved;
  }

  private fail(response: DebugProtocol.Response, error: errors.AdapterError): void {
    this.sendErrorResponse(response, errors.toMessage(error));
  }
}

function plain(name: string, value: string): DebugProtocol.Variable {
  return { name, value, variablesReference: 0 };
}

function samePath(a: string, b: string): boolean {
  const norm = (p: string) => p.replace(/\\/g, '/').replace(/^([a-z]):/i, (_, d: string) => d.toLowerCase() + ':');
  return norm(a) === norm(b);
}

/** The cache names a machine has after boot, for function breakpoints set before launch. */
function bootCacheNames(): string[] {
  const m = Machine.boot({ memoryBytes: 16 * 1024 * 1024, cpus: 1 });
  return m instanceof Machine ? m.slub.caches.map((c) => c.name) : [];
}
