/*
 * Page tables (engine/mm/pgtable.ts) in the four paging modes.
 *
 * Every expected index, entry address and entry value below is computed by hand (the arithmetic is in the
 * comments), never by the code under test. Sources of the figures (Linux 6.12):
 *   arch/x86/include/asm/pgtable_types.h   _PAGE_BIT_* (P 0, RW 1, USER 2, PWT 3, PCD 4, A 5, D 6, PSE 7,
 *                                          GLOBAL 8, PAT_LARGE 12, NX 63), _PAGE_TABLE = P|RW|USER|A|D = 0x67,
 *                                          __PAGE_KERNEL = P|RW|A|D|G|NX (0x163 + bit 63)
 *   arch/riscv/include/asm/pgtable-bits.h  V 0, R 1, W 2, X 3, U 4, G 5, A 6, D 7, _PAGE_PFN_SHIFT 10;
 *                                          _PAGE_TABLE = V; _PAGE_KERNEL = R|W|V|A|D|G = 0xe7
 *   arch/x86/include/asm/trap_pf.h         X86_PF_PROT 1, WRITE 2, USER 4, RSVD 8, INSTR 16
 *   Documentation/mm/page_tables.rst       9 index bits per level above the 12-bit page offset
 *
 * Seeded property test: FC_SEED=<n> changes the seed (printed with a failure by fast-check).
 */

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { archSpec, ArchName } from '../../engine/mm/arch';
import { NO_PFN } from '../../engine/mm/frames';
import { PhysMem } from '../../engine/mm/physmem';
import {
  PAGE_KERNEL,
  PAGE_KERNEL_RO,
  PageSize,
  PageTable,
  PageTableHost,
  PT_ERRORS,
  Prot,
  SZ_1G,
  SZ_2M,
  SZ_4K,
  formatX86ErrorCode,
} from '../../engine/mm/pgtable';

const FC_SEED = Number(process.env.FC_SEED ?? 4242);

/** A page allocator stand-in: hands out pfns from `first` upwards, reuses freed ones, counts live pages. */
class FakeHost implements PageTableHost {
  readonly mem = new PhysMem();
  readonly live = new Set<number>();
  readonly freed: number[] = [];
  allocs = 0;
  limit = Infinity;
  private next: number;
  constructor(first: number) {
    this.next = first;
  }
  allocTablePage(_user: boolean): number {
    if (this.live.size >= this.limit) return NO_PFN;
    const pfn = this.freed.pop() ?? this.next++;
    this.mem.zeroPage(pfn);
    this.live.add(pfn);
    this.allocs++;
    return pfn;
  }
  freeTablePage(pfn: number): void {
    assert.ok(this.live.has(pfn), `freeTablePage(0x${pfn.toString(16)}) of a page not handed out`);
    this.live.delete(pfn);
    this.freed.push(pfn);
  }
}

function kernelTable(arch: ArchName, first: number): { host: FakeHost; pt: PageTable } {
  const host = new FakeHost(first);
  const pt = PageTable.createKernel(archSpec(arch), host);
  assert.ok(pt);
  return { host, pt };
}

function ok<T extends { ok: boolean }>(r: T): T {
  assert.ok(
    r.ok,
    JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString(16) : v)),
  );
  return r;
}

function code(r: { ok: boolean; code?: string }): string | undefined {
  assert.equal(r.ok, false);
  return r.code;
}

describe('page walks of known addresses', () => {
  test('x86_64 4-level: 0xffff888000201234 through pgd/pud/pmd/pte', () => {
    const { host, pt } = kernelTable('x86_64', 0x100);
    assert.equal(pt.root, 0x100);
    ok(pt.map(0xffff888000201000n, 0x201, SZ_4K, PAGE_KERNEL));
    // Tables were allocated in order: pud 0x101, pmd 0x102, pte 0x103.
    assert.deepEqual([...host.live].sort(), [0x100, 0x101, 0x102, 0x103]);
    const w = pt.walk(0xffff888000201234n);
    // va = 0xffff8880_00201000: pgd = (hi >> 7) & 511 = 0x1ffff11 & 0x1ff = 273, pud = (hi << 2) & 511 = 0,
    // pmd = 0x00201000 >> 21 = 1, pte = 0x201 & 0x1ff = 1.
    assert.deepEqual(
      w.levels.map((l) => [l.level, l.index, l.entryPhys, l.entry]),
      [
        ['pgd', 273, 0x100000 + 273 * 8, 0x101067n], // 273 * 8 = 0x888
        ['pud', 0, 0x101000, 0x102067n],
        ['pmd', 1, 0x102008, 0x103067n], // pmd_populate_kernel(): _PAGE_TABLE
        ['pte', 1, 0x103008, 0x8000000000201163n], // pfn 0x201, P|RW|A|D|G = 0x163, NX
      ],
    );
    assert.deepEqual(w.levels[0]!.flags, ['PRESENT', 'RW', 'USER', 'ACCESSED', 'DIRTY']);
    assert.deepEqual(w.levels[3]!.flags, ['PRESENT', 'RW', 'ACCESSED', 'DIRTY', 'GLOBAL', 'NX']);
    assert.deepEqual(w.outcome, { kind: 'mapped', phys: 0x201234, pfn: 0x201, pageSize: SZ_4K, level: 'pte' });
    // The entries are in physical memory, as 64-bit little-endian words.
    assert.equal(host.mem.readU64(0x100888), 0x101067n);
    assert.equal(host.mem.read8(0x103008 + 7), 0x80);
  });

  test('x86_64-la57 5-level: 0xff11000000403000 through pgd/p4d/pud/pmd/pte', () => {
    const { pt } = kernelTable('x86_64-la57', 0x200);
    ok(pt.map(0xff11000000403000n, 0x403, SZ_4K, PAGE_KERNEL));
    const w = pt.walk(0xff11000000403abcn);
    // pgd = (va >> 48) & 511 = 0xff11 & 0x1ff = 273; p4d = (0xff110000 >> 7) & 511 = 0;
    // pud = (0xff110000 << 2) & 511 = 0; pmd = 0x403000 >> 21 = 2; pte = 0x403 & 0x1ff = 3.
    assert.deepEqual(
      w.levels.map((l) => [l.level, l.index, l.entryPhys, l.entry]),
      [
        ['pgd', 273, 0x200888, 0x201067n],
        ['p4d', 0, 0x201000, 0x202067n],
        ['pud', 0, 0x202000, 0x203067n],
        ['pmd', 2, 0x203010, 0x204067n], // pmd_populate_kernel(): _PAGE_TABLE
        ['pte', 3, 0x204018, 0x8000000000403163n],
      ],
    );
    assert.deepEqual(w.outcome, { kind: 'mapped', phys: 0x403abc, pfn: 0x403, pageSize: SZ_4K, level: 'pte' });
  });

  test('sv39: 0xffffffd600603000 through pgd/pmd/pte (p4d and pud folded)', () => {
    const { pt } = kernelTable('sv39', 0x80100);
    ok(pt.map(0xffffffd600603000n, 0x80603, SZ_4K, PAGE_KERNEL));
    const w = pt.walk(0xffffffd600603010n);
    // pgd = ((lo >>> 30) | (hi << 2)) & 511 = 0x3ffffff58 & 0x1ff = 0x158 = 344; pmd = 0x603000 >> 21 = 3;
    // pte = 0x603 & 0x1ff = 3. Pointers are (pfn << 10) | V: 0x80101 << 10 = 0x20040400.
    assert.deepEqual(
      w.levels.map((l) => [l.level, l.index, l.entryPhys, l.entry]),
      [
        ['pgd', 344, 0x80100000 + 344 * 8, 0x20040401n], // 344 * 8 = 0xac0
        ['pmd', 3, 0x80101018, 0x20040801n],
        ['pte', 3, 0x80102018, 0x20180ce7n], // 0x80603 << 10 = 0x20180c00, | 0xe7
      ],
    );
    assert.deepEqual(w.levels[2]!.flags, ['V', 'R', 'W', 'G', 'A', 'D']);
    assert.deepEqual(w.outcome, { kind: 'mapped', phys: 0x80603010, pfn: 0x80603, pageSize: SZ_4K, level: 'pte' });
  });

  test('sv48: a 1G page at 0xffffaf8040000000 is a leaf in the pud', () => {
    const { pt } = kernelTable('sv48', 0x80100);
    ok(pt.map(0xffffaf8040000000n, 0x80000, SZ_1G, PAGE_KERNEL));
    const w = pt.walk(0xffffaf8052345678n);
    // pgd = (0xffffaf80 >> 7) & 511 = 0x1ffff5f & 0x1ff = 351; pud = (0x52345678 >>> 30 | hi << 2) & 511 = 1.
    assert.deepEqual(
      w.levels.map((l) => [l.level, l.index, l.entryPhys, l.entry]),
      [
        ['pgd', 351, 0x80100000 + 351 * 8, 0x20040401n],
        ['pud', 1, 0x80101008, 0x200000e7n], // 0x80000 << 10 = 0x20000000
      ],
    );
    assert.deepEqual(w.outcome, { kind: 'mapped', phys: 0x92345678, pfn: 0x92345, pageSize: SZ_1G, level: 'pud' });
  });

  test('x86 2M and 1G pages carry PSE and stop the walk at pmd and pud', () => {
    const { pt } = kernelTable('x86_64', 0x100);
    ok(pt.map(0xffff888000400000n, 0x400, SZ_2M, PAGE_KERNEL));
    ok(pt.map(0xffff888040000000n, 0x40000, SZ_1G, PAGE_KERNEL));
    const w2 = pt.walk(0xffff8880004abcdefn & 0xffffffffffffffffn);
    const two = pt.walk(0xffff888000412345n);
    // pmd index = 0x400000 >> 21 = 2; entry 0x400000 | PSE 0x80 | 0x163 = 0x4001e3, NX.
    assert.deepEqual(two.levels.at(-1)!.entry, 0x80000000004001e3n);
    assert.equal(two.levels.at(-1)!.index, 2);
    assert.deepEqual(two.outcome, { kind: 'mapped', phys: 0x412345, pfn: 0x412, pageSize: SZ_2M, level: 'pmd' });
    const one = pt.walk(0xffff888041234567n);
    // pud index = (0x41234567 >>> 30) = 1; entry 0x40000000 | 0x1e3, NX.
    assert.equal(one.levels.length, 2);
    assert.deepEqual(one.levels[1]!.entry, 0x80000000400001e3n);
    assert.deepEqual(one.outcome, { kind: 'mapped', phys: 0x41234567, pfn: 0x41234, pageSize: SZ_1G, level: 'pud' });
    assert.equal(w2.outcome.kind, 'non-canonical');
  });

  test('walks stop where an entry is not present, and at non-canonical addresses', () => {
    const { pt } = kernelTable('x86_64', 0x100);
    assert.deepEqual(pt.walk(0xffffc90000000000n).outcome, { kind: 'not-present', level: 'pgd' });
    ok(pt.map(0xffffc90000000000n, 0x300, SZ_4K, PAGE_KERNEL));
    assert.deepEqual(pt.walk(0xffffc90000001000n).outcome, { kind: 'not-present', level: 'pte' });
    assert.deepEqual(pt.walk(0x0000800000000000n).outcome, { kind: 'non-canonical' });
    assert.equal(pt.translate(0xffffc90000000008n), 0x300008);
    assert.equal(pt.translate(0xffffc90000001000n), -1);
  });
});

describe('map, unmap and protect', () => {
  test('every error path of map, with nothing changed', () => {
    const { host, pt } = kernelTable('x86_64', 0x100);
    ok(pt.map(0xffff888000400000n, 0x400, SZ_2M, PAGE_KERNEL));
    const before = host.allocs;
    const cases: [() => { ok: boolean; code?: string }, string][] = [
      [() => pt.map(0xffff888000001800n, 1, SZ_4K, PAGE_KERNEL), PT_ERRORS.misaligned],
      [() => pt.map(0xffff888000600000n, 0x601, SZ_2M, PAGE_KERNEL), PT_ERRORS.misaligned],
      [() => pt.map(0xffff888000200000n, 0, SZ_1G, PAGE_KERNEL), PT_ERRORS.misaligned],
      [() => pt.map(0x0000800000000000n, 1, SZ_4K, PAGE_KERNEL), PT_ERRORS.nonCanonical],
      [() => pt.map(-1n, 1, SZ_4K, PAGE_KERNEL), PT_ERRORS.nonCanonical],
      [() => pt.map(0x1000n, 1, SZ_4K, PAGE_KERNEL), PT_ERRORS.wrongHalf],
      [() => pt.map(0xffff888000400000n, 0x500, SZ_4K, PAGE_KERNEL), PT_ERRORS.alreadyMapped],
      [() => pt.map(0xffff888000401000n, 0x500, SZ_4K, PAGE_KERNEL), PT_ERRORS.alreadyMapped],
      [() => pt.map(0xffff888000400000n, 0x400, SZ_2M, PAGE_KERNEL), PT_ERRORS.alreadyMapped],
      [() => pt.map(0xffff888000000000n, 0, SZ_1G, PAGE_KERNEL), PT_ERRORS.alreadyMapped],
      [() => pt.map(0xffff888000001000n, -1, SZ_4K, PAGE_KERNEL), PT_ERRORS.badPfn],
      [() => pt.map(0xffff888000001000n, 2 ** 40, SZ_4K, PAGE_KERNEL), PT_ERRORS.badPfn],
      [() => pt.map(0xffff888000001000n, 1, 8192 as PageSize, PAGE_KERNEL), PT_ERRORS.badSize],
    ];
    for (const [call, expected] of cases) assert.equal(code(call()), expected, call.toString());
    assert.equal(host.allocs, before, 'no table page allocated by a refused map');
    // A 2M page where a pte table already holds 4K pages is refused too.
    ok(pt.map(0xffff888000801000n, 0x801, SZ_4K, PAGE_KERNEL));
    assert.equal(code(pt.map(0xffff888000800000n, 0x800, SZ_2M, PAGE_KERNEL)), PT_ERRORS.alreadyMapped);
  });

  test('user tables: only below TASK_SIZE_MAX, never in the kernel half; RISC-V leaves need R or X', () => {
    const { pt: kernel } = kernelTable('x86_64', 0x100);
    const user = PageTable.createUser(kernel)!;
    assert.equal(code(user.map(0xffff888000000000n, 1, SZ_4K, PAGE_KERNEL)), PT_ERRORS.wrongHalf);
    // TASK_SIZE_MAX = 0x00007ffffffff000: the last page below 2^47 stays unmapped.
    assert.equal(code(user.map(0x00007ffffffff000n, 1, SZ_4K, { user: true })), PT_ERRORS.wrongHalf);
    ok(user.map(0x00007fffffffe000n, 1, SZ_4K, { user: true }));
    const { pt: rv } = kernelTable('sv39', 0x80100);
    assert.equal(code(rv.map(0xffffffd600000000n, 0x80000, SZ_4K, { read: false })), PT_ERRORS.badProt);
    assert.equal(code(rv.map(0xffffffd600000000n, 2 ** 44, SZ_4K, PAGE_KERNEL)), PT_ERRORS.badPfn);
  });

  test('out of memory for a table page frees what the failed map allocated', () => {
    const { host, pt } = kernelTable('x86_64', 0x100);
    host.limit = 3; // root + pud + pmd, no pte table
    const r = pt.map(0xffff888000201000n, 0x201, SZ_4K, PAGE_KERNEL);
    assert.equal(code(r), PT_ERRORS.noMemory);
    assert.deepEqual([...host.live], [0x100]);
    assert.equal(pt.entryAt(0x100, 273), 0n, 'the pgd entry that linked the new tables is cleared again');
    assert.equal(pt.countTablePages(), 1);
    host.limit = Infinity;
    ok(pt.map(0xffff888000201000n, 0x201, SZ_4K, PAGE_KERNEL));
  });

  test('unmap returns what was mapped; user tables free emptied tables, the kernel keeps them', () => {
    const { host, pt: kernel } = kernelTable('x86_64', 0x100);
    const user = PageTable.createUser(kernel)!;
    assert.equal(user.countTablePages(), 1);
    ok(user.map(0x400000n, 0x500, SZ_4K, { user: true, write: true }));
    ok(user.map(0x401000n, 0x501, SZ_4K, { user: true }));
    ok(user.map(0x40000000n, 0x40000, SZ_1G, { user: true }));
    assert.equal(user.countTablePages(), 4); // pgd, pud, pmd, pte
    assert.deepEqual(user.unmap(0x400000n), { ok: true, pfn: 0x500, pageSize: SZ_4K });
    assert.equal(user.countTablePages(), 4);
    assert.deepEqual(user.unmap(0x401000n), { ok: true, pfn: 0x501, pageSize: SZ_4K });
    assert.equal(user.countTablePages(), 2, 'pte and pmd tables freed, the pud still holds the 1G page');
    assert.equal(code(user.unmap(0x40001000n)), PT_ERRORS.misaligned);
    assert.deepEqual(user.unmap(0x40000000n), { ok: true, pfn: 0x40000, pageSize: SZ_1G });
    assert.equal(user.countTablePages(), 1);
    assert.equal(code(user.unmap(0x40000000n)), PT_ERRORS.notMapped);

    ok(kernel.map(0xffffc90000000000n, 0x300, SZ_4K, PAGE_KERNEL));
    const tables = kernel.countTablePages();
    ok(kernel.unmap(0xffffc90000000000n));
    assert.equal(kernel.countTablePages(), tables, 'vunmap leaves kernel page tables in place');
    assert.equal(host.live.size, tables + 1);
  });

  test('protect changes permissions and keeps the pfn, Accessed and Dirty', () => {
    const { pt } = kernelTable('x86_64', 0x100);
    ok(pt.map(0xffff888000201000n, 0x201, SZ_4K, PAGE_KERNEL));
    assert.deepEqual(pt.protect(0xffff888000201000n, PAGE_KERNEL_RO), { ok: true, pageSize: SZ_4K });
    // 0x8000000000201163 without RW (0x2): 0x8000000000201161.
    assert.equal(pt.walk(0xffff888000201000n).levels[3]!.entry, 0x8000000000201161n);
    ok(pt.protect(0xffff888000201000n, { write: true, exec: true }));
    assert.equal(pt.walk(0xffff888000201000n).levels[3]!.entry, 0x0000000000201063n); // G and NX gone
    assert.equal(code(pt.protect(0xffff888000202000n, PAGE_KERNEL)), PT_ERRORS.notMapped);
    ok(pt.map(0xffff888000400000n, 0x400, SZ_2M, PAGE_KERNEL));
    assert.equal(code(pt.protect(0xffff888000401000n, PAGE_KERNEL)), PT_ERRORS.misaligned);
    const { pt: rv } = kernelTable('sv39', 0x80100);
    ok(rv.map(0xffffffd600000000n, 0x80000, SZ_4K, PAGE_KERNEL));
    ok(rv.protect(0xffffffd600000000n, { exec: true, read: false }));
    assert.equal(rv.walk(0xffffffd600000000n).levels[2]!.entry, 0x200000c9n); // V X A D: 0x1|0x8|0x40|0x80
    assert.equal(code(rv.protect(0xffffffd600000000n, { read: false })), PT_ERRORS.badProt);
  });

  test('destroy frees every table page, root included; later calls are refused', () => {
    const { host, pt } = kernelTable('x86_64-la57', 0x100);
    ok(pt.map(0xff11000000000000n, 0, SZ_4K, PAGE_KERNEL));
    ok(pt.map(0xffffffff81000000n, 0x1000, SZ_2M, PAGE_KERNEL));
    assert.equal(pt.countTablePages(), host.live.size);
    pt.destroy();
    assert.equal(host.live.size, 0);
    assert.equal(code(pt.map(0xff11000000001000n, 1, SZ_4K, PAGE_KERNEL)), PT_ERRORS.destroyed);
  });
});

describe('a user page table shares the kernel half', () => {
  for (const arch of ['x86_64', 'x86_64-la57', 'sv39', 'sv48'] as const) {
    test(`${arch}: kernel addresses walk through the kernel's own tables; destroy frees the user half only`, () => {
      const spec = archSpec(arch);
      const first = spec.family === 'x86' ? 0x100 : 0x80100;
      const { host, pt: kernel } = kernelTable(arch, first);
      const kva = spec.pageOffset + 0x201000n;
      ok(kernel.map(kva, spec.physBase / SZ_4K + 0x201, SZ_4K, PAGE_KERNEL));
      const kernelPages = host.live.size;
      const user = PageTable.createUser(kernel)!;
      ok(user.map(0x400000n, first + 0x1000, SZ_4K, { user: true, write: true }));
      const viaUser = user.walk(kva + 0x10n);
      const viaKernel = kernel.walk(kva + 0x10n);
      assert.deepEqual(viaUser.outcome, viaKernel.outcome);
      assert.deepEqual(
        viaUser.levels.slice(1).map((l) => l.entryPhys),
        viaKernel.levels.slice(1).map((l) => l.entryPhys),
        'below the pgd the same table pages are read',
      );
      assert.notEqual(viaUser.levels[0]!.entryPhys, viaKernel.levels[0]!.entryPhys);
      assert.equal(user.countTablePages(), spec.levels);
      user.destroy();
      assert.equal(host.live.size, kernelPages);
      assert.deepEqual(kernel.walk(kva + 0x10n).outcome, viaKernel.outcome, 'the kernel half survives');
    });
  }

  test('x86 copies from KERNEL_PGD_BOUNDARY = pgd_index(PAGE_OFFSET) = 273, RISC-V from entry 256', () => {
    assert.equal(PageTable.createKernel(archSpec('x86_64'), new FakeHost(1))!.kernelBoundary, 273);
    assert.equal(PageTable.createKernel(archSpec('x86_64-la57'), new FakeHost(1))!.kernelBoundary, 273);
    assert.equal(PageTable.createKernel(archSpec('sv39'), new FakeHost(1))!.kernelBoundary, 256);
    assert.equal(PageTable.createKernel(archSpec('sv48'), new FakeHost(1))!.kernelBoundary, 256);
  });
});

describe('access() as the MMU does it', () => {
  test('x86: A on every level, D on the leaf for a write; faults with the #PF error code', () => {
    const { host, pt: kernel } = kernelTable('x86_64', 0x100);
    const user = PageTable.createUser(kernel)!; // root 0x101
    ok(user.map(0x400000n, 0x500, SZ_4K, { user: true, write: true }));
    ok(user.map(0x401000n, 0x501, SZ_4K, { user: true }));
    // pgd[0] of the user table is at 0x101000; clear its Accessed bit (0x67 -> 0x47) by writing memory.
    const pgdEntry = user.walk(0x400000n).levels[0]!;
    assert.equal(pgdEntry.entryPhys, 0x101000);
    host.mem.writeU64(0x101000, pgdEntry.entry & ~0x20n);
    const leafPhys = user.walk(0x400000n).levels[3]!.entryPhys;
    assert.equal(host.mem.readU64(leafPhys) & 0x60n, 0n, 'neither A nor D before the first access');
    assert.deepEqual(user.access(0x400010n, 'read', true), { ok: true, phys: 0x500010, pageSize: SZ_4K, level: 'pte' });
    assert.equal(host.mem.readU64(0x101000) & 0x20n, 0x20n, 'A set again in the pgd');
    assert.equal(host.mem.readU64(leafPhys) & 0x60n, 0x20n, 'A, not D, after a read');
    ok(user.access(0x400010n, 'write', true));
    assert.equal(host.mem.readU64(leafPhys) & 0x60n, 0x60n, 'D after a write');

    const f = (r: ReturnType<PageTable['access']>) => {
      assert.equal(r.ok, false);
      return r.ok ? undefined : r.fault;
    };
    // Write to a read-only user page: P|W|U = 0x7.
    assert.deepEqual(
      [f(user.access(0x401000n, 'write', true))?.kind, f(user.access(0x401000n, 'write', true))?.errorCode],
      ['protection', 0x7],
    );
    // User execution of an NX page: P|U|I = 0x15.
    assert.equal(f(user.access(0x400000n, 'exec', true))?.errorCode, 0x15);
    // Not present: user read 0x4, user write 0x6, kernel write 0x2.
    assert.equal(f(user.access(0x800000n, 'read', true))?.errorCode, 0x4);
    assert.equal(f(user.access(0x800000n, 'write', true))?.errorCode, 0x6);
    const kw = f(user.access(0x800000n, 'write', false))!;
    assert.equal(kw.errorCode, 0x2);
    assert.equal(kw.level, 'pmd');
    assert.equal(formatX86ErrorCode(kw.errorCode), 'error_code(0x0002) - not-present page');
    assert.equal(formatX86ErrorCode(0x7), 'error_code(0x0007) - permissions violation');
    // SMAP: a kernel read of a user page faults (P = 0x1) unless it is a uaccess.
    assert.equal(f(user.access(0x400000n, 'read', false))?.errorCode, 0x1);
    ok(user.access(0x400000n, 'read', false, { uaccess: true }));
    // A user access to a kernel page: P|U = 0x5.
    ok(kernel.map(0xffff888000000000n, 0, SZ_4K, PAGE_KERNEL));
    user.copyKernelHalf();
    assert.equal(f(user.access(0xffff888000000000n, 'read', true))?.errorCode, 0x5);
    ok(user.access(0xffff888000000000n, 'write', false));
    // Non-canonical: #GP, not #PF.
    assert.equal(f(user.access(0x0000800000000000n, 'read', true))?.kind, 'non-canonical');
    // PSE in a pgd entry is a reserved-bit fault: P|RSVD = 0x9 for a kernel read.
    host.mem.writeU64(0x101000, host.mem.readU64(0x101000) | 0x80n);
    const rsvd = f(user.access(0x400000n, 'read', false))!;
    assert.deepEqual([rsvd.kind, rsvd.errorCode, rsvd.level], ['reserved', 0x9, 'pgd']);
    assert.equal(formatX86ErrorCode(rsvd.errorCode), 'error_code(0x0009) - reserved bit violation');
  });

  test('RISC-V: hardware A/D updating on the leaf only; faults carry scause', () => {
    const { host, pt: kernel } = kernelTable('sv39', 0x80100);
    const user = PageTable.createUser(kernel)!;
    ok(user.map(0x10000n, 0x80500, SZ_4K, { user: true, write: true }));
    ok(user.map(0x11000n, 0x80501, SZ_4K, { user: true, exec: true, read: false }));
    const levels = user.walk(0x10000n).levels;
    ok(user.access(0x10004n, 'write', true));
    assert.equal(host.mem.readU64(levels[2]!.entryPhys) & 0xc0n, 0xc0n, 'A and D set on the leaf');
    assert.equal(host.mem.readU64(levels[0]!.entryPhys) & 0xc0n, 0n, 'non-leaf A/D are reserved, left clear');
    const fault = (r: ReturnType<PageTable['access']>) => (r.ok ? undefined : r.fault);
    assert.deepEqual(
      [fault(user.access(0x11000n, 'read', true))?.kind, fault(user.access(0x11000n, 'read', true))?.cause],
      ['protection', 13],
    );
    ok(user.access(0x11000n, 'exec', true));
    assert.equal(fault(user.access(0x11000n, 'write', true))?.cause, 15);
    assert.equal(fault(user.access(0x10000n, 'exec', true))?.cause, 12);
    assert.equal(fault(user.access(0x10000n, 'read', false))?.kind, 'protection', 'SUM clear');
    ok(user.access(0x10000n, 'read', false, { uaccess: true }));
    assert.equal(fault(user.access(0x12000n, 'read', true))?.kind, 'not-present');
    // W without R is a reserved encoding: corrupt the leaf to V|W|U (0x15).
    host.mem.writeU64(levels[2]!.entryPhys, (0x80500n << 10n) | 0x15n);
    assert.equal(fault(user.access(0x10000n, 'read', true))?.kind, 'reserved');
  });
});

describe('forEachLeaf', () => {
  test('visits leaves in address order, kernel half sign-extended', () => {
    const { pt } = kernelTable('x86_64', 0x100);
    ok(pt.map(0xffffffff81000000n, 0x1000, SZ_2M, PAGE_KERNEL));
    ok(pt.map(0xffff888000001000n, 1, SZ_4K, PAGE_KERNEL_RO));
    ok(pt.map(0xffff888000000000n, 0, SZ_4K, PAGE_KERNEL));
    const seen: [string, number, number, boolean][] = [];
    pt.forEachLeaf((l) => seen.push([l.va.toString(16), l.pfn, l.pageSize, l.prot.write === true]));
    assert.deepEqual(seen, [
      ['ffff888000000000', 0, SZ_4K, true],
      ['ffff888000001000', 1, SZ_4K, false],
      ['ffffffff81000000', 0x1000, SZ_2M, true],
    ]);
  });
});

/** The model: va -> {pfn, size, prot} for leaves, checked against the table after every step. */
describe('property: random map/unmap/protect against a Map model', () => {
  for (const arch of ['x86_64', 'sv39'] as const) {
    test(`${arch} user table`, () => {
      const spec = archSpec(arch);
      const base = spec.family === 'x86' ? 0x1000 : 0x81000;
      const slot = fc.record({
        // Addresses in a few 2M regions of two 1G regions, so tables get shared, emptied and refilled.
        giga: fc.integer({ min: 0, max: 1 }),
        mega: fc.integer({ min: 0, max: 3 }),
        page: fc.integer({ min: 0, max: 511 }),
      });
      const op = fc.oneof(
        fc.record({
          kind: fc.constant('map' as const),
          slot,
          size: fc.constantFrom(SZ_4K, SZ_2M) as fc.Arbitrary<PageSize>,
          write: fc.boolean(),
        }),
        fc.record({ kind: fc.constant('unmap' as const), slot }),
        fc.record({ kind: fc.constant('protect' as const), slot, write: fc.boolean() }),
      );
      fc.assert(
        fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
          const host = new FakeHost(base);
          const kernel = PageTable.createKernel(spec, host)!;
          const user = PageTable.createUser(kernel)!;
          const model = new Map<bigint, { pfn: number; size: number; write: boolean }>();
          const covering = (va: bigint) => {
            for (const [start, m] of model) if (va >= start && va < start + BigInt(m.size)) return start;
            return undefined;
          };
          for (const o of ops) {
            const region = BigInt(o.slot.giga) * BigInt(SZ_1G) + BigInt(o.slot.mega) * BigInt(SZ_2M);
            if (o.kind === 'map') {
              const va = o.size === SZ_2M ? region : region + BigInt(o.slot.page) * 4096n;
              const pfn = base + 0x10000 + Number(va / 4096n);
              const prot: Prot = { user: true, write: o.write };
              const r = user.map(va, pfn, o.size, prot);
              const end = va + BigInt(o.size);
              const clash = [...model].some(([s, m]) => s < end && va < s + BigInt(m.size));
              assert.equal(r.ok, !clash);
              if (r.ok) model.set(va, { pfn, size: o.size, write: o.write });
            } else {
              const va = region + BigInt(o.slot.page) * 4096n;
              const at = covering(va);
              if (o.kind === 'unmap') {
                const r = user.unmap(va);
                assert.equal(r.ok, at === va, `unmap ${va.toString(16)}`);
                if (r.ok) {
                  const m = model.get(va)!;
                  assert.deepEqual([r.pfn, r.pageSize], [m.pfn, m.size]);
                  model.delete(va);
                }
              } else {
                const r = user.protect(va, { user: true, write: o.write });
                assert.equal(r.ok, at === va, `protect ${va.toString(16)}`);
                if (r.ok) model.get(va)!.write = o.write;
              }
            }
            // Leaves equal the model.
            const leaves: [bigint, number, number, boolean][] = [];
            user.forEachLeaf((l) => leaves.push([l.va, l.pfn, l.pageSize, l.prot.write === true]));
            const expected = [...model]
              .sort((a, b) => (a[0] < b[0] ? -1 : 1))
              .map(([va, m]) => [va, m.pfn, m.size, m.write]);
            assert.deepEqual(leaves, expected);
            // Table pages: the host's live pages are exactly the kernel's and the user's.
            assert.equal(host.live.size, kernel.countTablePages() + user.countTablePages());
            // A user table with no leaves holds only its pgd (emptied tables were freed).
            if (model.size === 0) assert.equal(user.countTablePages(), 1);
          }
          user.destroy();
          kernel.destroy();
          assert.equal(host.live.size, 0);
        }),
        { seed: FC_SEED, numRuns: 150 },
      );
    });
  }
});
