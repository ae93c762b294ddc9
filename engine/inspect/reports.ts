/*
 * The detectors' reports as data: each report event (slub_debug, kasan, kmemleak, kfence, might_sleep) with
 * what it found in a few words, for the CLI's JSON output, the debugger's stop descriptions and panels. The
 * full text of every report is in the machine's kernel log; this is the index into it. Invariant: one entry
 * per report event, in event order; a report kind's entries number Machine.reportCount(kind).
 */

import type { Machine } from '../mm/machine';
import { EVENT_KIND_NAMES, EventKind, KmemEvent } from '../trace/events';
import { KASAN_BUG_NAMES, KasanBug } from '../mm/kasan_checks';
import { KFENCE_BUG_NAMES, KfenceBug } from '../mm/kfence_checks';
import { SlubReport } from '../mm/slub_checks';
import { MightSleepKind } from '../mm/context';

/** The event kinds that are detector reports. */
export const REPORT_EVENT_KINDS: readonly EventKind[] = [
  EventKind.SlubDebug,
  EventKind.Kasan,
  EventKind.Kmemleak,
  EventKind.Kfence,
  EventKind.MightSleep,
];

const SLUB_REPORT_TEXT: Readonly<Record<SlubReport, string>> = {
  [SlubReport.ObjectCorrupt]: 'an object whose red zone, poison or free pointer was overwritten',
  [SlubReport.AlreadyFree]: 'a free of an object already free',
  [SlubReport.SlabPadding]: 'the slab padding overwritten',
  [SlubReport.SlabCounters]: 'slab counters that disagree with its freelist',
};

const MIGHT_SLEEP_TEXT: Readonly<Record<MightSleepKind, string>> = {
  [MightSleepKind.SleepingInAtomic]: 'sleeping function called from invalid context',
  [MightSleepKind.SchedulingWhileAtomic]: 'scheduling while atomic',
};

export interface ReportEntry {
  /** The report kind, as `expect KIND { }` names it. */
  readonly kind: string;
  /** The event's sequence number. */
  readonly seq: number;
  /** The scenario line (1-based) and CPU the report came from. */
  readonly line: number;
  /** The included file the line is in (Program.files); absent: the scenario's own. */
  readonly file?: string;
  readonly cpu: number;
  /** What was found: the kernel's bug type or a short description. */
  readonly what: string;
  /** The address involved (%px, 0x and 16 hex digits), when the report has one. */
  readonly address?: string;
  /** The cache involved, when the report names one. */
  readonly cache?: string;
  /** kmemleak: the leaked block's size. */
  readonly size?: number;
}

/** What a report event found, in a few words. */
export function reportWhat(e: KmemEvent): string {
  switch (e.kind) {
    case EventKind.SlubDebug:
      return SLUB_REPORT_TEXT[e.size as SlubReport] ?? 'SLUB debug report';
    case EventKind.Kasan:
      return KASAN_BUG_NAMES[e.size as KasanBug] ?? 'KASAN report';
    case EventKind.Kmemleak:
      return 'unreferenced object';
    case EventKind.Kfence:
      return KFENCE_BUG_NAMES[e.size as KfenceBug] ?? 'KFENCE report';
    case EventKind.MightSleep:
      return MIGHT_SLEEP_TEXT[e.size as MightSleepKind] ?? 'might_sleep report';
    default:
      return EVENT_KIND_NAMES[e.kind];
  }
}

/** Every report the machine's detectors made, in order. */
export function reportEntries(machine: Machine): ReportEntry[] {
  const out: ReportEntry[] = [];
  const kinds = new Set(REPORT_EVENT_KINDS);
  for (let i = 0; i < machine.events.length; i++) {
    if (!kinds.has(machine.events.kindAt(i))) continue;
    const e = machine.events.get(i);
    const cache = e.cache >= 0 ? machine.slub.caches[e.cache]?.name : undefined;
    out.push({
      kind: EVENT_KIND_NAMES[e.kind],
      seq: e.seq,
      line: e.line,
      ...(e.file !== 0 ? { file: machine.sourceFiles[e.file] ?? `file ${e.file}` } : {}),
      cpu: e.cpu,
      what: reportWhat(e),
      ...(e.addr ? { address: machine.formatVirt(e.addr) } : {}),
      ...(cache !== undefined ? { cache } : {}),
      ...(e.kind === EventKind.Kmemleak ? { size: e.size } : {}),
    });
  }
  return out;
}
