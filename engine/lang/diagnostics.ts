/*
 * Diagnostics: every problem a scenario can have, as a value with a stable code, a message and a range.
 *
 * Positions are 0-based lines and 0-based characters counted in UTF-16 code units (what JavaScript
 * string indices, LSP and DAP count), so a range can go to an editor untouched. Line breaks are "\n",
 * "\r\n" and a lone "\r", as in LSP.
 *
 * Code ranges (see DIAGNOSTIC_CODES for the full table, from which docs/language.md's is generated):
 *   KM1xxx  lexical and syntax errors (the parser recovers at the next statement boundary)
 *   KM2xxx  names, arity, placement, reserved words
 *   KM3xxx  machine configuration (validateConfig in engine/mm/config.ts)
 *   KM4xxx  runtime errors (KM4001..KM4003 come from Machine.kfree, KM4005/KM4006 from Machine.freePages and
 *           the VM, KM41xx from the VM, KM42xx from the process and slab cache calls)
 *   KM5xxx  failed expectations (expect)
 *   KM6xxx  the real-time heaps (heap_create, freelist_heap)
 * A code, once published, keeps its meaning: new problems get new codes.
 */

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export type Severity = 'error' | 'warning' | 'info';

export interface Diagnostic {
  code: string;
  message: string;
  severity: Severity;
  range: Range;
  /** The included file the range is in (its name as the include host gave it); absent: the scenario's own file. */
  file?: string;
}

/**
 * Every code the language defines, with its meaning (markdown, one line): the source of the code table of
 * docs/language.md, which scripts/gen-docs.mjs writes from it. A new code is one entry here.
 */
export const DIAGNOSTIC_CODES: Readonly<Record<string, string>> = {
  KM1001: 'unexpected character',
  KM1002: 'unterminated string literal',
  KM1003: 'expected a particular token (for example `)`, `}`, `=`, end of statement)',
  KM1004: 'invalid number literal (bad digits or unit, or wider than 64 bits)',
  KM1005: 'expected a statement',
  KM1006: 'expected an expression',
  KM1007: 'nesting too deep (more than 200 levels of parentheses, operators or blocks)',
  KM1008: 'invalid escape sequence in a string literal',
  KM1009: 'the left side of `=` must be a variable name',
  KM1010: '`else` without an if: it must follow the `}` of its if on the same line',
  KM2001: 'unknown name',
  KM2002: 'name already declared in this scope',
  KM2003: 'unknown function',
  KM2004: 'wrong number of arguments',
  KM2005: 'reserved word (reserved for a future statement or value)',
  KM2006: 'machine block misplaced (it must come first, once, at the top level)',
  KM2007: 'unknown machine entry',
  KM2008: 'machine entry value must be a constant integer',
  KM2009: 'duplicate machine entry',
  KM2010: 'built-in name cannot be declared or assigned',
  KM2011: 'function used as a value without calling it',
  KM2012: 'call of a function that returns no value, used as a value',
  KM2013: 'expression statement has no effect (only calls can stand alone)',
  KM2014: 'a string literal where a value is expected (only `print` and `log` take strings)',
  KM2015: 'loop variable cannot be assigned',
  KM2016: 'called name is not a function',
  KM2017: 'a name argument (`spawn("bash")`) must be a string literal',
  KM2018: 'a procedure can only be defined at the top level',
  KM2019: 'a procedure returns a value on some paths and none on others',
  KM2020: '`return` outside a procedure',
  KM2021: 'a callback argument (a constructor) must name a procedure of one parameter',
  KM2022: 'unknown report kind in `expect KIND { }` (`slub_debug`, `kasan`, `kmemleak`, `kfence`, `might_sleep`)',
  KM2023: '`print` or `log` with more than 16 items',
  KM2024:
    'warning: an allocation in an `on irq` / `on softirq` block with a GFP mask that may sleep (use `GFP_ATOMIC`)',
  KM2025:
    'a list where a number goes (arithmetic, a condition, an argument): use `length(pool)`, `pool[i]` or `pop pool`',
  KM2026: 'a number where a list goes (`push`, `pop`, `pool[i]`, `length`, `for ... in`, a list parameter)',
  KM2027: 'a `[...]` list literal with more than 1024 items',
  KM2028: '`include` inside a block or procedure (only at the top level)',
  KM2029: 'an include cycle (a file that includes itself, directly or through others), or includes nested over 32 deep',
  KM2030: '`include` of a file outside the workspace',
  KM2031: '`include` of a file that cannot be read',
  KM3001: 'memory size out of range (16M..64G)',
  KM3002: 'memory size not a whole number of 4K pages',
  KM3003: 'CPU count out of range (1..256)',
  KM3004: 'KFENCE sample interval out of range (0..86400000 ms)',
  KM3005: 'seed out of range (0..4294967295)',
  KM4001: 'kfree of an address outside memory',
  KM4002: 'double free',
  KM4003: 'kfree of an address kmalloc did not return (or inside an object)',
  KM4005: 'Bad page state: free_pages refused (double free, wrong order, tail, reserved)',
  KM4006: 'free_pages of a value that is not a direct-map address inside memory',
  KM4008: 'kernel panic: out of memory and no killable process',
  KM4009: 'allocation livelock: cannot fail and cannot OOM-kill (no `__GFP_FS`)',
  KM4010: 'split_page of a compound page, another order, or no allocation',
  KM4011: 'vfree of an address that is no vmalloc area',
  KM4012: 'kernel stack overflow into the guard page',
  KM4013: 'kernel oops: kernel code touched an unmapped or forbidden address',
  KM4100: 'statement limit reached (`kmem run --max-steps`, 100,000,000 by default; the debugger has no limit: pause)',
  KM4101: 'invalid kmalloc size',
  KM4102: 'kfree of a value that is not a direct-map kernel address',
  KM4103: 'division or remainder by zero',
  KM4104: 'shift count out of range (0..63)',
  KM4105: 'invalid loop count or range bound',
  KM4106: 'invalid GFP mask',
  KM4107: 'invalid page order (negative, or above 10 for free_pages)',
  KM4108: 'procedure calls nested too deep (more than 10,000 active: a runaway recursion)',
  KM4109: "no such CPU: `on cpu N` with N outside the machine's CPUs",
  KM4120: 'memory access outside the direct map of RAM and the vmalloc area',
  KM4121: "a bulk call's pointer array is not memory the scenario allocated (free, reserved, or beyond one object)",
  KM4122: '`kmemleak_scan()` on a machine without kmemleak (`machine { kmemleak y }`)',
  KM4123: '`msleep` of a negative time or more than a day',
  KM4124: "a kmemleak call's argument is not a kernel pointer",
  KM4125: 'a spin lock taken again while held (a deadlock)',
  KM4126: 'a lock released that is not held, or preemption, interrupts or RCU enabled more often than disabled',
  KM4127: '`rand(n)` with `n` not a whole number from 1 to 4294967296',
  KM4128:
    '`module_load` or `module_unload` refused: a bad name or size, a name already loaded or not loaded, no memory',
  KM4129: '`pop` of an empty list',
  KM4130: 'a list index outside `0..length(list)-1`',
  KM4131: '`push` onto a list that already holds 1048576 items',
  KM4132: 'no slab cache by the name a `slab_*` counter asks for',
  KM4220: 'EINVAL from a process memory call (unaligned, out of range, bad `PROT_` bits)',
  KM4221: 'EEXIST: mmap over an existing mapping',
  KM4222: 'ENOMEM: out of memory in a process call, or mprotect over a hole',
  KM4223: 'ESRCH: no such process (never spawned, exited or killed)',
  KM4225: 'EPERM: a fixed mapping below vm.mmap_min_addr (64K)',
  KM4230: 'kmem_cache_create with an invalid size (below 8 or above 4M) or alignment (EINVAL)',
  KM4231: 'not a live slab cache handle',
  KM4232: 'not a heap handle',
  KM5001: 'expectation failed: the condition of an `expect` statement is 0',
  KM5002: 'an `expect KIND { }` block made no report of its kind',
  KM6001: 'invalid TLSF heap or block size',
  KM6002: 'TLSF free of an address that is no block (tlsf.c would assert)',
  KM6003: 'TLSF double free (tlsf.c would assert)',
  KM6004: 'TLSF free of a corrupted header or an address inside a block',
  KM6102: 'invalid free-list heap options (policy, list order)',
};

export function position(line: number, character: number): Position {
  return { line, character };
}

export function range(start: Position, end: Position): Range {
  return { start, end };
}

/** The smallest range covering both. */
export function cover(a: Range, b: Range): Range {
  return { start: a.start, end: b.end };
}

export function error(code: string, message: string, at: Range): Diagnostic {
  return { code, message, severity: 'error', range: at };
}

export function comparePositions(a: Position, b: Position): number {
  return a.line - b.line || a.character - b.character;
}

/** Diagnostics in document order (stable for equal positions). */
export function sortDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  return diagnostics
    .map((d, i) => ({ d, i }))
    .sort((x, y) => comparePositions(x.d.range.start, y.d.range.start) || x.i - y.i)
    .map((x) => x.d);
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}
