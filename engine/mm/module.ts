/*
 * Loadable modules (Linux 6.12 kernel/module/main.c, mm/execmem.c): what a module costs in memory and where it
 * sits. load_module() lays the module out and move_module() allocates its memory with execmem_alloc(), which
 * is __vmalloc_node_range() over the module mapping space [MODULES_VADDR, MODULES_END) (x86-64:
 * ffffffffa0000000..ffffffffff000000; RISC-V: the 2G below the kernel): pages from the page allocator mapped
 * into init_mm's page table, with a guard page after, as any vmalloc area. /proc/modules lists each with its
 * size, references, dependencies, state and address; /proc/vmallocinfo shows its area.
 *
 * The model: one area per module, PAGE_ALIGN(size) bytes (the kernel makes one area per memory type: text,
 * data, rodata, init; their sum is the size /proc/modules prints). Loading the first module taints the
 * kernel O (an out-of-tree module, as a scenario's is) and prints the kernel's message. Not modelled: symbol
 * resolution, init sections freed after init, KASLR of the module base, dependencies (none), refcounts (0).
 * Invariants: names are unique among loaded modules; a module's area lives exactly while it is loaded.
 */

import { GFP_KERNEL } from './gfp';
import { PAGE_SIZE } from './config';
import { VmArea, VmallocHost, VmallocSpace, isVmallocError } from './vmalloc';

/** MODULE_NAME_LEN: 64 - sizeof(unsigned long); names are shorter. */
export const MODULE_NAME_LEN = 56;
/** TAINT_OOT_MODULE. */
export const TAINT_OOT_MODULE = 12;

export interface LoadedModule {
  readonly name: string;
  /** mod->mem[] sizes summed: PAGE_ALIGN of the size asked for. */
  readonly size: number;
  readonly area: VmArea;
}

export interface ModuleError {
  readonly code: string;
  readonly message: string;
}

/** What the loader needs of the machine besides the page allocator and page table (the vmalloc host). */
export interface ModuleHost extends VmallocHost {
  printk(text: string): void;
  taint: { mask: number };
}

export class ModuleLoader {
  readonly space: VmallocSpace;
  private readonly loaded = new Map<string, LoadedModule>();

  constructor(
    start: bigint,
    end: bigint,
    private readonly host: ModuleHost,
  ) {
    this.space = new VmallocSpace(start, end, host);
  }

  /** init_module(): the module's memory, or why it cannot load (EINVAL, EEXIST, ENOMEM). */
  load(name: string, size: number): LoadedModule | ModuleError {
    if (!/^[A-Za-z0-9_]+$/.test(name) || name.length >= MODULE_NAME_LEN) {
      return {
        code: 'KM4128',
        message: `module_load: '${name}' is no module name (letters, digits and _, under ${MODULE_NAME_LEN} characters) (EINVAL)`,
      };
    }
    if (!Number.isInteger(size) || size <= 0 || size > 1 << 30) {
      return { code: 'KM4128', message: `module_load(${name}): size ${size} is not 1 byte to 1G (EINVAL)` };
    }
    if (this.loaded.has(name)) {
      return { code: 'KM4128', message: `module_load(${name}): a module of that name is loaded (EEXIST)` };
    }
    // module_sig_check() / taint: the first out-of-tree module taints the kernel O.
    if (!(this.host.taint.mask & (1 << TAINT_OOT_MODULE))) {
      this.host.printk(`${name}: loading out-of-tree module taints kernel.\n`);
      this.host.taint.mask |= 1 << TAINT_OOT_MODULE;
    }
    const bytes = Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
    const area = this.space.vmalloc(bytes, GFP_KERNEL, { caller: 'execmem_vmalloc+0x0/0x0' });
    if (isVmallocError(area)) {
      for (const l of area.log) this.host.printk(`${l.text}\n`);
      return { code: 'KM4128', message: `module_load(${name}): no memory for ${bytes} bytes (ENOMEM)` };
    }
    const mod = { name, size: bytes, area };
    this.loaded.set(name, mod);
    return mod;
  }

  /** delete_module(): frees the module's memory; an error when no module of that name is loaded (ENOENT). */
  unload(name: string): ModuleError | undefined {
    const mod = this.loaded.get(name);
    if (!mod) return { code: 'KM4128', message: `module_unload(${name}): no module of that name is loaded (ENOENT)` };
    this.space.vfree(mod.area.addr);
    this.loaded.delete(name);
    return undefined;
  }

  /** The loaded modules, most recent first (the order of the kernel's modules list and /proc/modules). */
  modules(): LoadedModule[] {
    return [...this.loaded.values()].reverse();
  }
}

/**
 * /proc/modules (kernel/module/procfs.c m_show()): "%s %u %d %s %s 0x%px" and the taint letters: name, size,
 * references, dependencies ("-" for none), state, address (root, kptr_restrict 0), then " (O)".
 */
export function formatProcModules(modules: readonly LoadedModule[]): string {
  return modules
    .map((m) => `${m.name} ${m.size} 0 - Live 0x${m.area.addr.toString(16).padStart(16, '0')} (O)\n`)
    .join('');
}
