/*
 * Page-table dumps as the kernel prints them, and a one-address page walk for the debugger console.
 *
 * ptdump() reproduces /sys/kernel/debug/page_tables/kernel on x86 (arch/x86/mm/dump_pagetables.c) and
 * /sys/kernel/debug/kernel_page_tables on RISC-V (arch/riscv/mm/ptdump.c), both driven by the generic walker
 * of mm/ptdump.c over mm/pagewalk.c. What that walker does, and so what this one does:
 *
 *   - it walks the ranges the architecture gives: x86 [0, half of the address space) and
 *     [GUARD_HOLE_END_ADDR, ~0UL), skipping the hypervisor guard hole; RISC-V [KERN_VIRT_START, ~0UL);
 *   - an empty entry above the pte level is a hole, noted once at that level (pte_hole with its depth);
 *     every pte of a pte table is noted, empty or not; a leaf (huge page) is noted at its level;
 *   - levels are numbered as in a 5-level kernel, 0 pgd .. 4 pte. Folded levels are runtime-folded: with
 *     4-level x86 (CONFIG_X86_5LEVEL kernel, no LA57) pgd_none() is always false, so the top level shows up
 *     as "p4d"; RISC-V Sv39 reports its top level as "PUD" and Sv48 as "P4D" for the same reason
 *     (pgtable_l4_enabled/pgtable_l5_enabled folding in arch/riscv/include/asm/pgtable-64.h);
 *   - note_page() merges consecutive entries while the protection, the level and the address marker stay
 *     the same, and prints a range when one changes. The marker header is printed after the first range
 *     that reaches the marker, so headers lag as they do in real dumps. A final note_page(0, -1, 0) flushes
 *     the last range, which therefore ends at 0x0000000000000000.
 *
 * x86 prints every range, present or not, with the columns USR RW/ro PWT PCD PSE PAT GLB NX/x and the level;
 * RISC-V prints only present ranges, with the physical start and the N MT RSW D A G U X W R V columns.
 *
 * The modelled x86 configuration has CONFIG_MODIFY_LDT_SYSCALL, CONFIG_X86_ESPFIX64 and CONFIG_EFI (so the
 * LDT remap, ESPfix and EFI markers exist) and no KASAN; RISC-V has CONFIG_SPARSEMEM_VMEMMAP and no KASAN.
 */

import { ArchSpec } from '../mm/arch';
import { PageTable, WalkResult, levelShifts, sizeName } from '../mm/pgtable';

export interface PtdumpRange {
  /** Range as printed: start and end (exclusive) as 0x%016lx. */
  readonly start: string;
  readonly end: string;
  /** Size as the kernel prints it ("2M", "512G", "16777096T"). */
  readonly size: string;
  /** Level name as printed (x86 "pte"; RISC-V "PTE"). */
  readonly level: string;
  readonly present: boolean;
  /** The flag columns that are set (x86 USR, RW or ro, PWT, PCD, PSE, PAT, GLB, NX or x; RISC-V letters). */
  readonly flags: readonly string[];
  /** The address marker the range was printed under. */
  readonly marker: string;
  /** RISC-V: physical address of the first page. */
  readonly phys?: string;
}

export interface Ptdump {
  readonly text: string;
  readonly ranges: readonly PtdumpRange[];
}

interface Marker {
  readonly start: bigint;
  readonly name: string;
  readonly maxLines: number;
}

const MAX = (1n << 64n) - 1n;
const END_MARKER: Marker = { start: MAX, name: '', maxLines: 0 };

function hex16(v: bigint): string {
  return `0x${v.toString(16).padStart(16, '0')}`;
}

/** dump_pagetables.c address_markers[] for CONFIG_X86_64 (values from pgtable_64_types.h and arch.ts). */
export function x86Markers(spec: ArchSpec): Marker[] {
  const pgdirShift = BigInt(12 + 9 * (spec.levels - 1));
  const neg = (n: bigint, shift: bigint): bigint => BigInt.asUintN(64, -(n << shift));
  const m = (start: bigint, name: string, maxLines = 0): Marker => ({ start, name, maxLines });
  return [
    m(0n, 'User Space'),
    m(1n << 63n, 'Kernel Space'),
    m(neg(240n, pgdirShift), 'LDT remap'), // LDT_BASE_ADDR = LDT_PGD_ENTRY (-240) << PGDIR_SHIFT
    m(spec.pageOffset, 'Low Kernel Mapping'),
    m(spec.vmallocStart, 'vmalloc() Area'),
    m(spec.vmemmapStart, 'Vmemmap'),
    m(neg(4n, 39n), 'CPU entry Area'), // CPU_ENTRY_AREA_BASE = -4 << P4D_SHIFT
    m(neg(2n, 39n), 'ESPfix Area', 16), // ESPFIX_BASE_ADDR = -2 << P4D_SHIFT
    m(neg(68n, 30n), 'EFI Runtime Services'), // EFI_VA_END = -68 GB
    m(spec.kernelTextStart, 'High Kernel Mapping'), // __START_KERNEL_map
    m(spec.modulesStart, 'Modules'),
    m(spec.modulesEnd, 'End Modules'),
    m(spec.fixmapStart, 'Fixmap Area'),
    END_MARKER,
  ];
}

/** arch/riscv/mm/ptdump.c address_markers[] (64-bit, SPARSEMEM_VMEMMAP, no KASAN). */
export function riscvMarkers(spec: ArchSpec): Marker[] {
  const m = (start: bigint, name: string): Marker => ({ start, name, maxLines: 0 });
  return [
    m(spec.fixmapStart, 'Fixmap start'),
    m(spec.fixmapEnd, 'Fixmap end'),
    m(spec.pciIoStart!, 'PCI I/O start'),
    m(spec.pciIoEnd!, 'PCI I/O end'),
    m(spec.vmemmapStart, 'vmemmap start'),
    m(spec.vmemmapEnd, 'vmemmap end'),
    m(spec.vmallocStart, 'vmalloc() area'),
    m(spec.vmallocEnd, 'vmalloc() end'),
    m(spec.pageOffset, 'Linear mapping'),
    m(spec.modulesStart, 'Modules/BPF mapping'),
    m(spec.kernelTextStart, 'Kernel mapping'),
    END_MARKER,
  ];
}

/** The ranges the generic walker is given (ptdump_walk_pgd_level_core / ptdump_walk). */
function walkRanges(spec: ArchSpec): [bigint, bigint][] {
  if (spec.family === 'x86') {
    const pgdirShift = BigInt(12 + 9 * (spec.levels - 1));
    // GUARD_HOLE_END_ADDR = (-256 << PGDIR_SHIFT) + (16 << PGDIR_SHIFT)
    const guardHoleEnd = BigInt.asUintN(64, -(256n << pgdirShift) + (16n << pgdirShift));
    return [
      [0n, 1n << BigInt(spec.vaBits - 1)],
      [guardHoleEnd, MAX],
    ];
  }
  return [[spec.kernelHalfStart, MAX]]; // KERN_VIRT_START
}

const X86_FLAGS_MASK = MAX ^ (((1n << 52n) - 1n) & ~0xfffn); // PTE_FLAGS_MASK = ~PTE_PFN_MASK
const X86_LEVEL_NAMES = ['pgd', 'p4d', 'pud', 'pmd', 'pte'];
const RISCV_LEVEL_NAMES = ['PGD', 'P4D', 'PUD', 'PMD', 'PTE'];
const RISCV_PROT_MASK = (1n << 63n) | (3n << 61n) | (3n << 8n) | 0xffn; // union of pte_bits[] masks

/** The state of note_page() (struct pg_state) and the output it produces. */
class Dumper {
  level = -1;
  currentProt = 0n;
  effectiveProt = 0n;
  startAddress = 0n;
  startPa = 0n;
  marker = 0;
  lines = 0;
  readonly protLevels: bigint[] = [0n, 0n, 0n, 0n, 0n];
  readonly out: string[] = [];
  readonly ranges: PtdumpRange[] = [];

  constructor(
    readonly x86: boolean,
    readonly markers: Marker[],
  ) {}

  /** dump_pagetables.c effective_prot(). */
  effective(level: number, val: bigint): void {
    const prot = val & X86_FLAGS_MASK;
    if (level > 0) {
      const higher = this.protLevels[level - 1]!;
      const keep = 0x6n; // _PAGE_USER | _PAGE_RW
      const nx = 1n << 63n;
      this.protLevels[level] = (higher & prot & keep) | ((higher | prot) & nx);
    } else {
      this.protLevels[level] = prot;
    }
  }

  note(addr: bigint, level: number, val: bigint): void {
    if (this.x86) this.noteX86(addr, level, val);
    else this.noteRiscv(addr, level, val);
  }

  private header(): void {
    this.out.push(`---[ ${this.markers[this.marker]!.name} ]---\n`);
  }

  /** dump_pagetables.c note_page(). */
  private noteX86(addr: bigint, level: number, val: bigint): void {
    const newProt = val & X86_FLAGS_MASK;
    const newEff = val === 0n || level < 0 ? 0n : this.protLevels[level]!;
    if (this.level === -1) {
      this.currentProt = newProt;
      this.effectiveProt = newEff;
      this.level = level;
      this.marker = 0;
      this.lines = 0;
      this.header();
      return;
    }
    const next = this.markers[this.marker + 1]!;
    if (newProt === this.currentProt && newEff === this.effectiveProt && level === this.level && addr < next.start) {
      return;
    }
    const cur = this.markers[this.marker]!;
    if (!cur.maxLines || this.lines < cur.maxLines) {
      const delta = BigInt.asUintN(64, addr - this.startAddress);
      const size = humanSize(delta, 'BKMGTPE');
      const [cols, flags] = x86Columns(this.currentProt, this.level);
      const levelName = X86_LEVEL_NAMES[this.level]!;
      this.out.push(`${hex16(this.startAddress)}-${hex16(addr)}   ${size.padStart(10)} ${cols}${levelName}\n`);
      this.ranges.push({
        start: hex16(this.startAddress),
        end: hex16(addr),
        size,
        level: levelName,
        present: (this.currentProt & 1n) === 1n,
        flags,
        marker: cur.name,
      });
    }
    this.lines++;
    if (addr >= next.start) {
      if (cur.maxLines && this.lines > cur.maxLines) {
        const nskip = this.lines - cur.maxLines;
        this.out.push(`... ${nskip} entr${nskip === 1 ? 'y' : 'ies'} skipped ... \n`);
      }
      this.marker++;
      this.lines = 0;
      this.header();
    }
    this.startAddress = addr;
    this.currentProt = newProt;
    this.effectiveProt = newEff;
    this.level = level;
  }

  /** arch/riscv/mm/ptdump.c note_page(). */
  private noteRiscv(addr: bigint, level: number, val: bigint): void {
    const pa = ((val >> 10n) & ((1n << 44n) - 1n)) << 12n; // PFN_PHYS(pte_pfn())
    const prot = level >= 0 ? val & RISCV_PROT_MASK : 0n;
    if (this.level === -1) {
      this.level = level;
      this.currentProt = prot;
      this.startAddress = addr;
      this.startPa = pa;
      this.header();
      return;
    }
    if (prot === this.currentProt && level === this.level && addr < this.markers[this.marker + 1]!.start) return;
    if (this.currentProt !== 0n) {
      const delta = BigInt.asUintN(64, addr - this.startAddress) >> 10n;
      const size = humanSize(delta, 'KMGTPE');
      const [cols, flags] = riscvColumns(this.currentProt);
      const levelName = RISCV_LEVEL_NAMES[this.level]!;
      this.out.push(
        `${hex16(this.startAddress)}-${hex16(addr)}    ${hex16(this.startPa)} ${size.padStart(10)} ${levelName}${cols}\n`,
      );
      this.ranges.push({
        start: hex16(this.startAddress),
        end: hex16(addr),
        size,
        level: levelName,
        present: true,
        flags,
        marker: this.markers[this.marker]!.name,
        phys: hex16(this.startPa),
      });
    }
    while (addr >= this.markers[this.marker + 1]!.start) {
      this.marker++;
      this.header();
    }
    this.startAddress = addr;
    this.startPa = pa;
    this.currentProt = prot;
    this.level = level;
  }
}

/** The "%9lu%c" size: divide by 1024 while the value stays whole. */
function humanSize(delta: bigint, units: string): string {
  let u = 0;
  while ((delta & 1023n) === 0n && u + 1 < units.length) {
    delta >>= 10n;
    u++;
  }
  return `${delta}${units[u]}`;
}

/** dump_pagetables.c printk_prot(): the text columns (with their trailing spaces) and the flag words. */
function x86Columns(pr: bigint, level: number): [string, string[]] {
  if ((pr & 1n) === 0n) return [' '.repeat(30), []];
  const bit = (b: bigint): boolean => (pr & b) !== 0n;
  const cols: [boolean, string, string][] = [
    [bit(1n << 2n), 'USR ', '    '],
    [bit(1n << 1n), 'RW ', 'ro '],
    [bit(1n << 3n), 'PWT ', '    '],
    [bit(1n << 4n), 'PCD ', '    '],
    [level <= 3 && bit(1n << 7n), 'PSE ', '    '],
    [(level === 4 && bit(1n << 7n)) || ((level === 3 || level === 2) && bit(1n << 12n)), 'PAT ', '    '],
    [bit(1n << 8n), 'GLB ', '    '],
    [bit(1n << 63n), 'NX ', 'x  '],
  ];
  let text = '';
  const flags: string[] = [];
  for (const [on, set, clear] of cols) {
    const s = on ? set : clear;
    text += s;
    if (s.trim()) flags.push(s.trim());
  }
  return [text, flags];
}

/** arch/riscv/mm/ptdump.c dump_prot(): " %s" for each of pte_bits[] in order. */
function riscvColumns(prot: bigint): [string, string[]] {
  const flags: string[] = [];
  let text = '';
  const put = (set: string | undefined, clear: string): void => {
    text += ` ${set ?? clear}`;
    if (set) flags.push(set);
  };
  put(prot & (1n << 63n) ? 'N' : undefined, '.');
  const mt = (prot >> 61n) & 3n;
  put(mt ? `MT(${mt === 1n ? 'NC' : mt === 2n ? 'IO' : '??'})` : undefined, '  ..  ');
  const rsw = (prot >> 8n) & 3n;
  put(rsw ? `RSW(${rsw})` : undefined, '  ..  ');
  const letters: [bigint, string][] = [
    [1n << 7n, 'D'],
    [1n << 6n, 'A'],
    [1n << 5n, 'G'],
    [1n << 4n, 'U'],
    [1n << 3n, 'X'],
    [1n << 2n, 'W'],
    [1n << 1n, 'R'],
    [1n << 0n, 'V'],
  ];
  for (const [mask, name] of letters) put(prot & mask ? name : undefined, '.');
  return [text, flags];
}

/**
 * The dump of a page table (the kernel's, or a process's with its shared kernel half) in the layout of
 * the architecture's debugfs file, as text and as JSON-friendly ranges.
 */
export function ptdump(pt: PageTable): Ptdump {
  const spec = pt.spec;
  const x86 = spec.family === 'x86';
  const st = new Dumper(x86, x86 ? x86Markers(spec) : riscvMarkers(spec));
  const shifts = levelShifts(spec);
  const last = spec.levels - 1;
  const depthOf = (l: number): number => 5 - spec.levels + l;

  const walk = (table: number, l: number, start: bigint, end: bigint): void => {
    const shift = BigInt(shifts[l]!);
    let addr = start;
    do {
      const index = Number((addr >> shift) & 511n);
      const boundary = ((addr >> shift) + 1n) << shift;
      const next = boundary < end ? boundary : end;
      const val = pt.entryAt(table, index);
      const depth = depthOf(l);
      if (l === last) {
        if (x86) st.effective(depth, val);
        st.note(addr, depth, val);
      } else if (val === 0n) {
        st.note(addr, depth, 0n); // pte_hole(addr, next, depth)
      } else {
        if (x86) {
          // pgd_entry() .. pXd_entry() for this level and the folded ones above it.
          for (let d = l === 0 ? 0 : depth; d <= depth; d++) st.effective(d, val);
        }
        const present = (val & 1n) === 1n;
        const leaf = x86 ? (val & (1n << 7n)) !== 0n : (val & 0xen) !== 0n;
        if (leaf || !present) {
          st.note(addr, depth, val);
        } else {
          const pfnBits = x86 ? (val & (((1n << 52n) - 1n) & ~0xfffn)) >> 12n : (val >> 10n) & ((1n << 44n) - 1n);
          walk(Number(pfnBits), l + 1, addr, next);
        }
      }
      addr = next;
    } while (addr < end);
  };

  for (const [start, end] of walkRanges(spec)) walk(pt.root, 0, start, end);
  st.note(0n, -1, 0n); // note_page_flush
  return { text: st.out.join(''), ranges: st.ranges };
}

/**
 * A page walk for the debugger console ("pagewalk ADDR"): one line per level with its index, the physical
 * address of the entry, the entry as 0x%016lx and its flags; then where the walk ended.
 */
export function formatWalk(spec: ArchSpec, walk: WalkResult): string {
  const lines: string[] = [];
  const root = spec.family === 'x86' ? 'CR3' : `satp (MODE ${spec.satpMode})`;
  lines.push(`${hex16(walk.va)}: ${spec.name}, ${root} -> pgd at ${hex16(BigInt(walk.root) * 4096n)}`);
  const width = Math.max(...walk.levels.map((l) => `${l.level}[${l.index}]`.length), 0);
  for (const l of walk.levels) {
    const head = `${l.level}[${l.index}]`.padEnd(width);
    const flags = l.flags.length ? l.flags.join(' ') : '(none)';
    lines.push(`  ${head} @ ${hex16(BigInt(l.entryPhys))} = ${hex16(l.entry)}  ${flags}`);
  }
  const o = walk.outcome;
  switch (o.kind) {
    case 'mapped':
      lines.push(
        `  => phys ${hex16(BigInt(o.phys))} (pfn 0x${o.pfn.toString(16)}, ${sizeName(o.pageSize)} page at ${o.level})`,
      );
      break;
    case 'not-present':
      lines.push(`  => not mapped: ${o.level} entry not present`);
      break;
    case 'reserved':
      lines.push(`  => fault at ${o.level}: ${o.reason}`);
      break;
    case 'non-canonical':
      lines.push(`  => non-canonical address (bits 63..${spec.vaBits - 1} differ)`);
      break;
  }
  return lines.join('\n') + '\n';
}
