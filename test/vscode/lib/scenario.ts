/*
 * What the tests expect, derived from the example and the engine instead of written down: the line of a
 * statement is searched in the file, and the slabinfo numbers a panel must show come from running the
 * scenario on the engine itself up to the same line. If the example or the allocator changes, the
 * expectations follow; only the facts the example itself states (129..192 bytes come from kmalloc-192,
 * two objects are live before kfree(first)) are asserted as constants.
 */

import { slabinfoView, type SlabCacheView } from '../../../engine/inspect/views';
import { loadScenario } from '../../../engine/scenario';

export const SLAB_GROWTH = 'slab-growth.kmem';

/** The 1-based line of the first line of `text` whose code (before any `#` comment) contains `needle`. */
export function lineOf(text: string, needle: string): number {
  const lines = text.split(/\r?\n/);
  const index = lines.findIndex((line) => (line.split('#')[0] ?? '').includes(needle));
  if (index < 0) {
    throw new Error(`no line containing ${JSON.stringify(needle)} in the scenario`);
  }
  return index + 1;
}

/**
 * The engine's slabinfo row for `cacheName` when the scenario stands at 1-based `line`, the way the
 * debugger gets there: loadScenario, then the VM runs with a breakpoint on that line. The debug adapter
 * runs the same engine, so this is "what the engine says" at that stop, computed without VS Code.
 */
export function engineSlabCacheAt(text: string, fileName: string, line: number, cacheName: string): SlabCacheView {
  const { diagnostics, scenario } = loadScenario(text, fileName);
  if (!scenario) {
    throw new Error(`${fileName} does not load: ${diagnostics.map((d) => `${d.code} ${d.message}`).join('; ')}`);
  }
  const target = line - 1;
  if (scenario.vm.currentLine() !== target) {
    for (let slice = 0; ; slice++) {
      const stop = scenario.vm.run({ maxInstructions: 1_000_000, breakAtLine: (l) => l === target });
      if (stop.reason === 'breakpoint') {
        break;
      }
      if (stop.reason !== 'budget' || slice >= 1000) {
        throw new Error(`${fileName} stopped with reason ${stop.reason} before reaching line ${line}`);
      }
    }
  }
  const row = slabinfoView(scenario.machine).caches.find((c) => c.name === cacheName);
  if (!row) {
    throw new Error(`the engine has no cache ${cacheName}`);
  }
  return row;
}
