/*
 * Machine states for the webview tests, made by the real engine (no hand-written numbers): a small
 * scenario run on a booted Machine, with the views taken at two stops.
 */

import assert from 'node:assert/strict';
import { zoneinfoView } from '../../engine/inspect/procfs';
import { buddyinfoView, slabinfoView, summaryView } from '../../engine/inspect/views';
import { GFP_KERNEL } from '../../engine/mm/gfp';
import { Machine } from '../../engine/mm/machine';
import type { MachineState } from '../../webview/protocol';

export function bootMachine(memoryBytes = 256 * 1024 * 1024): Machine {
  const m = Machine.boot({ memoryBytes, cpus: 2 });
  assert.ok(!Array.isArray(m), 'boot failed');
  return m;
}

export function stateOf(m: Machine, stop?: MachineState['stop']): MachineState {
  return {
    slabinfo: slabinfoView(m),
    buddyinfo: buddyinfoView(m),
    summary: summaryView(m),
    zoneinfo: zoneinfoView(m),
    stop,
  };
}

function alloc(m: Machine, line: number, size: number, count: number, cpu = 0): number[] {
  m.line = line;
  m.cpu = cpu;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const p = m.kmalloc(size, GFP_KERNEL);
    assert.ok(p >= 0, `kmalloc(${size}) failed`);
    out.push(p);
  }
  return out;
}

function free(m: Machine, line: number, ptrs: readonly number[]): void {
  m.line = line;
  for (const p of ptrs) assert.equal(m.kfree(p), undefined);
}

/**
 * Two stops of one scenario. First: 50 kmalloc(192) with every fifth freed, a few other caches in use,
 * and order-2 pages (kmalloc(16K)) allocated and half freed, so the buddy free areas are not pristine.
 * Second: 31 more kmalloc(192) (one more slab: +21 objects), kmalloc(32) on the other CPU, some kmalloc(64)
 * and kmalloc(192) freed (partial slabs).
 */
export function scenarioStates(): { machine: Machine; first: MachineState; second: MachineState } {
  const m = bootMachine();
  const objs192 = alloc(m, 4, 192, 50);
  free(
    m,
    6,
    objs192.filter((_, i) => i % 5 === 0),
  );
  const objs64 = alloc(m, 8, 64, 30, 1);
  alloc(m, 9, 1000, 12);
  alloc(m, 10, 5000, 3, 1);
  const large = alloc(m, 11, 16384, 24);
  free(
    m,
    12,
    large.filter((_, i) => i % 2 === 0),
  );
  const first = stateOf(m, { reason: 'breakpoint', line: 14, description: 'for (i = 0; i < 31; i++) kmalloc(192)' });

  alloc(m, 14, 192, 31);
  alloc(m, 15, 32, 40, 1);
  free(m, 16, objs64.slice(0, 10));
  free(
    m,
    16,
    objs192.filter((_, i) => i % 5 === 2 || i % 5 === 3),
  );
  const second = stateOf(m, { reason: 'step', line: 17, description: 'kfree(q[i])' });
  return { machine: m, first, second };
}
