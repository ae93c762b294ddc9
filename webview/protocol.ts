/*
 * The one message protocol between a KMem panel and its host (the extension, or the CLI's HTML report),
 * shared by both ends: discriminated unions for each direction, and guards that check untrusted messages
 * structurally. Messages cross a postMessage boundary, so neither end trusts the other: the webview
 * checks every HostToWebview, the host checks every WebviewToHost. The guards never throw.
 *
 * The views are the engine's plain-JSON views (engine/inspect/views.ts), imported as types only: the
 * webview bundle carries no engine code.
 */

import type {
  BuddyinfoView,
  BuddyZoneView,
  MachineSummaryView,
  SlabCacheView,
  SlabinfoView,
} from '../engine/inspect/views';
import type { ZoneinfoView, ZoneinfoZoneView } from '../engine/inspect/procfs';

/** Everything the slab panel renders, as of one stop of the debugger. */
export interface MachineState {
  readonly slabinfo: SlabinfoView;
  readonly buddyinfo: BuddyinfoView;
  readonly summary: MachineSummaryView;
  /**
   * /proc/zoneinfo as JSON: every zone's watermarks, for the buddy blocks. Optional: hosts and reports
   * from before watermarks were modelled do not send it, and the panel then shows no watermark line.
   */
  readonly zoneinfo?: ZoneinfoView;
  /** Why and where the scenario stopped; absent for a finished run or a report. */
  readonly stop?: {
    readonly reason: string;
    /** 1-based scenario line. */
    readonly line: number;
    /** The included file the line is in (a path the host knows); absent: the scenario's own file. */
    readonly file?: string;
    readonly description?: string;
  };
}

/** Host -> webview. */
export type HostToWebview = { type: 'state'; state: MachineState } | { type: 'ended'; message: string };

/**
 * Webview -> host. `revealLine` asks the host to show a 1-based scenario line, in `file` when the stop named
 * one (the host opens only the file its last state named).
 */
export type WebviewToHost =
  { type: 'ready' } | { type: 'revealLine'; line: number; file?: string } | { type: 'error'; message: string };

/** True when `x` is a well-formed HostToWebview message. Never throws. */
export function isHostToWebview(x: unknown): x is HostToWebview {
  return explainHostToWebview(x) === undefined;
}

/** True when `x` is a well-formed WebviewToHost message. Never throws. */
export function isWebviewToHost(x: unknown): x is WebviewToHost {
  return explainWebviewToHost(x) === undefined;
}

/** True when `x` is a well-formed MachineState (a baked-in report state, a restored panel state). */
export function isMachineState(x: unknown): x is MachineState {
  return explainMachineState(x) === undefined;
}

/** Why `x` is not a HostToWebview (a path and a reason, for the panel's error line), or undefined. */
export function explainHostToWebview(x: unknown): string | undefined {
  return guard(() => {
    if (!isRecord(x)) return `message is ${describe(x)}, not an object`;
    switch (x.type) {
      case 'state':
        return explainMachineState(x.state, 'state');
      case 'ended':
        return typeof x.message === 'string' ? undefined : `message.message is ${describe(x.message)}, not a string`;
      default:
        return `unknown message type ${describe(x.type)}`;
    }
  });
}

/** Why `x` is not a WebviewToHost, or undefined. */
export function explainWebviewToHost(x: unknown): string | undefined {
  return guard(() => {
    if (!isRecord(x)) return `message is ${describe(x)}, not an object`;
    switch (x.type) {
      case 'ready':
        return undefined;
      case 'revealLine':
        if (x.file !== undefined && typeof x.file !== 'string') return `file is ${describe(x.file)}, not a string`;
        return isLine(x.line) ? undefined : `line is ${describe(x.line)}, not a 1-based line number`;
      case 'error':
        return typeof x.message === 'string' ? undefined : `message is ${describe(x.message)}, not a string`;
      default:
        return `unknown message type ${describe(x.type)}`;
    }
  });
}

/** Why `x` is not a MachineState, or undefined; `at` names it in the reason. */
export function explainMachineState(x: unknown, at = 'state'): string | undefined {
  return guard(() => {
    if (!isRecord(x)) return `${at} is ${describe(x)}, not an object`;
    return (
      explainSlabinfo(x.slabinfo, `${at}.slabinfo`) ??
      explainBuddyinfo(x.buddyinfo, `${at}.buddyinfo`) ??
      explainSummary(x.summary, `${at}.summary`) ??
      (x.zoneinfo === undefined ? undefined : explainZoneinfo(x.zoneinfo, `${at}.zoneinfo`)) ??
      (x.stop === undefined ? undefined : explainStop(x.stop, `${at}.stop`))
    );
  });
}

// ---- the parts ------------------------------------------------------------------------------------------

/** Every count in SlabCacheView; all are non-negative integers. */
const CACHE_COUNTS: readonly (keyof SlabCacheView)[] = [
  'activeObjs',
  'numObjs',
  'objSize',
  'objectSize',
  'objPerSlab',
  'pagesPerSlab',
  'order',
  'activeSlabs',
  'numSlabs',
  'partial',
  'cpuSlabs',
  'cpuPartial',
  'minPartial',
  'liveObjects',
];
const SUMMARY_COUNTS: readonly (keyof MachineSummaryView)[] = [
  'memoryBytes',
  'cpus',
  'freePages',
  'totalPages',
  'events',
  'slabPages',
];
/** Every count in ZoneinfoZoneView. */
const ZONEINFO_ZONE_COUNTS: readonly (keyof ZoneinfoZoneView)[] = [
  'node',
  'freePages',
  'boost',
  'min',
  'low',
  'high',
  'promo',
  'spanned',
  'present',
  'managed',
  'cma',
  'startPfn',
];
/** Zone types a zoneinfo view may list (MAX_NR_ZONES is 4 to 5 in real configs), and protection[] entries. */
const MAX_ZONES = 8;
/** Buddy orders a zone may report: Linux's MAX_PAGE_ORDER is a config option, 10 by default. */
const MAX_ORDERS = 32;

function explainSlabinfo(x: unknown, at: string): string | undefined {
  if (!isRecord(x)) return `${at} is ${describe(x)}, not an object`;
  if (x.kind !== 'slabinfo') return `${at}.kind is ${describe(x.kind)}, not "slabinfo"`;
  if (!Array.isArray(x.caches)) return `${at}.caches is ${describe(x.caches)}, not an array`;
  for (let i = 0; i < x.caches.length; i++) {
    const why = explainCache(x.caches[i], `${at}.caches[${i}]`);
    if (why !== undefined) return why;
  }
  return undefined;
}

function explainCache(x: unknown, at: string): string | undefined {
  if (!isRecord(x)) return `${at} is ${describe(x)}, not an object`;
  if (typeof x.name !== 'string') return `${at}.name is ${describe(x.name)}, not a string`;
  return explainCounts(x, CACHE_COUNTS, at);
}

function explainBuddyinfo(x: unknown, at: string): string | undefined {
  if (!isRecord(x)) return `${at} is ${describe(x)}, not an object`;
  if (x.kind !== 'buddyinfo') return `${at}.kind is ${describe(x.kind)}, not "buddyinfo"`;
  if (!Array.isArray(x.zones)) return `${at}.zones is ${describe(x.zones)}, not an array`;
  for (let i = 0; i < x.zones.length; i++) {
    const why = explainZone(x.zones[i], `${at}.zones[${i}]`);
    if (why !== undefined) return why;
  }
  return undefined;
}

function explainZone(x: unknown, at: string): string | undefined {
  if (!isRecord(x)) return `${at} is ${describe(x)}, not an object`;
  if (typeof x.zone !== 'string') return `${at}.zone is ${describe(x.zone)}, not a string`;
  const counts = explainCounts(x, ['node', 'freePages', 'managedPages'] satisfies (keyof BuddyZoneView)[], at);
  if (counts !== undefined) return counts;
  const nrFree = x.nrFree;
  if (!Array.isArray(nrFree) || nrFree.length === 0 || nrFree.length > MAX_ORDERS) {
    return `${at}.nrFree is ${describe(nrFree)}, not an array of 1 to ${MAX_ORDERS} counts`;
  }
  for (let i = 0; i < nrFree.length; i++) {
    if (!isCount(nrFree[i])) return `${at}.nrFree[${i}] is ${describe(nrFree[i])}, not a count`;
  }
  return undefined;
}

function explainZoneinfo(x: unknown, at: string): string | undefined {
  if (!isRecord(x)) return `${at} is ${describe(x)}, not an object`;
  if (x.kind !== 'zoneinfo') return `${at}.kind is ${describe(x.kind)}, not "zoneinfo"`;
  const counts = explainCounts(x, ['minFreeKbytes', 'totalreservePages'] satisfies (keyof ZoneinfoView)[], at);
  if (counts !== undefined) return counts;
  const zones = x.zones;
  if (!Array.isArray(zones) || zones.length > MAX_ZONES) {
    return `${at}.zones is ${describe(zones)}, not an array of at most ${MAX_ZONES} zones`;
  }
  for (let i = 0; i < zones.length; i++) {
    const why = explainZoneinfoZone(zones[i], `${at}.zones[${i}]`);
    if (why !== undefined) return why;
  }
  return undefined;
}

function explainZoneinfoZone(x: unknown, at: string): string | undefined {
  if (!isRecord(x)) return `${at} is ${describe(x)}, not an object`;
  if (typeof x.zone !== 'string') return `${at}.zone is ${describe(x.zone)}, not a string`;
  if (typeof x.populated !== 'boolean') return `${at}.populated is ${describe(x.populated)}, not a boolean`;
  const counts = explainCounts(x, ZONEINFO_ZONE_COUNTS, at);
  if (counts !== undefined) return counts;
  const protection = x.protection;
  if (!Array.isArray(protection) || protection.length > MAX_ZONES) {
    return `${at}.protection is ${describe(protection)}, not an array of at most ${MAX_ZONES} counts`;
  }
  for (let i = 0; i < protection.length; i++) {
    if (!isCount(protection[i])) return `${at}.protection[${i}] is ${describe(protection[i])}, not a count`;
  }
  return undefined;
}

function explainSummary(x: unknown, at: string): string | undefined {
  if (!isRecord(x)) return `${at} is ${describe(x)}, not an object`;
  if (x.kind !== 'summary') return `${at}.kind is ${describe(x.kind)}, not "summary"`;
  return explainCounts(x, SUMMARY_COUNTS, at);
}

function explainStop(x: unknown, at: string): string | undefined {
  if (!isRecord(x)) return `${at} is ${describe(x)}, not an object`;
  if (typeof x.reason !== 'string') return `${at}.reason is ${describe(x.reason)}, not a string`;
  if (!isLine(x.line)) return `${at}.line is ${describe(x.line)}, not a 1-based line number`;
  if (x.file !== undefined && typeof x.file !== 'string') return `${at}.file is ${describe(x.file)}, not a string`;
  if (x.description !== undefined && typeof x.description !== 'string') {
    return `${at}.description is ${describe(x.description)}, not a string`;
  }
  return undefined;
}

function explainCounts(x: Record<string, unknown>, keys: readonly string[], at: string): string | undefined {
  for (const key of keys) {
    if (!isCount(x[key])) return `${at}.${key} is ${describe(x[key])}, not a count`;
  }
  return undefined;
}

// ---- helpers ----------------------------------------------------------------------------------------------

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** A non-negative safe integer: every count, size and page number in the views. */
function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function isLine(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 1;
}

/** A short, safe description of a bad value for an error line. */
function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  switch (typeof x) {
    case 'undefined':
      return 'missing';
    case 'string':
      return JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}…` : x);
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(x);
    case 'object':
      return 'an object';
    default:
      return `a ${typeof x}`;
  }
}

/** Runs a check; a getter that throws (a hostile object) makes the value invalid instead of throwing. */
function guard(check: () => string | undefined): string | undefined {
  try {
    return check();
  } catch {
    return 'message could not be read';
  }
}
