/*
 * Page tables: the radix tree the MMU walks to turn a virtual address into a physical one, kept where the
 * hardware keeps it, in frames of emulated physical memory (PhysMem) as 64-bit little-endian entries. A
 * scenario that corrupts a table page corrupts the translation, as on a real machine.
 *
 * Geometry (Documentation/mm/page_tables.rst): every table is one 4 KiB page of 512 entries; each level
 * consumes 9 bits of the virtual address above the 12-bit page offset. Linux names the levels pgd, p4d,
 * pud, pmd, pte and folds the ones a paging mode lacks into the level above (p4d_offset() returns the pgd
 * entry itself); the levels that exist here are
 *
 *   x86_64       pgd(39) pud(30) pmd(21) pte(12)          p4d folded (4-level, CR3 -> PML4)
 *   x86_64-la57  pgd(48) p4d(39) pud(30) pmd(21) pte(12)  (5-level, CR3 -> PML5)
 *   sv39         pgd(30) pmd(21) pte(12)                  p4d and pud folded (satp.MODE 8)
 *   sv48         pgd(39) pud(30) pmd(21) pte(12)          p4d folded (satp.MODE 9)
 *
 * with the shift of each level's index in parentheses: pte_index(addr) = (addr >> PAGE_SHIFT) & 511.
 *
 * Entries (x86: arch/x86/include/asm/pgtable_types.h; RISC-V: arch/riscv/include/asm/pgtable-bits.h):
 *
 *   x86    63 NX | 62..59 PKEY | 51..12 PFN | 12 PAT (huge) | 11..9 SOFTW | 8 G | 7 PSE/PAT | 6 D | 5 A |
 *          4 PCD | 3 PWT | 2 U/S | 1 R/W | 0 P
 *          A pmd or pud entry with PSE maps a 2 MiB or 1 GiB page; without it, it points to the next table.
 *   RISC-V 63 N | 62..61 PBMT | 53..10 PPN | 9..8 RSW | 7 D | 6 A | 5 G | 4 U | 3 X | 2 W | 1 R | 0 V
 *          An entry with any of R, W, X is a leaf, at any level; one with only V points to the next table.
 *
 * Invariants kept by this module: a table page is an ordinary frame obtained from the host (the page
 * allocator) and returned to it; an entry is either zero, a pointer to a table page this PageTable owns
 * (or, for the kernel half of a user table, that the kernel's table owns), or a leaf. Intermediate entries
 * are written as Linux writes them: x86 _PAGE_TABLE (P|RW|USER|A|D, pmd_populate_kernel() and friends, for
 * kernel and user tables alike; the leaf decides the real protection), RISC-V _PAGE_TABLE (V only).
 *
 * A user address space shares the kernel half: pgd_alloc() copies the kernel's top-level entries into each
 * new pgd (x86 pgd_ctor(): clone_pgd_range() from KERNEL_PGD_BOUNDARY = pgd_index(PAGE_OFFSET); RISC-V
 * pgd_alloc(): entries from USER_PTRS_PER_PGD on), so both reach the same lower-level tables. Linux keeps
 * those top-level entries fixed after boot (x86 preallocate_vmalloc_pages(), RISC-V
 * preallocate_pgd_pages_range()); here copyKernelHalf() re-copies them if the kernel added one later.
 *
 * Freeing: a user table frees a table page as soon as unmap() leaves it empty. Linux frees user page tables
 * in free_pgtables() at munmap()/exit, for the span no VMA covers any more; freeing on empty is the same
 * when every mapping is its own VMA, and never leaves an empty table behind. The kernel's table never frees
 * tables on unmap (vunmap_range() leaves them in place in Linux too); destroy() frees all of them.
 *
 * Hardware behaviour of access(): x86 sets Accessed in every entry used by a successful translation and
 * Dirty in the leaf on a write; it checks R/W and U/S at every level (CR0.WP = 1 as Linux sets it), NX at
 * any level, and models SMEP/SMAP as Linux enables them (a supervisor access to a user page faults unless
 * it is a uaccess, stac()). RISC-V is modelled with hardware A/D updating (Svadu): the leaf's A is set on
 * any access, D on a write, with no fault (the alternative, Svade, would raise a page fault and leave the
 * update to the kernel); supervisor access to U pages needs sstatus.SUM (the uaccess option), execution of
 * a U page in supervisor mode always faults.
 *
 * Performance: map, unmap, translate and access compute indices on the two 32-bit halves of the address,
 * read and write entries byte-wise in the PhysMem page without BigInt, and allocate nothing on success;
 * walk() builds its report and is meant for people.
 */

import { ArchSpec } from './arch';
import { PAGE_SIZE } from './config';
import { NO_PFN } from './frames';
import { PhysMem } from './physmem';

// ---- x86 entry bits (arch/x86/include/asm/pgtable_types.h, 6.12) ----
export const _PAGE_BIT_PRESENT = 0;
export const _PAGE_BIT_RW = 1;
export const _PAGE_BIT_USER = 2;
export const _PAGE_BIT_PWT = 3;
export const _PAGE_BIT_PCD = 4;
export const _PAGE_BIT_ACCESSED = 5;
export const _PAGE_BIT_DIRTY = 6;
export const _PAGE_BIT_PSE = 7;
export const _PAGE_BIT_PAT = 7;
export const _PAGE_BIT_GLOBAL = 8;
export const _PAGE_BIT_SOFTW1 = 9;
export const _PAGE_BIT_SOFTW2 = 10;
export const _PAGE_BIT_SOFTW3 = 11;
export const _PAGE_BIT_PAT_LARGE = 12;
export const _PAGE_BIT_NX = 63;

export const _PAGE_PRESENT = 1n << 0n;
export const _PAGE_RW = 1n << 1n;
export const _PAGE_USER = 1n << 2n;
export const _PAGE_PWT = 1n << 3n;
export const _PAGE_PCD = 1n << 4n;
export const _PAGE_ACCESSED = 1n << 5n;
export const _PAGE_DIRTY = 1n << 6n;
export const _PAGE_PSE = 1n << 7n;
export const _PAGE_PAT = 1n << 7n;
export const _PAGE_GLOBAL = 1n << 8n;
export const _PAGE_PAT_LARGE = 1n << 12n;
export const _PAGE_NX = 1n << 63n;
/** PTE_PFN_MASK: physical address bits 12..51 (__PHYSICAL_MASK_SHIFT = 52). */
export const PTE_PFN_MASK = ((1n << 52n) - 1n) & ~0xfffn;
/** _PAGE_TABLE: how Linux writes an entry that points to a lower table (pmd_populate(), pud_populate() ...). */
export const _PAGE_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;
export const _KERNPG_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;

// ---- RISC-V entry bits (arch/riscv/include/asm/pgtable-bits.h, 6.12), prefixed to keep both in one module ----
export const RISCV_PAGE_PRESENT = 1n << 0n; // V
export const RISCV_PAGE_READ = 1n << 1n; // R
export const RISCV_PAGE_WRITE = 1n << 2n; // W
export const RISCV_PAGE_EXEC = 1n << 3n; // X
export const RISCV_PAGE_USER = 1n << 4n; // U
export const RISCV_PAGE_GLOBAL = 1n << 5n; // G
export const RISCV_PAGE_ACCESSED = 1n << 6n; // A
export const RISCV_PAGE_DIRTY = 1n << 7n; // D
export const RISCV_PAGE_SOFT = 3n << 8n; // RSW
export const RISCV_PAGE_PFN_SHIFT = 10;
export const RISCV_PAGE_MTMASK_SVPBMT = 3n << 61n;
export const RISCV_PAGE_NAPOT = 1n << 63n;
/** _PAGE_LEAF: any of R, W, X makes an entry a leaf. */
export const RISCV_PAGE_LEAF = RISCV_PAGE_READ | RISCV_PAGE_WRITE | RISCV_PAGE_EXEC;
export const RISCV_PAGE_TABLE = RISCV_PAGE_PRESENT;

// Low-word forms for the hot paths (every flag but NX/N/PBMT lives in bits 0..11).
const X_P = 1 << 0;
const X_RW = 1 << 1;
const X_US = 1 << 2;
const X_PWT = 1 << 3;
const X_PCD = 1 << 4;
const X_A = 1 << 5;
const X_D = 1 << 6;
const X_PSE = 1 << 7;
const X_G = 1 << 8;
const X_NX_HI = 0x80000000; // bit 63 in the high word
const X_TABLE = X_P | X_RW | X_US | X_A | X_D;
const R_V = 1 << 0;
const R_R = 1 << 1;
const R_W = 1 << 2;
const R_X = 1 << 3;
const R_U = 1 << 4;
const R_G = 1 << 5;
const R_A = 1 << 6;
const R_D = 1 << 7;
const R_LEAF = R_R | R_W | R_X;

export const SZ_4K = 0x1000;
export const SZ_2M = 0x200000;
export const SZ_1G = 0x40000000;
export type PageSize = typeof SZ_4K | typeof SZ_2M | typeof SZ_1G;

export type LevelName = 'pgd' | 'p4d' | 'pud' | 'pmd' | 'pte';

/** Protection of a leaf, in the terms of mmap()'s PROT_* plus the kernel's extra bits. */
export interface Prot {
  /** Readable (default true). x86 cannot remove read from a present page; RISC-V needs R or X on a leaf. */
  readonly read?: boolean;
  /** Writable; on RISC-V write implies read (W without R is a reserved encoding). */
  readonly write?: boolean;
  /** Executable; without it x86 sets NX. */
  readonly exec?: boolean;
  /** Reachable from user mode (x86 _PAGE_USER, RISC-V U). */
  readonly user?: boolean;
  /** Global: kept in the TLB across address-space switches (kernel mappings). */
  readonly global?: boolean;
  /** Accessed and Dirty preset, as Linux's PAGE_* protections do (x86 ___A, ___D; RISC-V _PAGE_KERNEL). */
  readonly accessed?: boolean;
  readonly dirty?: boolean;
  /** x86 only: write-through / cache-disable (ioremap). */
  readonly pwt?: boolean;
  readonly pcd?: boolean;
}

/** PAGE_KERNEL: RW, NX, global, A and D preset (x86 __PAGE_KERNEL; RISC-V _PAGE_KERNEL). */
export const PAGE_KERNEL: Prot = { write: true, global: true, accessed: true, dirty: true };
export const PAGE_KERNEL_RO: Prot = { global: true, accessed: true };
export const PAGE_KERNEL_EXEC: Prot = { write: true, exec: true, global: true, accessed: true, dirty: true };
export const PAGE_KERNEL_ROX: Prot = { exec: true, global: true, accessed: true };
/** PAGE_SHARED (x86 __PP|__RW|_USR|___A|__NX), PAGE_READONLY, PAGE_READONLY_EXEC for user mappings. */
export const PAGE_SHARED: Prot = { write: true, user: true, accessed: true };
export const PAGE_READONLY: Prot = { user: true, accessed: true };
export const PAGE_READONLY_EXEC: Prot = { user: true, exec: true, accessed: true };

/** Stable codes of the errors map/unmap/protect return (runtime errors are KM4xxx). */
export const PT_ERRORS = {
  misaligned: 'KM4201',
  nonCanonical: 'KM4202',
  wrongHalf: 'KM4203',
  alreadyMapped: 'KM4204',
  noMemory: 'KM4205',
  notMapped: 'KM4206',
  badPfn: 'KM4207',
  badProt: 'KM4208',
  badSize: 'KM4209',
  destroyed: 'KM4210',
} as const;

export interface PtError {
  readonly ok: false;
  readonly code: string;
  readonly message: string;
}
export type MapResult = { readonly ok: true } | PtError;
export type UnmapResult = { readonly ok: true; readonly pfn: number; readonly pageSize: PageSize } | PtError;
export type ProtectResult = { readonly ok: true; readonly pageSize: PageSize } | PtError;

export interface PageTableHost {
  readonly mem: PhysMem;
  /** One frame for a table page, already zeroed; NO_PFN when memory is exhausted. `user` says whose table (counts in PageTables either way). */
  allocTablePage(user: boolean): number;
  freeTablePage(pfn: number): void;
}

export interface WalkLevel {
  readonly level: LevelName;
  readonly index: number;
  /** Physical address of the entry (table page * 4096 + index * 8). */
  readonly entryPhys: number;
  readonly entry: bigint;
  readonly flags: readonly string[];
}

export type WalkOutcome =
  | {
      readonly kind: 'mapped';
      readonly phys: number;
      readonly pfn: number;
      readonly pageSize: PageSize;
      readonly level: LevelName;
    }
  | { readonly kind: 'not-present'; readonly level: LevelName }
  | { readonly kind: 'reserved'; readonly level: LevelName; readonly reason: string }
  | { readonly kind: 'non-canonical' };

export interface WalkResult {
  readonly va: bigint;
  /** Root of the walk: the pgd's pfn (CR3 / satp.PPN). */
  readonly root: number;
  readonly levels: readonly WalkLevel[];
  readonly outcome: WalkOutcome;
}

export type AccessKind = 'read' | 'write' | 'exec';

/** x86 page-fault error code bits (arch/x86/include/asm/trap_pf.h enum x86_pf_error_code). */
export const X86_PF_PROT = 1 << 0;
export const X86_PF_WRITE = 1 << 1;
export const X86_PF_USER = 1 << 2;
export const X86_PF_RSVD = 1 << 3;
export const X86_PF_INSTR = 1 << 4;

/** RISC-V scause exception codes of page faults (privileged spec, table "Supervisor cause register"). */
export const EXC_INST_PAGE_FAULT = 12;
export const EXC_LOAD_PAGE_FAULT = 13;
export const EXC_STORE_PAGE_FAULT = 15;

export interface PageFault {
  readonly kind: 'not-present' | 'protection' | 'reserved' | 'non-canonical';
  /** Level whose entry stopped the walk (undefined for a non-canonical address). */
  readonly level: LevelName | undefined;
  readonly write: boolean;
  readonly user: boolean;
  readonly exec: boolean;
  /** x86: the error code pushed by #PF (0 for a non-canonical address, which raises #GP instead). */
  readonly errorCode: number;
  /** RISC-V: scause (12, 13 or 15); undefined on x86. */
  readonly cause: number | undefined;
  readonly reason: string;
}

export type AccessResult =
  | { readonly ok: true; readonly phys: number; readonly pageSize: PageSize; readonly level: LevelName }
  | { readonly ok: false; readonly fault: PageFault };

export interface AccessOptions {
  /** A uaccess (copy_from_user: x86 stac() lifts SMAP, RISC-V sets sstatus.SUM). */
  readonly uaccess?: boolean;
}

export interface Leaf {
  readonly va: bigint;
  readonly pfn: number;
  readonly pageSize: PageSize;
  readonly level: LevelName;
  readonly entry: bigint;
  readonly prot: Prot;
}

/** The Linux names of the levels that exist in this paging mode, top first. */
export function levelNames(spec: ArchSpec): readonly LevelName[] {
  switch (spec.levels) {
    case 5:
      return ['pgd', 'p4d', 'pud', 'pmd', 'pte'];
    case 4:
      return ['pgd', 'pud', 'pmd', 'pte'];
    default:
      return ['pgd', 'pmd', 'pte'];
  }
}

/** Index shift of each level, top first (pte 12, pmd 21, pud 30, p4d 39, pgd 12 + 9 * (levels - 1)). */
export function levelShifts(spec: ArchSpec): readonly number[] {
  const shifts: number[] = [];
  for (let l = 0; l < spec.levels; l++) shifts.push(12 + 9 * (spec.levels - 1 - l));
  return shifts;
}

/** First top-level index that belongs to the shared kernel half of a user pgd. */
export function kernelPgdBoundary(spec: ArchSpec): number {
  const shift = 12 + 9 * (spec.levels - 1);
  // x86: KERNEL_PGD_BOUNDARY = pgd_index(PAGE_OFFSET); RISC-V: USER_PTRS_PER_PGD = TASK_SIZE / PGDIR_SIZE.
  if (spec.family === 'x86') return Number((spec.pageOffset >> BigInt(shift)) & 511n);
  return 256;
}

/** Names of the flags set in an entry at a level (x86 _PAGE_* suffixes; RISC-V the letters of the spec). */
export function entryFlagNames(spec: ArchSpec, entry: bigint, level: LevelName): string[] {
  const names: string[] = [];
  const bit = (b: number): boolean => ((entry >> BigInt(b)) & 1n) === 1n;
  if (spec.family === 'x86') {
    const huge = (level === 'pmd' || level === 'pud') && bit(_PAGE_BIT_PSE);
    const table: [number, string][] = [
      [_PAGE_BIT_PRESENT, 'PRESENT'],
      [_PAGE_BIT_RW, 'RW'],
      [_PAGE_BIT_USER, 'USER'],
      [_PAGE_BIT_PWT, 'PWT'],
      [_PAGE_BIT_PCD, 'PCD'],
      [_PAGE_BIT_ACCESSED, 'ACCESSED'],
      [_PAGE_BIT_DIRTY, 'DIRTY'],
      [_PAGE_BIT_PSE, level === 'pte' ? 'PAT' : 'PSE'],
      [_PAGE_BIT_GLOBAL, 'GLOBAL'],
      [_PAGE_BIT_SOFTW1, 'SOFTW1'],
      [_PAGE_BIT_SOFTW2, 'SOFTW2'],
      [_PAGE_BIT_SOFTW3, 'SOFTW3'],
    ];
    for (const [b, name] of table) if (bit(b)) names.push(name);
    if (huge && bit(_PAGE_BIT_PAT_LARGE)) names.push('PAT_LARGE');
    if (bit(_PAGE_BIT_NX)) names.push('NX');
  } else {
    const letters = ['V', 'R', 'W', 'X', 'U', 'G', 'A', 'D'];
    letters.forEach((name, b) => {
      if (bit(b)) names.push(name);
    });
    const rsw = Number((entry >> 8n) & 3n);
    if (rsw) names.push(`RSW(${rsw})`);
    const mt = Number((entry >> 61n) & 3n);
    if (mt) names.push(mt === 1 ? 'MT(NC)' : mt === 2 ? 'MT(IO)' : 'MT(??)');
    if (bit(63)) names.push('N');
  }
  return names;
}

/** The protection a leaf entry grants, back in Prot terms. */
export function decodeProt(spec: ArchSpec, entry: bigint): Prot {
  const lo = Number(entry & 0xffffffffn);
  if (spec.family === 'x86') {
    return {
      read: true,
      write: (lo & X_RW) !== 0,
      exec: (entry & _PAGE_NX) === 0n,
      user: (lo & X_US) !== 0,
      global: (lo & X_G) !== 0,
      accessed: (lo & X_A) !== 0,
      dirty: (lo & X_D) !== 0,
      pwt: (lo & X_PWT) !== 0,
      pcd: (lo & X_PCD) !== 0,
    };
  }
  return {
    read: (lo & R_R) !== 0,
    write: (lo & R_W) !== 0,
    exec: (lo & R_X) !== 0,
    user: (lo & R_U) !== 0,
    global: (lo & R_G) !== 0,
    accessed: (lo & R_A) !== 0,
    dirty: (lo & R_D) !== 0,
  };
}

/** arch/x86/mm/fault.c show_fault_oops(): "#PF: error_code(0x%04lx) - %s". */
export function formatX86ErrorCode(errorCode: number): string {
  const what = !(errorCode & X86_PF_PROT)
    ? 'not-present page'
    : errorCode & X86_PF_RSVD
      ? 'reserved bit violation'
      : 'permissions violation';
  return `error_code(0x${errorCode.toString(16).padStart(4, '0')}) - ${what}`;
}

function err(code: string, message: string): PtError {
  return { ok: false, code, message };
}

function hex(v: bigint | number): string {
  return `0x${v.toString(16).padStart(16, '0')}`;
}

export class PageTable {
  readonly spec: ArchSpec;
  /** pfn of the pgd: what CR3 holds on x86, satp.PPN on RISC-V. */
  readonly root: number;
  /** A process's table (its kernel half is the kernel's), or the kernel's own (init_mm). */
  readonly isUser: boolean;
  /** The kernel table whose top-level kernel entries a user table copied. */
  readonly kernel: PageTable | undefined;

  private readonly host: PageTableHost;
  private readonly mem: PhysMem;
  private readonly x86: boolean;
  private readonly nlevels: number;
  private readonly shifts: Int32Array;
  private readonly names: readonly LevelName[];
  /** Top-level indices [userEnd, 512) are the kernel half. */
  private readonly boundary: number;
  private destroyed = false;
  // Scratch state of the hot paths (no allocation per call).
  private vaLo = 0;
  private vaHi = 0;
  private eLo = 0;
  private eHi = 0;
  private readonly pathTable: Float64Array;
  private readonly pathIndex: Int32Array;
  private readonly newTables: Float64Array;

  private constructor(spec: ArchSpec, host: PageTableHost, root: number, kernel: PageTable | undefined) {
    this.spec = spec;
    this.host = host;
    this.mem = host.mem;
    this.root = root;
    this.kernel = kernel;
    this.isUser = kernel !== undefined;
    this.x86 = spec.family === 'x86';
    this.nlevels = spec.levels;
    this.shifts = Int32Array.from(levelShifts(spec));
    this.names = levelNames(spec);
    this.boundary = kernelPgdBoundary(spec);
    this.pathTable = new Float64Array(spec.levels);
    this.pathIndex = new Int32Array(spec.levels);
    this.newTables = new Float64Array(spec.levels);
  }

  /** The kernel's page table (init_mm.pgd, swapper_pg_dir); undefined when no frame is left for the pgd. */
  static createKernel(spec: ArchSpec, host: PageTableHost): PageTable | undefined {
    const root = host.allocTablePage(false);
    return root === NO_PFN ? undefined : new PageTable(spec, host, root, undefined);
  }

  /** A process's page table (pgd_alloc): empty user half, kernel half copied from `kernel`. */
  static createUser(kernel: PageTable, host: PageTableHost = kernel.host): PageTable | undefined {
    if (kernel.isUser) throw new Error('createUser needs the kernel page table');
    const root = host.allocTablePage(true);
    if (root === NO_PFN) return undefined;
    const pt = new PageTable(kernel.spec, host, root, kernel);
    pt.copyKernelHalf();
    return pt;
  }

  /** Copies the kernel's top-level kernel-half entries into this user pgd (clone_pgd_range()). */
  copyKernelHalf(): void {
    const kernel = this.kernel;
    if (kernel === undefined) return;
    for (let i = this.boundary; i < 512; i++) {
      this.readEntry(kernel.root, i);
      this.writeEntry(this.root, i, this.eLo, this.eHi);
    }
  }

  /** Level names top first (see the table at the top of this file). */
  get levelNames(): readonly LevelName[] {
    return this.names;
  }

  /** First top-level index of the kernel half (KERNEL_PGD_BOUNDARY / USER_PTRS_PER_PGD). */
  get kernelBoundary(): number {
    return this.boundary;
  }

  // ---- entries in physical memory ----

  /** Reads entry `index` of table page `pfn` into eLo/eHi. */
  private readEntry(pfn: number, index: number): void {
    const b = this.mem.page(pfn);
    if (b === undefined) {
      this.eLo = 0;
      this.eHi = 0;
      return;
    }
    const o = index << 3;
    this.eLo = (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
    this.eHi = (b[o + 4]! | (b[o + 5]! << 8) | (b[o + 6]! << 16) | (b[o + 7]! << 24)) >>> 0;
  }

  private writeEntry(pfn: number, index: number, lo: number, hi: number): void {
    if (lo === 0 && hi === 0 && this.mem.page(pfn) === undefined) return; // already reads as zero
    const b = this.mem.page(pfn, true);
    const o = index << 3;
    b[o] = lo & 0xff;
    b[o + 1] = (lo >>> 8) & 0xff;
    b[o + 2] = (lo >>> 16) & 0xff;
    b[o + 3] = lo >>> 24;
    b[o + 4] = hi & 0xff;
    b[o + 5] = (hi >>> 8) & 0xff;
    b[o + 6] = (hi >>> 16) & 0xff;
    b[o + 7] = hi >>> 24;
  }

  /** The raw entry `index` of table page `pfn` (for dumps and tests). */
  entryAt(pfn: number, index: number): bigint {
    this.readEntry(pfn, index);
    return (BigInt(this.eHi) << 32n) | BigInt(this.eLo);
  }

  /** True when every entry of table page pfn is zero; starts at byte `from` (the entry just cleared). */
  private isEmptyTable(pfn: number, from: number): boolean {
    const b = this.mem.page(pfn);
    if (b === undefined) return true;
    for (let i = from; i < PAGE_SIZE; i++) if (b[i] !== 0) return false;
    for (let i = 0; i < from; i++) if (b[i] !== 0) return false;
    return true;
  }

  // ---- decoding of the entry in eLo/eHi ----

  private present(): boolean {
    return (this.eLo & 1) !== 0; // x86 P and RISC-V V are both bit 0
  }

  /** A leaf at level l (x86: PSE on pud/pmd, any present pte; RISC-V: R, W or X). */
  private leaf(l: number): boolean {
    if (this.x86) return l === this.nlevels - 1 || (this.eLo & X_PSE) !== 0;
    return (this.eLo & R_LEAF) !== 0;
  }

  private entryPfn(): number {
    if (this.x86) return (this.eLo >>> 12) + (this.eHi & 0xfffff) * 0x100000;
    return (this.eLo >>> 10) + (this.eHi & 0x3fffff) * 0x400000;
  }

  /**
   * The low word of an entry pointing at table pfn. x86: pgd/p4d/pud_populate() and pmd_populate_kernel()
   * all write _PAGE_TABLE (with USER; the leaf decides), as oops dumps show: "PGD 1b000067 P4D 1b000067
   * PUD 1c281067 PMD 2508d067 PTE 0" for a vmalloc address on 6.12 (arch/x86/include/asm/pgalloc.h).
   */
  private tableLo(pfn: number): number {
    return this.x86 ? ((pfn & 0xfffff) * 0x1000 + X_TABLE) >>> 0 : ((pfn & 0x3fffff) * 0x400 + R_V) >>> 0;
  }

  private tableHi(pfn: number): number {
    return this.x86 ? Math.floor(pfn / 0x100000) : Math.floor(pfn / 0x400000);
  }

  private index(l: number): number {
    const s = this.shifts[l]!;
    if (s >= 32) return (this.vaHi >>> (s - 32)) & 511;
    if (s + 9 <= 32) return (this.vaLo >>> s) & 511;
    return ((this.vaLo >>> s) | (this.vaHi << (32 - s))) & 511;
  }

  /** Splits va into vaLo/vaHi; false when it is not a canonical 64-bit address. */
  private split(va: bigint): boolean {
    if (va < 0n || va >= 1n << 64n) return false;
    this.vaLo = Number(va & 0xffffffffn);
    this.vaHi = Number(va >> 32n);
    const top = (this.vaHi | 0) >> (this.spec.vaBits - 33);
    return top === 0 || top === -1;
  }

  private kernelHalf(): boolean {
    return this.vaHi >= 0x80000000;
  }

  /** Byte offset of the current va within a page of `size` bytes. */
  private offsetIn(size: number): number {
    return size === SZ_1G ? this.vaLo & (SZ_1G - 1) : this.vaLo & (size - 1);
  }

  private levelOfSize(size: number): number {
    if (size === SZ_4K) return this.nlevels - 1;
    if (size === SZ_2M) return this.nlevels - 2;
    return this.nlevels - 3;
  }

  private sizeOfLevel(l: number): PageSize {
    const d = this.nlevels - 1 - l;
    return d === 0 ? SZ_4K : d === 1 ? SZ_2M : SZ_1G;
  }

  /** Leaf entry bits for a mapping; undefined when RISC-V would get no R, W or X. */
  private leafBits(pfn: number, l: number, prot: Prot): boolean {
    const huge = l !== this.nlevels - 1;
    if (this.x86) {
      let lo = X_P;
      if (prot.write) lo |= X_RW;
      if (prot.user) lo |= X_US;
      if (prot.pwt) lo |= X_PWT;
      if (prot.pcd) lo |= X_PCD;
      if (prot.accessed) lo |= X_A;
      if (prot.dirty) lo |= X_D;
      if (huge) lo |= X_PSE;
      if (prot.global) lo |= X_G;
      this.eLo = ((pfn & 0xfffff) * 0x1000 + lo) >>> 0;
      this.eHi = (Math.floor(pfn / 0x100000) + (prot.exec ? 0 : X_NX_HI)) >>> 0;
      return true;
    }
    let lo = R_V;
    if (prot.read !== false || prot.write) lo |= R_R;
    if (prot.write) lo |= R_W;
    if (prot.exec) lo |= R_X;
    if ((lo & R_LEAF) === 0) return false;
    if (prot.user) lo |= R_U;
    if (prot.global) lo |= R_G;
    if (prot.accessed) lo |= R_A;
    if (prot.dirty) lo |= R_D;
    this.eLo = ((pfn & 0x3fffff) * 0x400 + lo) >>> 0;
    this.eHi = Math.floor(pfn / 0x400000);
    return true;
  }

  private checkVa(va: bigint, what: string): PtError | undefined {
    if (this.destroyed) return err(PT_ERRORS.destroyed, `${what} on a destroyed page table`);
    if (!this.split(va)) {
      return err(
        PT_ERRORS.nonCanonical,
        `${hex(BigInt.asUintN(64, va))} is not a canonical ${this.spec.vaBits}-bit address`,
      );
    }
    if (this.isUser && this.kernelHalf()) {
      return err(PT_ERRORS.wrongHalf, `${hex(va)} is in the kernel half, shared with the kernel's page table`);
    }
    if (!this.isUser && !this.kernelHalf()) {
      return err(PT_ERRORS.wrongHalf, `${hex(va)} is a user address; the kernel page table maps only the kernel half`);
    }
    return undefined;
  }

  // ---- map / unmap / protect ----

  /**
   * Maps one page of `pageSize` at va to frame pfn, allocating missing tables through the host. On failure
   * nothing changes: tables allocated by this call are freed again and the entry that linked them cleared.
   */
  map(va: bigint, pfn: number, pageSize: PageSize, prot: Prot): MapResult {
    const bad = this.checkVa(va, 'map');
    if (bad) return bad;
    if (pageSize !== SZ_4K && pageSize !== SZ_2M && pageSize !== SZ_1G) {
      return err(PT_ERRORS.badSize, `page size must be 4K, 2M or 1G, not ${pageSize}`);
    }
    if (this.offsetIn(pageSize) !== 0) {
      return err(PT_ERRORS.misaligned, `${hex(va)} is not aligned to the ${sizeName(pageSize)} page size`);
    }
    const pages = pageSize / SZ_4K;
    const maxPfn = this.x86 ? 2 ** 40 : 2 ** 44;
    if (!Number.isSafeInteger(pfn) || pfn < 0 || pfn >= maxPfn) {
      return err(PT_ERRORS.badPfn, `pfn ${pfn} does not fit a page-table entry`);
    }
    if (pfn % pages !== 0) {
      return err(
        PT_ERRORS.misaligned,
        `pfn 0x${pfn.toString(16)} is not aligned to the ${sizeName(pageSize)} page size`,
      );
    }
    if (this.isUser && va + BigInt(pageSize) > this.spec.userTop) {
      return err(
        PT_ERRORS.wrongHalf,
        `${hex(va)} + ${sizeName(pageSize)} goes past TASK_SIZE_MAX ${hex(this.spec.userTop)}`,
      );
    }
    if (!this.leafBits(pfn, 0, prot)) {
      return err(PT_ERRORS.badProt, 'a RISC-V leaf needs read, write or exec permission');
    }
    const target = this.levelOfSize(pageSize);
    let table = this.root;
    let fresh = 0;
    let hookTable = 0;
    let hookIndex = 0;
    for (let l = 0; l < target; l++) {
      const i = this.index(l);
      this.readEntry(table, i);
      if (this.eLo === 0 && this.eHi === 0) {
        const next = this.host.allocTablePage(this.isUser);
        if (next === NO_PFN) {
          this.rollback(fresh, hookTable, hookIndex);
          return err(PT_ERRORS.noMemory, `out of memory for a ${this.names[l + 1]} table page`);
        }
        if (fresh === 0) {
          hookTable = table;
          hookIndex = i;
        }
        this.newTables[fresh++] = next;
        this.writeEntry(table, i, this.tableLo(next), this.tableHi(next));
        table = next;
        continue;
      }
      if (!this.present()) {
        this.rollback(fresh, hookTable, hookIndex);
        return err(
          PT_ERRORS.alreadyMapped,
          `${hex(va)}: the ${this.names[l]} entry is not empty (a non-present value)`,
        );
      }
      if (this.leaf(l)) {
        this.rollback(fresh, hookTable, hookIndex);
        return err(
          PT_ERRORS.alreadyMapped,
          `${hex(va)} is inside a ${sizeName(this.sizeOfLevel(l))} page mapped at the ${this.names[l]}`,
        );
      }
      table = this.entryPfn();
    }
    const i = this.index(target);
    this.readEntry(table, i);
    if (this.eLo !== 0 || this.eHi !== 0) {
      this.rollback(fresh, hookTable, hookIndex);
      const why =
        this.present() && !this.leaf(target) ? 'a page table is there (smaller pages inside)' : 'already mapped';
      return err(PT_ERRORS.alreadyMapped, `${hex(va)}: ${why}`);
    }
    this.leafBits(pfn, target, prot);
    this.writeEntry(table, i, this.eLo, this.eHi);
    return { ok: true };
  }

  private rollback(fresh: number, hookTable: number, hookIndex: number): void {
    if (fresh === 0) return;
    this.writeEntry(hookTable, hookIndex, 0, 0);
    for (let k = 0; k < fresh; k++) this.host.freeTablePage(this.newTables[k]!);
  }

  /**
   * Walks to the leaf holding va, recording each table and index in pathTable/pathIndex; returns its level,
   * or -1 (with the level that was not present in `missLevel`).
   */
  private findLeaf(): number {
    let table = this.root;
    for (let l = 0; l < this.nlevels; l++) {
      const i = this.index(l);
      this.pathTable[l] = table;
      this.pathIndex[l] = i;
      this.readEntry(table, i);
      if (!this.present()) {
        this.missLevel = l;
        return -1;
      }
      if (this.leaf(l)) return l;
      table = this.entryPfn();
    }
    this.missLevel = this.nlevels - 1;
    return -1;
  }
  private missLevel = 0;

  /** Clears the leaf mapping va (a 4K page, or a huge page at its base); returns what it mapped. */
  unmap(va: bigint): UnmapResult {
    const bad = this.checkVa(va, 'unmap');
    if (bad) return bad;
    const l = this.findLeaf();
    if (l < 0) return err(PT_ERRORS.notMapped, `${hex(va)} is not mapped (no ${this.names[this.missLevel]} entry)`);
    const size = this.sizeOfLevel(l);
    if (this.offsetIn(size) !== 0) {
      return err(PT_ERRORS.misaligned, `${hex(va)} is inside a ${sizeName(size)} page; unmap it at its base`);
    }
    const pfn = this.entryPfn() - (this.entryPfn() % (size / SZ_4K));
    this.writeEntry(this.pathTable[l]!, this.pathIndex[l]!, 0, 0);
    if (this.isUser) this.freeEmptyAbove(l);
    return { ok: true, pfn, pageSize: size };
  }

  /** Frees the tables on the path to level l that are now empty, bottom up (never the root). */
  private freeEmptyAbove(l: number): void {
    for (let k = l; k > 0; k--) {
      const table = this.pathTable[k]!;
      if (!this.isEmptyTable(table, this.pathIndex[k]! << 3)) return;
      this.writeEntry(this.pathTable[k - 1]!, this.pathIndex[k - 1]!, 0, 0);
      this.host.freeTablePage(table);
    }
  }

  /** Changes the permissions of the leaf at va (its base): keeps the pfn, Accessed, Dirty, and other bits. */
  protect(va: bigint, prot: Prot): ProtectResult {
    const bad = this.checkVa(va, 'protect');
    if (bad) return bad;
    const l = this.findLeaf();
    if (l < 0) return err(PT_ERRORS.notMapped, `${hex(va)} is not mapped (no ${this.names[this.missLevel]} entry)`);
    const size = this.sizeOfLevel(l);
    if (this.offsetIn(size) !== 0) {
      return err(PT_ERRORS.misaligned, `${hex(va)} is inside a ${sizeName(size)} page; change it at its base`);
    }
    let lo = this.eLo;
    let hi = this.eHi;
    if (this.x86) {
      // pte_modify(): keeps _PAGE_CHG_MASK (pfn, PCD/PWT, A, D, software bits, PSE/PAT on huge pages).
      lo = (lo & ~(X_RW | X_US | X_G)) >>> 0;
      if (prot.write) lo |= X_RW;
      if (prot.user) lo |= X_US;
      if (prot.global) lo |= X_G;
      hi = prot.exec ? (hi & ~X_NX_HI) >>> 0 : (hi | X_NX_HI) >>> 0;
    } else {
      let bits = 0;
      if (prot.read !== false || prot.write) bits |= R_R;
      if (prot.write) bits |= R_W;
      if (prot.exec) bits |= R_X;
      if ((bits & R_LEAF) === 0) return err(PT_ERRORS.badProt, 'a RISC-V leaf needs read, write or exec permission');
      if (prot.user) bits |= R_U;
      if (prot.global) bits |= R_G;
      lo = ((lo & ~(R_R | R_W | R_X | R_U | R_G)) | bits) >>> 0;
    }
    this.writeEntry(this.pathTable[l]!, this.pathIndex[l]!, lo, hi);
    return { ok: true, pageSize: size };
  }

  // ---- translation ----

  /** The physical address va translates to, or -1 (no permission checks, no A/D updates). */
  translate(va: bigint): number {
    if (!this.split(va)) return -1;
    const l = this.findLeaf();
    if (l < 0) return -1;
    if (!this.x86 && this.riscvBadLeaf(l)) return -1;
    return this.physOf(l);
  }

  /** Physical address of the current va through the leaf in eLo/eHi at level l. */
  private physOf(l: number): number {
    const size = this.sizeOfLevel(l);
    const pages = size / SZ_4K;
    const pfn = this.entryPfn();
    return (pfn - (pfn % pages)) * SZ_4K + this.offsetIn(size);
  }

  /** RISC-V: a leaf that must fault (W without R, or a misaligned superpage). */
  private riscvBadLeaf(l: number): boolean {
    if ((this.eLo & (R_R | R_W)) === R_W) return true;
    const pages = this.sizeOfLevel(l) / SZ_4K;
    return this.entryPfn() % pages !== 0;
  }

  /** Every level the MMU visits for va, with the entries read, and where the walk ended. */
  walk(va: bigint): WalkResult {
    const levels: WalkLevel[] = [];
    if (!this.split(va)) return { va, root: this.root, levels, outcome: { kind: 'non-canonical' } };
    let table = this.root;
    for (let l = 0; l < this.nlevels; l++) {
      const i = this.index(l);
      this.readEntry(table, i);
      const entry = (BigInt(this.eHi) << 32n) | BigInt(this.eLo);
      const level = this.names[l]!;
      levels.push({
        level,
        index: i,
        entryPhys: table * PAGE_SIZE + i * 8,
        entry,
        flags: entryFlagNames(this.spec, entry, level),
      });
      if (!this.present()) return { va, root: this.root, levels, outcome: { kind: 'not-present', level } };
      const reserved = this.reservedReason(l);
      if (reserved) return { va, root: this.root, levels, outcome: { kind: 'reserved', level, reason: reserved } };
      if (this.leaf(l)) {
        const pageSize = this.sizeOfLevel(l);
        const phys = this.physOf(l);
        return {
          va,
          root: this.root,
          levels,
          outcome: { kind: 'mapped', phys, pfn: Math.floor(phys / SZ_4K), pageSize, level },
        };
      }
      table = this.entryPfn();
    }
    /* c8 ignore next */
    return { va, root: this.root, levels, outcome: { kind: 'not-present', level: this.names[this.nlevels - 1]! } };
  }

  /** Why the present entry in eLo/eHi at level l makes the hardware fault regardless of permissions. */
  private reservedReason(l: number): string | undefined {
    if (this.x86) {
      // PS is reserved in PML4/PML5 entries (no 512G pages); a 1G page needs PDPE1GB, assumed present.
      if ((this.eLo & X_PSE) !== 0 && this.nlevels - 1 - l > 2) return 'PSE set above the pud level';
      return undefined;
    }
    if ((this.eLo & (R_R | R_W)) === R_W) return 'W without R (reserved encoding)';
    if ((this.eLo & R_LEAF) === 0 && l === this.nlevels - 1) return 'a pointer entry at the last level';
    if ((this.eLo & R_LEAF) !== 0 && this.riscvBadLeaf(l)) return 'misaligned superpage';
    return undefined;
  }

  /**
   * One access as the MMU performs it: checks every level, sets Accessed/Dirty on success (see the top of
   * this file), and returns the physical address or the page fault the CPU would raise.
   */
  access(va: bigint, kind: AccessKind, user: boolean, options?: AccessOptions): AccessResult {
    const write = kind === 'write';
    const exec = kind === 'exec';
    const uaccess = options?.uaccess === true;
    if (!this.split(va)) return this.fault(write, exec, user, 'non-canonical', -1, 'non-canonical address');
    let table = this.root;
    let rw = true;
    let us = true;
    let nx = false;
    for (let l = 0; l < this.nlevels; l++) {
      const i = this.index(l);
      this.pathTable[l] = table;
      this.pathIndex[l] = i;
      this.readEntry(table, i);
      if (!this.present()) return this.fault(write, exec, user, 'not-present', l, `${this.names[l]} entry not present`);
      const reserved = this.reservedReason(l);
      if (reserved) return this.fault(write, exec, user, 'reserved', l, reserved);
      if (this.x86) {
        rw = rw && (this.eLo & X_RW) !== 0;
        us = us && (this.eLo & X_US) !== 0;
        nx = nx || (this.eHi & X_NX_HI) !== 0;
      }
      if (!this.leaf(l)) {
        table = this.entryPfn();
        continue;
      }
      const why = this.x86
        ? x86Denied(rw, us, nx, write, exec, user, uaccess)
        : riscvDenied(this.eLo, write, exec, user, uaccess);
      if (why) return this.fault(write, exec, user, 'protection', l, why);
      const phys = this.physOf(l);
      // Success: A (and D for a write) as the hardware sets them.
      if (this.x86) {
        for (let k = 0; k < l; k++) {
          this.readEntry(this.pathTable[k]!, this.pathIndex[k]!);
          if ((this.eLo & X_A) === 0) {
            this.writeEntry(this.pathTable[k]!, this.pathIndex[k]!, (this.eLo | X_A) >>> 0, this.eHi);
          }
        }
        this.readEntry(this.pathTable[l]!, this.pathIndex[l]!);
      }
      const want = (this.x86 ? X_A : R_A) | (write ? (this.x86 ? X_D : R_D) : 0);
      if ((this.eLo & want) !== want) {
        this.writeEntry(this.pathTable[l]!, this.pathIndex[l]!, (this.eLo | want) >>> 0, this.eHi);
      }
      return { ok: true, phys, pageSize: this.sizeOfLevel(l), level: this.names[l]! };
    }
    /* c8 ignore next */
    return this.fault(write, exec, user, 'reserved', this.nlevels - 1, 'walk ran past the last level');
  }

  private fault(
    write: boolean,
    exec: boolean,
    user: boolean,
    kind: PageFault['kind'],
    l: number,
    reason: string,
  ): AccessResult {
    let errorCode = 0;
    if (this.x86 && kind !== 'non-canonical') {
      if (kind !== 'not-present') errorCode |= X86_PF_PROT;
      if (kind === 'reserved') errorCode |= X86_PF_RSVD;
      if (write) errorCode |= X86_PF_WRITE;
      if (user) errorCode |= X86_PF_USER;
      if (exec) errorCode |= X86_PF_INSTR;
    }
    const cause = this.x86
      ? undefined
      : exec
        ? EXC_INST_PAGE_FAULT
        : write
          ? EXC_STORE_PAGE_FAULT
          : EXC_LOAD_PAGE_FAULT;
    const level = l < 0 ? undefined : this.names[l];
    return { ok: false, fault: { kind, level, write, user, exec, errorCode, cause, reason } };
  }

  // ---- whole-table operations ----

  /**
   * Calls visit for every leaf in address order. A user table visits only its own half unless
   * includeShared; the kernel table visits everything.
   */
  forEachLeaf(visit: (leaf: Leaf) => void, options?: { includeShared?: boolean }): void {
    const top = this.isUser && options?.includeShared !== true ? this.boundary : 512;
    this.visitTable(this.root, 0, 0n, top, visit);
  }

  private visitTable(pfn: number, l: number, base: bigint, count: number, visit: (leaf: Leaf) => void): void {
    const shift = BigInt(this.shifts[l]!);
    for (let i = 0; i < count; i++) {
      this.readEntry(pfn, i);
      if (!this.present()) continue;
      let va = base | (BigInt(i) << shift);
      if (l === 0) va = signExtend(va, this.spec.vaBits);
      if (this.leaf(l)) {
        const entry = (BigInt(this.eHi) << 32n) | BigInt(this.eLo);
        const pageSize = this.sizeOfLevel(l);
        const raw = this.entryPfn();
        const pfnOut = raw - (raw % (pageSize / SZ_4K));
        visit({ va, pfn: pfnOut, pageSize, level: this.names[l]!, entry, prot: decodeProt(this.spec, entry) });
      } else if (l < this.nlevels - 1) {
        this.visitTable(this.entryPfn(), l + 1, va, 512, visit);
      }
    }
  }

  /** Table pages this address space owns: the root and every table below its own half. */
  countTablePages(): number {
    if (this.destroyed) return 0;
    let n = 1;
    const top = this.isUser ? this.boundary : 512;
    this.forEachTable(this.root, 0, top, () => n++);
    return n;
  }

  /** Calls fn for every table page below `pfn` (children first), over its first `count` entries. */
  /** Every table page this table owns, root included (the kernel half of a user table is the kernel's). */
  forEachTablePage(fn: (pfn: number) => void): void {
    if (this.destroyed) return;
    fn(this.root);
    this.forEachTable(this.root, 0, this.isUser ? this.boundary : 512, fn);
  }

  private forEachTable(pfn: number, l: number, count: number, fn: (pfn: number) => void): void {
    if (l >= this.nlevels - 1) return;
    for (let i = 0; i < count; i++) {
      this.readEntry(pfn, i);
      if (!this.present() || this.leaf(l)) continue;
      const child = this.entryPfn();
      this.forEachTable(child, l + 1, 512, fn);
      fn(child);
    }
  }

  /**
   * Frees every table page this address space owns, root included, through the host (free_pgtables() then
   * pgd_free()). The frames the leaves mapped are the caller's to release (walk forEachLeaf first).
   */
  destroy(): void {
    if (this.destroyed) return;
    const top = this.isUser ? this.boundary : 512;
    const pages: number[] = [];
    this.forEachTable(this.root, 0, top, (pfn) => pages.push(pfn));
    for (const pfn of pages) this.host.freeTablePage(pfn);
    this.host.freeTablePage(this.root);
    this.destroyed = true;
  }

  get isDestroyed(): boolean {
    return this.destroyed;
  }
}

function x86Denied(
  rw: boolean,
  us: boolean,
  nx: boolean,
  write: boolean,
  exec: boolean,
  user: boolean,
  uaccess: boolean,
): string | undefined {
  if (user && !us) return 'supervisor page (U/S clear at some level)';
  if (!user && us && exec) return 'SMEP: supervisor fetch from a user page';
  if (!user && us && !exec && !uaccess) return 'SMAP: supervisor access to a user page outside uaccess';
  if (write && !rw) return 'read-only (R/W clear at some level)';
  if (exec && nx) return 'NX set at some level';
  return undefined;
}

function riscvDenied(lo: number, write: boolean, exec: boolean, user: boolean, uaccess: boolean): string | undefined {
  const u = (lo & R_U) !== 0;
  if (user && !u) return 'supervisor page (U clear)';
  if (!user && u && exec) return 'supervisor fetch from a U page';
  if (!user && u && !uaccess) return 'supervisor access to a U page without sstatus.SUM';
  if (write && (lo & R_W) === 0) return 'W clear';
  if (exec && (lo & R_X) === 0) return 'X clear';
  if (!write && !exec && (lo & R_R) === 0) return 'R clear';
  return undefined;
}

function signExtend(va: bigint, vaBits: number): bigint {
  return (va >> BigInt(vaBits - 1)) & 1n ? va | (((1n << 64n) - 1n) ^ ((1n << BigInt(vaBits)) - 1n)) : va;
}

export function sizeName(size: number): string {
  return size >= SZ_1G ? `${size / SZ_1G}G` : size >= 0x100000 ? `${size / 0x100000}M` : `${size / 1024}K`;
}
