/*
 * Tasks and user address spaces (engine/mm/process.ts) against Linux 6.12's mm/memory.c, mm/mmap.c,
 * mm/mprotect.c, kernel/fork.c, mm/oom_kill.c and arch/x86/mm/fault.c:
 *   - do_anonymous_page(): a read maps the shared zero page (no allocation), a write allocates one zeroed
 *     GFP_HIGHUSER_MOVABLE page (PG_anon, PG_lru);
 *   - fork + do_wp_page(): COW copies for the writer while the page is shared, reuse once it is not;
 *   - munmap()/mprotect() split VMAs, merges happen where the kernel merges;
 *   - show_signal_msg()'s "segfault at ... error N" with the x86 error codes (4 no VMA, 6 write to a
 *     read-only VMA, 15 fetch from an NX page);
 *   - exit_mmap() + free of the kernel stack give every page back;
 *   - a random mix of all operations keeps checkTasks() and checkPageAllocator() clean. Seeded: the seed is
 *     printed as a test diagnostic and can be changed with FC_SEED=<n>.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { Machine } from '../../engine/mm/machine';
import { checkPageAllocator } from '../../engine/mm/check';
import {
  PROT_EXEC,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  Task,
  TaskTable,
  checkTasks,
  formatMaps,
  formatStatusMemory,
  isTaskError,
  tasksView,
} from '../../engine/mm/process';
import { PG_ANON, PG_LRU } from '../../engine/mm/frames';

const FC_SEED = Number(process.env.FC_SEED ?? 4242);
const RW = PROT_READ | PROT_WRITE;
const A = 0x400000n;
const P = 4096n;

function boot(arch: 'x86_64' | 'sv39' = 'x86_64', memoryBytes = 64 << 20): Machine {
  const m = Machine.boot({ memoryBytes, cpus: 2, arch });
  assert.ok(m instanceof Machine);
  return m;
}

function spawn(t: TaskTable, comm = 'a.out'): Task {
  const task = t.spawn(comm);
  if (isTaskError(task)) assert.fail(`${task.code}: ${task.message}`);
  return task as Task;
}

/** Pages the user could still get: the buddy free lists plus the per-CPU lists. */
function freePages(m: Machine): number {
  return m.buddy.nrFreePages + m.buddy.nrPcpPages;
}

function clean(m: Machine): void {
  assert.deepEqual(checkTasks(m), []);
  const r = checkPageAllocator(m);
  assert.deepEqual(r.problems, []);
}

function ok(m: Machine, task: Task, va: bigint, kind: 'read' | 'write' | 'exec') {
  const r = m.tasks.access(task, va, kind);
  assert.ok(r.ok, r.ok ? '' : r.message);
  return r;
}

test('spawn: pids from 1, a 16 KiB kernel stack at a 16 KiB boundary, KernelStack counted', () => {
  const m = boot();
  const a = spawn(m.tasks, 'init');
  const b = spawn(m.tasks, 'a-very-long-command-name');
  assert.equal(a.pid, 1);
  assert.equal(b.pid, 2);
  assert.equal(b.comm, 'a-very-long-com'); // TASK_COMM_LEN 16: 15 characters
  assert.equal(a.stack.nrPages, 4);
  assert.equal(a.stack.addr % 16384n, 0n);
  assert.equal(a.stack.caller, 'alloc_thread_stack_node');
  assert.equal(m.tasks.kernelStackPages, 8);
  assert.equal(a.vmas.length, 0);
  clean(m);
});

test('mmap: demand-zero — a read maps the zero page, a write allocates one zeroed anon page', () => {
  const m = boot();
  const t = spawn(m.tasks);
  assert.equal(m.tasks.mmap(t, A, 8192, RW), A);
  const before = freePages(m);
  assert.equal(freePages(m), before, 'mmap allocates nothing');
  const r = ok(m, t, A + 16n, 'read');
  assert.deepEqual(
    r.faults.map((f) => f.outcome),
    ['zero-page'],
  );
  assert.equal(r.phys, m.tasks.zeroPfn * 4096 + 16);
  assert.equal(m.mem.read8(r.phys), 0);
  assert.equal(t.anonRss, 0);
  const afterRead = freePages(m);
  const w = ok(m, t, A + 16n, 'write');
  assert.deepEqual(
    w.faults.map((f) => f.outcome),
    ['cow-copy'],
  );
  assert.equal(w.faults[0]!.errorCode, 0x7); // PROT | WRITE | USER
  assert.equal(freePages(m), afterRead - 1, 'exactly one page');
  const pfn = Math.floor(w.phys / 4096);
  assert.equal(m.frames.flags[pfn]! & (PG_ANON | PG_LRU), PG_ANON | PG_LRU);
  assert.equal(m.mem.read8(w.phys), 0);
  assert.equal(t.anonRss, 1);
  // A first write to an untouched page: do_anonymous_page allocates at once.
  const before2 = freePages(m);
  const w2 = ok(m, t, A + P, 'write');
  assert.deepEqual(
    w2.faults.map((f) => f.outcome),
    ['demand-zero'],
  );
  assert.equal(w2.faults[0]!.errorCode, 0x6); // WRITE | USER, not present
  assert.equal(freePages(m), before2 - 1);
  // Further accesses do not fault.
  assert.equal(ok(m, t, A + P + 8n, 'read').faults.length, 0);
  clean(m);
});

test('fork: child write copies, parent keeps the original, counts right; parent write after child exit reuses', () => {
  const m = boot();
  const parent = spawn(m.tasks);
  m.tasks.mmap(parent, A, 4096, RW);
  const w = ok(m, parent, A, 'write');
  m.mem.write8(w.phys, 0x5a);
  const orig = Math.floor(w.phys / 4096);
  const child = m.tasks.fork(parent);
  assert.ok(!isTaskError(child));
  const c = child as Task;
  assert.equal(c.comm, parent.comm);
  assert.equal(c.pid, 2);
  assert.equal(m.frames.refcount[orig], 2);
  assert.equal(c.anonRss, 1);
  clean(m);
  // Both PTEs are read-only now: the child's write copies.
  const cw = ok(m, c, A, 'write');
  assert.deepEqual(
    cw.faults.map((f) => f.outcome),
    ['cow-copy'],
  );
  const copy = Math.floor(cw.phys / 4096);
  assert.notEqual(copy, orig);
  assert.equal(m.mem.read8(cw.phys), 0x5a, 'the copy has the bytes');
  m.mem.write8(cw.phys, 0x33);
  assert.equal(m.mem.read8(w.phys), 0x5a, 'the parent keeps the original');
  assert.equal(m.frames.refcount[orig], 1);
  assert.equal(m.frames.refcount[copy], 1);
  assert.equal(ok(m, parent, A, 'read').phys, w.phys);
  clean(m);
  // The parent's PTE is still read-only: a write reuses the page (refcount 1), no copy.
  const pw = ok(m, parent, A, 'write');
  assert.deepEqual(
    pw.faults.map((f) => f.outcome),
    ['cow-reuse'],
  );
  assert.equal(pw.phys, w.phys);
  clean(m);
});

test('fork then child exit: the parent write reuses its page (mapcount 1)', () => {
  const m = boot();
  const parent = spawn(m.tasks);
  m.tasks.mmap(parent, A, 4096, RW);
  const w = ok(m, parent, A, 'write');
  const child = m.tasks.fork(parent) as Task;
  assert.equal(m.frames.refcount[w.phys >> 12], 2);
  assert.equal(m.tasks.exit(child), undefined);
  assert.equal(m.frames.refcount[w.phys >> 12], 1);
  // mprotect cannot make it writable (not PageAnonExclusive any more), only the write fault can.
  const pw = ok(m, parent, A, 'write');
  assert.deepEqual(
    pw.faults.map((f) => f.outcome),
    ['cow-reuse'],
  );
  assert.equal(pw.phys, w.phys);
  clean(m);
});

test('munmap and mprotect split VMAs; mprotect back merges; maps lines', () => {
  const m = boot();
  const t = spawn(m.tasks);
  m.tasks.mmap(t, A, 4 * 4096, RW);
  for (let i = 0n; i < 4n; i++) ok(m, t, A + i * P, 'write');
  assert.equal(t.anonRss, 4);
  const free = freePages(m);
  assert.equal(m.tasks.munmap(t, A + P, 4096), undefined);
  assert.deepEqual(
    t.vmas.map((v) => [v.start, v.end]),
    [
      [A, A + P],
      [A + 2n * P, A + 4n * P],
    ],
  );
  assert.equal(t.anonRss, 3);
  assert.equal(freePages(m), free + 1);
  const r = m.tasks.access(t, A + P, 'read');
  assert.ok(!r.ok && r.kind === 'SIGSEGV');
  assert.equal(m.tasks.mprotect(t, A + 2n * P, 4096, PROT_READ), undefined);
  assert.equal(t.vmas.length, 3);
  assert.equal(
    formatMaps(t),
    '00400000-00401000 rw-p 00000000 00:00 0 \n' +
      '00402000-00403000 r--p 00000000 00:00 0 \n' +
      '00403000-00404000 rw-p 00000000 00:00 0 \n',
  );
  const w = m.tasks.access(t, A + 2n * P, 'write');
  assert.ok(!w.ok && w.kind === 'SIGSEGV' && w.errorCode === 0x7);
  assert.equal(m.tasks.mprotect(t, A + 2n * P, 4096, RW), undefined);
  assert.equal(t.vmas.length, 2, 'merged again (same anon_vma)');
  // The exclusive page becomes writable again without a fault (can_change_pte_writable).
  assert.equal(ok(m, t, A + 2n * P, 'write').faults.length, 0);
  assert.equal(m.tasks.mprotect(t, A + P, 4096, PROT_READ)?.code, 'KM4222'); // hole: ENOMEM
  const overlap = m.tasks.mmap(t, A + 3n * P, 8192, RW);
  assert.ok(isTaskError(overlap) && overlap.code === 'KM4221');
  const bad = m.tasks.mmap(t, A + 1n, 4096, RW);
  assert.ok(isTaskError(bad) && bad.code === 'KM4220');
  const status = formatStatusMemory(m.tasks, t);
  assert.match(status, /^VmSize:\t {6}12 kB\nVmRSS:\t {6}12 kB\nRssAnon:\t {6}12 kB\n/);
  const view = tasksView(m);
  assert.equal(view.tasks[0]!.vmas[0]!.perms, 'rw-p');
  assert.equal(view.anonPages, 3);
  clean(m);
});

test('mprotect adding PROT_WRITE leaves a COW-shared page read-only', () => {
  const m = boot();
  const p = spawn(m.tasks);
  m.tasks.mmap(p, A, 4096, RW);
  ok(m, p, A, 'write');
  m.tasks.mprotect(p, A, 4096, PROT_READ);
  const c = m.tasks.fork(p) as Task;
  m.tasks.mprotect(p, A, 4096, RW);
  const w = ok(m, p, A, 'write');
  assert.deepEqual(
    w.faults.map((f) => f.outcome),
    ['cow-copy'],
  );
  assert.equal(c.vmas[0]!.prot, PROT_READ);
  clean(m);
});

test('segfaults: no VMA (error 4/6), write to a read-only VMA (7), fetch from a non-exec VMA (15)', () => {
  const m = boot();
  const t = spawn(m.tasks, 'victim');
  m.cpu = 1;
  const none = m.tasks.access(t, 0x1000n, 'read');
  assert.ok(!none.ok);
  assert.equal(
    none.message,
    'victim[1]: segfault at 1000 ip 0000000000000000 sp 0000000000000000 error 4 likely on CPU 1 (core 1, socket 0)\n',
  );
  assert.equal(none.siCode, 1);
  assert.equal(m.log.at(-1), none.message);
  const nw = m.tasks.access(t, 0x2000n, 'write');
  assert.ok(!nw.ok && nw.errorCode === 6);
  m.tasks.mmap(t, A, 4096, PROT_READ);
  const ro = m.tasks.access(t, A, 'write');
  assert.ok(!ro.ok);
  assert.equal(ro.siCode, 2);
  assert.match(ro.message, / error 6 /); // not present yet: WRITE | USER
  ok(m, t, A, 'read');
  const ro2 = m.tasks.access(t, A, 'write');
  assert.ok(!ro2.ok && ro2.errorCode === 7);
  // x86: the fetch from the not-present page is handled (zero page, NX), the retry faults with PROT|USER|INSTR.
  m.tasks.mmap(t, A + P, 4096, RW);
  const ex = m.tasks.access(t, A + P, 'exec');
  assert.ok(!ex.ok);
  assert.equal(ex.errorCode, 0x15);
  assert.equal(
    ex.message.startsWith(`victim[1]: segfault at 401000 ip 0000000000401000 sp 0000000000000000 error 15`),
    true,
  );
  assert.deepEqual(
    ex.faults.map((f) => f.outcome),
    ['zero-page'],
  );
  m.tasks.mmap(t, A + 2n * P, 4096, PROT_READ | PROT_EXEC);
  assert.equal(ok(m, t, A + 2n * P, 'exec').faults.length, 1);
  m.tasks.mmap(t, A + 3n * P, 4096, PROT_NONE);
  const pn = m.tasks.access(t, A + 3n * P, 'read');
  assert.ok(!pn.ok && pn.errorCode === 4 && pn.siCode === 2);
  clean(m);
});

test('RISC-V: fetch from a non-exec VMA is refused at once (access_error checks VM_EXEC)', () => {
  const m = boot('sv39');
  const t = spawn(m.tasks, 'rv');
  m.tasks.mmap(t, A, 4096, RW);
  const ex = m.tasks.access(t, A, 'exec');
  assert.ok(!ex.ok);
  assert.equal(ex.faults.length, 0);
  assert.equal(ex.message, 'rv[1]: unhandled signal 11 code 0x2 at 0x0000000000400000\n');
  const w = ok(m, t, A, 'write');
  assert.equal(m.mem.read8(w.phys), 0);
  const c = m.tasks.fork(t) as Task;
  assert.deepEqual(
    ok(m, c, A, 'write').faults.map((f) => f.outcome),
    ['cow-copy'],
  );
  clean(m);
});

test('exit frees everything: free pages return to the value before spawn', () => {
  const m = boot();
  // Warm up: the kernel page tables for the vmalloc area stay after vfree, as in the kernel.
  m.tasks.exit(spawn(m.tasks));
  m.drainAllPages();
  const before = freePages(m);
  const ptBefore = m.pageTablePages;
  const p = spawn(m.tasks);
  m.tasks.mmap(p, A, 64 * 4096, RW);
  m.tasks.mmap(p, 0x7f0000000000n, 4096, RW);
  for (let i = 0n; i < 64n; i += 3n) ok(m, p, A + i * P, i % 2n ? 'write' : 'read');
  ok(m, p, 0x7f0000000000n, 'write');
  const c = m.tasks.fork(p) as Task;
  ok(m, c, A, 'write');
  const g = m.tasks.fork(c) as Task;
  ok(m, g, A + 3n * P, 'write');
  assert.ok(freePages(m) < before);
  clean(m);
  for (const t of [c, p, g]) assert.equal(m.tasks.exit(t), undefined);
  assert.equal(m.tasks.exit(p)?.code, 'KM4223');
  m.drainAllPages();
  assert.equal(freePages(m), before);
  assert.equal(m.pageTablePages, ptBefore);
  assert.equal(m.tasks.kernelStackPages, 0);
  assert.equal(m.tasks.rmap.size, 0);
  assert.equal(spawn(m.tasks).pid, 5, 'pids are not reused');
  clean(m);
});

test('OOM: oom_badness, victim selection (init is exempt, ties go to the newer), oomKill numbers', () => {
  const m = boot();
  const init = spawn(m.tasks, 'init');
  const a = spawn(m.tasks, 'small');
  const b = spawn(m.tasks, 'big');
  for (const t of [init, a, b]) m.tasks.mmap(t, A, 32 * 4096, RW);
  for (let i = 0n; i < 32n; i++) ok(m, init, A + i * P, 'write');
  for (let i = 0n; i < 2n; i++) ok(m, a, A + i * P, 'write');
  for (let i = 0n; i < 10n; i++) ok(m, b, A + i * P, 'write');
  assert.equal(m.tasks.oomBadness(init), -Infinity);
  // 10 pages + PTE, PMD and PUD tables (the pgd is not in mm_pgtables_bytes).
  assert.equal(m.tasks.oomBadness(b), 13);
  assert.equal(m.tasks.selectOomVictim(), b);
  const info = m.tasks.oomKill(b);
  assert.deepEqual(info, { pid: 3, comm: 'big', totalVmKb: 128, anonRssKb: 40, pgtablesKb: 12 });
  assert.equal(b.alive, false);
  const c = spawn(m.tasks, 'twin');
  m.tasks.mmap(c, A, 4096, RW);
  for (let i = 0n; i < 1n; i++) ok(m, c, A + i * P, 'write');
  ok(m, c, A, 'write');
  m.tasks.mmap(c, A + P, 4096, RW);
  ok(m, c, A + P, 'write');
  assert.equal(m.tasks.oomBadness(c), m.tasks.oomBadness(a));
  assert.equal(m.tasks.selectOomVictim(), c, 'equal points: the later task wins');
  clean(m);
});

test('property: random spawn/fork/mmap/munmap/mprotect/access/exit keep every invariant', (t) => {
  t.diagnostic(`fast-check seed ${FC_SEED}`);
  const op = fc.oneof(
    fc.record({ kind: fc.constant('spawn' as const) }),
    fc.record({ kind: fc.constant('fork' as const), who: fc.nat() }),
    fc.record({ kind: fc.constant('exit' as const), who: fc.nat() }),
    fc.record({
      kind: fc.constantFrom('mmap' as const, 'munmap' as const, 'mprotect' as const),
      who: fc.nat(),
      page: fc.integer({ min: 0, max: 40 }),
      pages: fc.integer({ min: 1, max: 12 }),
      prot: fc.integer({ min: 0, max: 7 }),
    }),
    fc.record({
      kind: fc.constant('access' as const),
      who: fc.nat(),
      page: fc.integer({ min: 0, max: 52 }),
      how: fc.constantFrom('read' as const, 'write' as const, 'write' as const, 'exec' as const),
    }),
  );
  fc.assert(
    fc.property(fc.constantFrom('x86_64' as const, 'sv39' as const), fc.array(op, { maxLength: 60 }), (arch, ops) => {
      const m = boot(arch, 32 << 20);
      const live = (): Task[] => [...m.tasks.tasks.values()];
      spawn(m.tasks);
      for (const o of ops) {
        const tasks = live();
        const task = tasks.length ? tasks[('who' in o ? o.who : 0) % tasks.length] : undefined;
        switch (o.kind) {
          case 'spawn':
            m.tasks.spawn('p');
            break;
          case 'fork':
            if (task) m.tasks.fork(task);
            break;
          case 'exit':
            if (task) m.tasks.exit(task);
            break;
          case 'mmap':
            if (task) m.tasks.mmap(task, A + BigInt(o.page) * P, o.pages * 4096, o.prot);
            break;
          case 'munmap':
            if (task) m.tasks.munmap(task, A + BigInt(o.page) * P, o.pages * 4096);
            break;
          case 'mprotect':
            if (task) m.tasks.mprotect(task, A + BigInt(o.page) * P, o.pages * 4096, o.prot);
            break;
          case 'access':
            if (task) {
              const r = m.tasks.access(task, A + BigInt(o.page) * P, o.how);
              if (r.ok && o.how === 'write') m.mem.write8(r.phys, o.page);
            }
            break;
        }
        assert.deepEqual(checkTasks(m), [], JSON.stringify(o));
        assert.deepEqual(checkPageAllocator(m).problems, [], JSON.stringify(o));
      }
      for (const task of live()) m.tasks.exit(task);
      assert.equal(m.tasks.rmap.size, 0);
      assert.equal(m.tasks.kernelStackPages, 0);
      assert.deepEqual(checkPageAllocator(m).problems, []);
    }),
    { seed: FC_SEED, numRuns: 30 },
  );
});
