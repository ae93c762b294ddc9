/*
 * The detectors' own calls: kmemleak's API (kmemleak_not_leak(), kmemleak_ignore(), and a scan as
 * `echo scan > /sys/kernel/debug/kmemleak` starts one) and msleep(), which lets the machine's time pass
 * (kmemleak does not report blocks younger than 5 seconds; KFENCE samples once per interval).
 */

import type { CallFailure, GenericBuiltin } from './calls';
import { Value, formatValue } from './values';

/** The longest msleep() one call may take: a day of emulated time. */
export const MSLEEP_MAX = 24 * 60 * 60 * 1000;

function kernelPointer(name: string, v: Value): bigint | CallFailure {
  if (typeof v !== 'bigint') {
    return { code: 'KM4124', message: `${name}: ${formatValue(v)} is not a kernel pointer` };
  }
  return v;
}

/** The doc kmemleak_not_leak() and kmemleak_ignore() share, as one row of the builtin table of docs/language.md. */
const KMEMLEAK_MARK_DOC =
  'The block at `ptr` is never reported and becomes a root (`not_leak`), or is neither reported nor scanned (`ignore`); an unknown block is warned about in the log; nothing without kmemleak.';

/** The doc module_load() and module_unload() share, as one row of the builtin table of docs/language.md. */
const MODULE_DOC =
  'Load a module of `size` bytes into the module mapping space (execmem: vmalloc pages above MODULES_VADDR; `/proc/modules`, `/proc/vmallocinfo`; kmemleak scans it) and return its base, or unload it; `name` is a string literal. The first load taints the kernel O. KM4128 for a bad name or size, a duplicate, an unknown name, no memory.';

export const DETECTOR_BUILTINS: readonly GenericBuiltin[] = [
  {
    name: 'kmemleak_scan',
    params: [],
    returnsValue: true,
    summary:
      'One kmemleak scan now (echo scan > /sys/kernel/debug/kmemleak): the scenario\'s live values are the roots, pointers stored in memory are followed; blocks unreachable and at least 5 s old (msleep) are reported, each once, with "unreferenced object 0x... (size N)". A leak whose bytes changed since the last scan is reported by the next one, as in the kernel. Returns the number of new leaks; KM4122 when the machine has no kmemleak.',
    doc: 'One kmemleak scan now: the number of new suspected leaks (see [kmemleak](#kmemleak)); KM4122 without `kmemleak y`.',
    returns: 'a count',
    topic: 'detectors',
    run(machine, _args, _strings, host) {
      if (!machine.kmemleak) {
        return { code: 'KM4122', message: 'kmemleak_scan: the machine has no kmemleak (machine { kmemleak y })' };
      }
      const roots = host.liveValues().filter((v): v is bigint => typeof v === 'bigint');
      return machine.kmemleak.scan(roots);
    },
  },
  {
    name: 'kmemleak_not_leak',
    params: ['ptr'],
    returnsValue: false,
    summary:
      'kmemleak_not_leak(ptr): the block is never reported and is scanned as a root (min_count 0), as for a block only a register or a physical address refers to. Does nothing without kmemleak.',
    doc: KMEMLEAK_MARK_DOC,
    returns: 'nothing',
    topic: 'detectors',
    run(machine, [ptr]) {
      const p = kernelPointer('kmemleak_not_leak', ptr!);
      if (typeof p !== 'bigint') return p;
      machine.kmemleak?.mark(p, 'not_leak');
      return undefined;
    },
  },
  {
    name: 'kmemleak_ignore',
    params: ['ptr'],
    returnsValue: false,
    summary:
      'kmemleak_ignore(ptr): the block is neither reported nor scanned (min_count -1). Does nothing without kmemleak.',
    doc: KMEMLEAK_MARK_DOC,
    returns: 'nothing',
    topic: 'detectors',
    run(machine, [ptr]) {
      const p = kernelPointer('kmemleak_ignore', ptr!);
      if (typeof p !== 'bigint') return p;
      machine.kmemleak?.mark(p, 'ignore');
      return undefined;
    },
  },
  {
    name: 'module_load',
    params: ['name', 'size'],
    stringParams: [0],
    returnsValue: true,
    summary:
      'Loads a module of size bytes (init_module): its memory comes from the module mapping space (execmem_alloc: vmalloc pages above MODULES_VADDR), shown in /proc/modules and /proc/vmallocinfo. Returns its base address; the first module taints the kernel O. KM4128 for a bad name or size, a name already loaded, no memory.',
    doc: MODULE_DOC,
    returns: 'an address',
    topic: 'detectors',
    run(machine, [name, size], strings) {
      const r = machine.modules.load(strings[name as number] ?? '', size as number);
      if ('code' in r) return r;
      // module_memory_alloc(): kmemleak_not_leak() of the module's memory, which kmemleak then scans.
      machine.kmemleak?.alloc(r.area.addr, r.size, 'execmem_alloc');
      machine.kmemleak?.mark(r.area.addr, 'not_leak');
      return r.area.addr;
    },
  },
  {
    name: 'module_unload',
    params: ['name'],
    stringParams: [0],
    returnsValue: false,
    summary:
      "Unloads a module (delete_module): its memory goes back. What its code allocated and never freed stays allocated: kmemleak's story.",
    doc: MODULE_DOC,
    returns: 'nothing',
    topic: 'detectors',
    run(machine, [name], strings) {
      const mod = machine.modules.modules().find((m) => m.name === strings[name as number]);
      const bad = machine.modules.unload(strings[name as number] ?? '');
      if (!bad && mod) machine.kmemleak?.free(mod.area.addr);
      return bad;
    },
  },
  {
    name: 'rand',
    params: ['n'],
    returnsValue: true,
    summary:
      "A random whole number from 0 to n - 1, from the machine's generator: the same scenario with the same seed (machine { seed N }, kmem run --seed N) draws the same numbers.",
    doc: "A random whole number from 0 to `n` - 1 (`n` from 1 to 2^32; KM4127 otherwise), from the machine's generator seeded by `seed`.",
    returns: 'a value',
    topic: 'detectors',
    run(machine, [n]) {
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 2 ** 32) {
        return {
          code: 'KM4127',
          message: `rand: n must be a whole number from 1 to 4294967296, not ${formatValue(n!)}`,
        };
      }
      return Math.floor((machine.random() / 2 ** 32) * n);
    },
  },
  {
    name: 'msleep',
    params: ['ms'],
    returnsValue: false,
    summary:
      "Lets ms milliseconds of the machine's time pass (jiffies at HZ=1000). The machine's clock moves only here, so a run stays deterministic.",
    doc: "Lets `ms` milliseconds of the machine's clock pass (0 to a day; KM4123 otherwise): kmemleak's minimum age and KFENCE's sample interval count it.",
    returns: 'nothing',
    topic: 'detectors',
    run(machine, [ms]) {
      if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > MSLEEP_MAX) {
        return { code: 'KM4123', message: `msleep: ms must be 0 to ${MSLEEP_MAX} (a day), not ${formatValue(ms!)}` };
      }
      // schedule() from atomic context: __schedule_bug() reports; the sleep happens all the same.
      machine.context.scheduleCheck();
      machine.uptimeMs += ms;
      return undefined;
    },
  },
];
