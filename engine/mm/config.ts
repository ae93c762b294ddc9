/*
 * Machine configuration and the constants of the modelled kernel (Linux 6.12, x86-64, 4 KiB pages).
 *
 * Sizes are plain numbers of bytes: every machine the emulator supports (up to 64 GiB) is far below
 * 2^53, so they stay exact. Kernel virtual addresses (0xffff888000000000 and up) do not; they live as
 * bigint or hex strings only at the edges (see address.ts).
 */

import { ArchName } from './arch';

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
/** include/linux/mmzone.h: MAX_PAGE_ORDER = 10, so NR_PAGE_ORDERS = 11 and the largest block is 4 MiB. */
export const MAX_PAGE_ORDER = 10;
export const NR_PAGE_ORDERS = MAX_PAGE_ORDER + 1;
/** mm/slub.c: slub_max_order defaults to PAGE_ALLOC_COSTLY_ORDER (3). */
export const SLUB_MAX_ORDER = 3;
/** mm/slub.c: MAX_OBJS_PER_PAGE, the width of slab->objects. */
export const MAX_OBJS_PER_PAGE = 32767;

export const MIN_MEMORY = 16 * 1024 * 1024;
export const MAX_MEMORY = 64 * 1024 * 1024 * 1024;
export const MAX_CPUS = 256;
/** The longest KFENCE sample interval a machine takes: a day (the kernel's parameter is any unsigned long). */
export const KFENCE_MAX_INTERVAL_MS = 24 * 60 * 60 * 1000;

export interface MachineConfig {
  /** Bytes of physical memory; a multiple of the largest buddy block (4 MiB) is not required. */
  readonly memoryBytes: number;
  /** Present CPUs (num_present_cpus()); SLUB sizes its slabs by this count. */
  readonly cpus: number;
  /** The architecture and paging mode (arch.ts); x86_64 (4-level) when absent. */
  readonly arch?: ArchName;
  /**
   * CONFIG_SLAB_FREELIST_HARDENED: SLUB stores free pointers obfuscated (freeptr.ts). On when absent, as in
   * distribution kernels.
   */
  readonly hardenedFreelist?: boolean;
  /**
   * The slab_debug= boot option (alias slub_debug=), as its value: "FZPU", "FZ,kmalloc-64", "-" ... (see
   * slub_debug.ts parseSlabDebug). Absent: no slab debugging.
   */
  readonly slabDebug?: string;
  /** CONFIG_KASAN=y (generic mode, with CONFIG_KASAN_VMALLOC): kasan_checks.ts. Off when absent. */
  readonly kasan?: boolean;
  /** The kasan_multi_shot boot option: print every KASAN report, not only the first. */
  readonly kasanMultiShot?: boolean;
  /** CONFIG_DEBUG_KMEMLEAK=y (kmemleak_checks.ts). Off when absent. */
  readonly kmemleak?: boolean;
  /** CONFIG_KFENCE with kfence.sample_interval in ms (kfence_checks.ts); absent or 0: no KFENCE. */
  readonly kfence?: number;
  /**
   * The seed of the machine's random numbers (rand() in scenarios, KFENCE's placement): a run is a function of
   * the scenario and the seed. 1 when absent.
   */
  readonly seed?: number;
}

export const DEFAULT_CONFIG: MachineConfig = { memoryBytes: 256 * 1024 * 1024, cpus: 2 };

/** A configuration problem the user caused, with a stable code. */
export interface ConfigError {
  readonly code: string;
  readonly message: string;
}

/** Checks a configuration; returns the problems found (empty when it is usable). */
export function validateConfig(config: MachineConfig): ConfigError[] {
  const errors: ConfigError[] = [];
  if (!Number.isInteger(config.memoryBytes) || config.memoryBytes < MIN_MEMORY || config.memoryBytes > MAX_MEMORY) {
    errors.push({
      code: 'KM3001',
      message: `memory must be between 16M and 64G, not ${formatSize(config.memoryBytes)}`,
    });
  } else if (config.memoryBytes % PAGE_SIZE !== 0) {
    errors.push({ code: 'KM3002', message: `memory must be a whole number of 4K pages` });
  }
  if (!Number.isInteger(config.cpus) || config.cpus < 1 || config.cpus > MAX_CPUS) {
    errors.push({ code: 'KM3003', message: `cpus must be between 1 and ${MAX_CPUS}, not ${config.cpus}` });
  }
  const kf = config.kfence;
  if (kf !== undefined && (!Number.isInteger(kf) || kf < 0 || kf > KFENCE_MAX_INTERVAL_MS)) {
    errors.push({
      code: 'KM3004',
      message: `kfence takes a sample interval of 0 to ${KFENCE_MAX_INTERVAL_MS} ms (0: off), not ${kf}`,
    });
  }
  const seed = config.seed;
  if (seed !== undefined && (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)) {
    errors.push({ code: 'KM3005', message: `seed must be a whole number from 0 to 4294967295, not ${seed}` });
  }
  return errors;
}

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** Parses "256M", "1G", "4096", "0x1000", "64K" (case-insensitive unit, optional trailing B). */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(0x[0-9a-f]+|\d+)\s*([kmg]?)i?b?\s*$/i.exec(text);
  if (!m) {
    return undefined;
  }
  const n = Number(m[1]) * UNITS[m[2]!.toUpperCase()]!;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Formats a byte count the way a person writes it in a scenario: 256M, 4K, 1G, or plain bytes. */
export function formatSize(bytes: number): string {
  for (const [unit, scale] of [
    ['G', 1024 ** 3],
    ['M', 1024 ** 2],
    ['K', 1024],
  ] as const) {
    if (bytes >= scale && bytes % scale === 0) {
      return `${bytes / scale}${unit}`;
    }
  }
  return String(bytes);
}

/** include/asm-generic/getorder.h get_order(): the smallest order whose block holds size bytes. */
export function getOrder(size: number): number {
  let order = 0;
  let bytes = PAGE_SIZE;
  while (bytes < size) {
    bytes *= 2;
    order++;
  }
  return order;
}

/** include/asm-generic/bitops/fls.h fls(): 1-based index of the highest set bit, 0 for 0. */
export function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}
