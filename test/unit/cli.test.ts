/*
 * The `kmem` command line through main(argv, io) with a fake io: exit codes of run, check and boot, what goes
 * to stdout and stderr, and the kernel log (a page allocation failure) and the Bad page state report that
 * `kmem run` prints to stderr.
 */

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, Io, main } from '../../extension/cli/main';

function cli(argv: string[], files: Record<string, string> = {}): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const io: Io = {
    out: (t) => (out += t),
    err: (t) => (err += t),
    readFile: (p) => {
      const text = files[p];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
      return text;
    },
  };
  const code = main(argv, io);
  return { code, out, err };
}

describe('include and --root', () => {
  const files = {
    'main.kmem': 'include "lib/pools.kmem"\nlet pool = []\nfill(pool, 2)\nprint length(pool)\n',
    [resolve('lib/pools.kmem')]: 'proc fill(pool, n) {\n  repeat n {\n    push pool, kmalloc(64, GFP_KERNEL)\n  }\n}\n',
  };

  test('run and check read included files under the current directory', () => {
    const r = cli(['run', 'main.kmem'], files);
    assert.equal(r.code, EXIT_OK, r.err);
    assert.match(r.out, /^2\n/);
    assert.equal(cli(['check', 'main.kmem'], files).code, EXIT_OK);
  });

  test('--root bounds the workspace: an include that leaves it is KM2030', () => {
    const r = cli(['check', '--root', resolve('elsewhere'), 'main.kmem'], files);
    assert.equal(r.code, EXIT_USAGE);
    assert.match(r.out, /^main\.kmem:1:9: error KM2030: 'lib\/pools\.kmem' is outside the workspace/);
    assert.equal(cli(['run', '--root', resolve('elsewhere'), 'main.kmem'], files).code, EXIT_USAGE);
  });

  test('--root belongs to run and check; --check to fmt', () => {
    assert.match(cli(['fmt', '--root', '.', 'main.kmem'], files).err, /--root applies to kmem run and kmem check/);
    assert.match(cli(['check', '--check', 'main.kmem'], files).err, /--check applies to kmem fmt/);
    assert.match(cli(['boot', '--root', '.'], files).err, /--root applies to kmem run and kmem check/);
  });
});

describe('kmem run', () => {
  test('a clean scenario: exit 0, the summary on stdout, nothing on stderr', () => {
    const r = cli(['run', 'ok.kmem'], { 'ok.kmem': 'let p = kmalloc(64, GFP_KERNEL)\nkfree(p)\n' });
    assert.equal(r.code, EXIT_OK);
    assert.equal(r.err, '');
    // 256M manages 62203 pages (65536 less the low 1 MiB, the 8 MiB kernel image, 5 boot page-table pages and
    // the 4 MiB memmap). The slab page came with a per-CPU refill of 15 pages (DMA32's batch), which are not
    // free pages (NR_FREE_PAGES): 62203 - 15 = 62188; the empty slab stays (fewer than min_partial).
    assert.equal(
      r.out,
      'ok.kmem: finished after 2 statements, 4 events\n' +
        'machine: 256M, 2 CPUs, 62188 of 65536 pages free, 1 in slabs\n' +
        'events: page_alloc 1, slab_new 1, kmalloc 1, kfree 1\n' +
        '  kmalloc-64          0 live      64/64     objs  1 slab of 1 page\n',
    );
  });

  test('a failing alloc_pages prints the kernel warning to stderr and is no error', () => {
    // 16M has one 4 MiB block (8..12 MiB, between the kernel image and the page tables): the second request
    // fails. Order 10 is costly: NULL and warn_alloc, no OOM killer. What is left, all in Movable page blocks:
    // 256..511 (order 8), 1536 (9), 3072 (9), 3584 (8), 3840 (7), 3968 (5), 4000 (4), 4016 (3), 4024 (1), 4026
    // (0) = 1723 pages = 6892 kB.
    const source = 'machine { memory 16M }\nrepeat 2 {\n  let b = alloc_pages(10, GFP_KERNEL)\n}\n';
    const r = cli(['run', 'fail.kmem'], { 'fail.kmem': source });
    assert.equal(r.code, EXIT_OK);
    assert.equal(
      r.err,
      'kmem: page allocation failure: order:10, mode:0xcc0(GFP_KERNEL), nodemask=(null)\n' +
        'Node 0 DMA: 1*4kB (M) 1*8kB (M) 0*16kB 1*32kB (M) 1*64kB (M) 1*128kB (M) 0*256kB 1*512kB (M) 2*1024kB (M) ' +
        '2*2048kB (M) 0*4096kB = 6892kB\n',
    );
    assert.match(r.out, /\nevents: page_alloc 1, compaction 1, page_alloc_fail 1\n/);
  });

  test('a double free_pages: exit 1, the diagnostic and the Bad page state report on stderr', () => {
    const source = 'machine { memory 16M }\nlet p = alloc_pages(3, GFP_KERNEL)\nfree_pages(p, 3)\nfree_pages(p, 3)\n';
    const r = cli(['run', 'df.kmem'], { 'df.kmem': source });
    assert.equal(r.code, EXIT_FINDINGS);
    assert.match(r.out, /^df\.kmem: stopped on an error after 3 statements, 2 events\n/);
    // p is unmovable (GFP_KERNEL): no Unmovable page block at boot, so __rmqueue_fallback claims the largest
    // Movable block, the 4 MiB at pfn 0x800, and p is its first order-3 block. Freed, it waits on CPU 0's
    // per-CPU list (order 3 is cached), where the second free finds it.
    assert.equal(
      r.err,
      'df.kmem:4:1: error KM4005: BUG: Bad page state in process kmem  pfn:00800\n' +
        'BUG: Bad page state in process kmem  pfn:00800\n' +
        'page dumped because: VM_BUG_ON_PAGE(page_ref_count(page) == 0)\n' +
        "kmem: pfn 0x800 is already free (cached on CPU 0's per-CPU page list): double free\n",
    );
  });

  test('other runtime errors exit 1; a scenario that does not compile exits 2; usage errors exit 2', () => {
    assert.equal(cli(['run', 'k.kmem'], { 'k.kmem': 'let p = kmalloc(8, GFP_KERNEL)\nkfree(p)\nkfree(p)\n' }).code, 1);
    const broken = cli(['run', 'b.kmem'], { 'b.kmem': 'let p = alloc_pages(3)\n' });
    assert.equal(broken.code, EXIT_USAGE);
    assert.match(broken.err, /^b\.kmem:1:9: error KM2004: alloc_pages takes 2 arguments/);
    assert.equal(cli(['run']).code, EXIT_USAGE);
    assert.equal(cli(['run', 'missing.kmem']).code, EXIT_USAGE);
    assert.match(cli(['run', 'missing.kmem']).err, /^kmem: cannot read missing\.kmem: ENOENT\n/);
    assert.equal(cli(['run', 'x.kmem', '--cpus', '0'], { 'x.kmem': '' }).code, EXIT_USAGE);
    assert.equal(cli(['frobnicate']).code, EXIT_USAGE);
    assert.equal(cli([]).code, EXIT_USAGE);
    assert.equal(cli(['--help']).code, EXIT_OK);
  });

  test('--max-steps stops a loop that never ends with KM4100 (exit 1); bad values are usage errors', () => {
    const files = { 'loop.kmem': 'let n = 0\nwhile 1 {\n  n = n + 1\n}\n' };
    const r = cli(['run', 'loop.kmem', '--max-steps', '1000'], files);
    assert.equal(r.code, EXIT_FINDINGS);
    assert.match(r.out, /^loop\.kmem: stopped on an error after 1000 statements, 0 events\n/);
    assert.match(r.err, /^loop\.kmem:3:3: error KM4100: statement limit reached: 1000 statements ran\n/);
    for (const bad of ['0', '-5', '1.5', 'lots']) {
      const u = cli(['run', 'loop.kmem', `--max-steps=${bad}`], files);
      assert.equal(u.code, EXIT_USAGE, bad);
      assert.match(u.err, /--max-steps takes a whole number of statements from 1 up/);
    }
    assert.equal(cli(['boot', '--max-steps', '5']).code, EXIT_USAGE);
  });

  test('--proc prints /proc files of the final machine', () => {
    const r = cli(['run', 'p.kmem', '--proc', 'buddyinfo'], { 'p.kmem': 'machine { memory 16M }\n' });
    assert.equal(r.code, EXIT_OK);
    assert.match(r.out, /\nNode 0, zone +DMA +1 +1 +0 +1 +1 +1 +0 +1 +2 +2 +1 \n$/);
  });
});

describe('kmem check and kmem boot', () => {
  test('check: diagnostics on stdout, exit 2 on errors, 0 when clean', () => {
    const files = { 'good.kmem': 'let p = get_zeroed_page(GFP_KERNEL)\n', 'bad.kmem': 'free_pages(1)\n' };
    assert.deepEqual(cli(['check', 'good.kmem'], files), { code: EXIT_OK, out: '', err: '' });
    const bad = cli(['check', 'good.kmem', 'bad.kmem'], files);
    assert.equal(bad.code, EXIT_USAGE);
    assert.match(bad.out, /^bad\.kmem:1:1: error KM2004: free_pages takes 2 arguments \(ptr, order\), not 1\n$/);
    assert.equal(cli(['check']).code, EXIT_USAGE);
  });

  test('boot: /proc files of a fresh machine; bad machines exit 2', () => {
    const r = cli(['boot', '--memory', '16M', '--proc', 'buddyinfo']);
    assert.equal(r.code, EXIT_OK);
    // 16M: free 256..511 and 1536..4026 (the image at 2 MiB, 5 page-table pages and the memmap at the top).
    assert.equal(
      r.out,
      'Node 0, zone      DMA      1      1      0      1      1      1      0      1      2      2      1 \n',
    );
    const both = cli(['boot']);
    assert.equal(both.code, EXIT_OK);
    assert.match(both.out, /^==> \/proc\/slabinfo <==\nslabinfo - version: 2\.1\n/);
    assert.equal(cli(['boot', '--memory', '8M']).code, EXIT_USAGE);
    assert.match(cli(['boot', '--memory', '8M']).err, /error KM3001/);
    assert.equal(cli(['boot', '--memory', 'lots']).code, EXIT_USAGE);
    assert.equal(cli(['boot', 'extra']).code, EXIT_USAGE);
  });

  test('boot --proc zoneinfo|meminfo: watermarks and meminfo of a fresh machine; run --proc too', () => {
    const z = cli(['boot', '--proc', 'zoneinfo']);
    assert.equal(z.code, EXIT_OK);
    // 256M: min_free_kbytes 1995, DMA min 30 low 37 high 44 promo 51, lowmem_reserve 58363 / 256 = 227 (see
    // watermarks.test.ts).
    assert.match(
      z.out,
      /^Node 0, zone {6}DMA\n {2}pages free {5}3840\n {8}boost {4}0\n {8}min {6}30\n {8}low {6}37\n {8}high {5}44\n {8}promo {4}51\n/,
    );
    assert.match(z.out, /\n {8}protection: \(0, 227, 227, 227\)\n/);
    assert.match(z.out, /Node 0, zone {2}Movable\n/);
    const m = cli(['boot', '--proc', 'meminfo']);
    assert.equal(m.code, EXIT_OK);
    assert.match(m.out, /^MemTotal: {9}248812 kB\nMemFree: {10}248812 kB\nMemAvailable: {5}244932 kB\n/);
    const all = cli(['boot']);
    assert.deepEqual(
      all.out.split('\n').filter((l) => l.startsWith('==> ')),
      [
        '==> /proc/slabinfo <==',
        '==> /proc/buddyinfo <==',
        '==> /proc/pagetypeinfo <==',
        '==> /proc/zoneinfo <==',
        '==> /proc/meminfo <==',
        '==> /proc/vmallocinfo <==',
        '==> /proc/modules <==',
      ],
    );
    const r = cli(['run', 'p.kmem', '--proc', 'meminfo'], { 'p.kmem': 'let p = kmalloc(64, GFP_KERNEL)\n' });
    assert.equal(r.code, EXIT_OK);
    assert.match(r.out, /\nSlab: {18}4 kB\n/);
    const bad = cli(['boot', '--proc', 'vmstat']);
    assert.equal(bad.code, EXIT_USAGE);
    assert.match(
      bad.err,
      /--proc takes slabinfo, buddyinfo, pagetypeinfo, zoneinfo, meminfo, vmallocinfo or modules, not 'vmstat'/,
    );
  });
});

describe('the bundled examples', () => {
  const dir = join(__dirname, '..', '..', 'examples');
  const examples = readdirSync(dir).filter((f) => f.endsWith('.kmem'));

  test('there are examples to run', () => {
    assert.ok(examples.length >= 2, examples.join(', '));
  });

  for (const name of examples) {
    const text = readFileSync(join(dir, name), 'utf8');
    // An example that ends in a kernel error says so: "# expect error KM4012"; one that shows detector
    // reports says how many: "# expect slub_debug reports 3".
    const expected = /^# expect error (KM\d{4})$/m.exec(text)?.[1];
    const reports = /^# expect slub_debug reports (\d+)$/m.exec(text)?.[1];
    const outcome = expected ? `stops on ${expected}` : reports ? `reports ${reports} bugs` : 'finishes with exit 0';
    test(`${name}: check is clean and run ${outcome}`, () => {
      const files = { [name]: text };
      const checked = cli(['check', name], files);
      assert.equal(checked.out, '');
      assert.equal(checked.code, EXIT_OK);
      const ran = cli(['run', name], files);
      if (reports) {
        assert.equal(ran.code, EXIT_FINDINGS, ran.err);
        assert.match(ran.out, new RegExp(`^${name.replace('.', '\\.')}: finished after \\d+ statements`, 'm'));
        assert.equal(ran.err.match(/^BUG /gm)?.length, Number(reports), ran.err);
        assert.match(ran.err, new RegExp(`SLUB debugging reported ${reports} bugs`));
        return;
      }
      if (expected) {
        assert.equal(ran.code, EXIT_FINDINGS, ran.err);
        assert.match(ran.err, new RegExp(`^${name.replace('.', '\\.')}:\\d+:\\d+: error ${expected}: `, 'm'));
        return;
      }
      assert.equal(ran.code, EXIT_OK, ran.err);
      assert.match(ran.out, new RegExp(`^${name.replace('.', '\\.')}: finished after \\d+ statements`, 'm'));
    });
  }
});

describe('kmem run --json (schema kmem-run/1, docs/cli.md)', () => {
  test('a clean run: one JSON document on stdout, nothing on stderr, exit 0', () => {
    const files = { 'a.kmem': 'let p = kmalloc(100, GFP_KERNEL)\nprint "p", p\nkfree(p)\n' };
    const r = cli(['run', 'a.kmem', '--json', '--proc', 'buddyinfo'], files);
    assert.equal(r.code, EXIT_OK);
    assert.equal(r.err, '');
    const doc = JSON.parse(r.out);
    assert.equal(doc.schema, 'kmem-run/1');
    assert.equal(doc.status, 'finished');
    assert.equal(doc.exitCode, 0);
    assert.equal(doc.statements, 3);
    assert.deepEqual(doc.events.byKind, { page_alloc: 1, slab_new: 1, kmalloc: 1, kfree: 1 });
    assert.deepEqual(doc.reports, []);
    assert.deepEqual(doc.output, ['p 0xffff888001800000\n']);
    assert.equal(doc.machine.memoryBytes, 256 * 1024 * 1024);
    assert.equal(doc.views.slabinfo[0].name, 'kmalloc-128');
    assert.match(doc.views.files['/proc/buddyinfo'], /^Node 0, zone {6}DMA/);
  });

  test('reports and errors: kinds, counts, the error with its position; exit codes as in text mode', () => {
    const files = {
      'bug.kmem': 'machine { kasan y }\nlet p = kmalloc(8, GFP_KERNEL)\nwrite8(p + 8, 1)\nkfree(p)\nkfree(p + 1)\n',
      'err.kmem': 'let p = kmalloc(8, GFP_KERNEL)\nkfree(p)\nkfree(p)\n',
      'bad.kmem': 'let = 3\n',
    };
    const bug = cli(['run', 'bug.kmem', '--json'], files);
    assert.equal(bug.code, EXIT_FINDINGS);
    const doc = JSON.parse(bug.out);
    assert.deepEqual(
      doc.reports.map((x: { kind: string; what: string; line: number }) => [x.kind, x.what, x.line]),
      [
        ['kasan', 'slab-out-of-bounds', 3],
        ['kasan', 'invalid-free', 5],
      ],
    );
    assert.deepEqual(doc.reportCounts.kasan, { made: 2, expected: 0 });
    assert.match(doc.log.join(''), /BUG: KASAN: slab-out-of-bounds/);
    const err = JSON.parse(cli(['run', 'err.kmem', '--json'], files).out);
    assert.equal(err.status, 'error');
    assert.deepEqual([err.error.code, err.error.line], ['KM4002', 3]);
    const bad = cli(['run', 'bad.kmem', '--json'], files);
    assert.equal(bad.code, EXIT_USAGE);
    const invalid = JSON.parse(bad.out);
    assert.equal(invalid.status, 'invalid');
    assert.equal(invalid.diagnostics[0].line, 1);
    assert.match(invalid.diagnostics[0].code, /^KM1/);
  });
});

describe('the progress line of a long run', () => {
  const files = { 'long.kmem': 'let n = 0\nrepeat 600000 {\n  n = n + 1\n}\nprint "done", n\n' };
  const runWith = (errIsTty: boolean) => {
    let out = '';
    let err = '';
    let clock = 0;
    const io: Io = {
      out: (t) => (out += t),
      err: (t) => (err += t),
      readFile: (p) => files[p as keyof typeof files]!,
      errIsTty,
      now: () => (clock += 400),
    };
    return { code: main(['run', 'long.kmem'], io), out, err };
  };

  test('on a terminal: redrawn in place on stderr, erased at the end; stdout untouched', () => {
    const r = runWith(true);
    assert.equal(r.code, EXIT_OK);
    const ERASE = '\r\x1b[K'; // carriage return, then erase to the end of the line
    assert.ok(r.err.startsWith(`${ERASE}kmem: `), JSON.stringify(r.err.slice(0, 40)));
    assert.match(r.err, /kmem: [\d,]+ statements, \d+ events, line [23], [\d.]+ s/);
    assert.ok(r.err.endsWith('\r\x1b[K'), JSON.stringify(r.err.slice(-40)));
    assert.match(r.out, /^done 600000\n/);
  });

  test('not a terminal (a pipe, CI): no progress line at all', () => {
    assert.equal(runWith(false).err, '');
  });
});

describe('kmem run --report FILE.html', () => {
  const runReport = (files: Record<string, string>, argv: string[]) => {
    const written: Record<string, string> = {};
    let out = '';
    let err = '';
    const io: Io = {
      out: (t) => (out += t),
      err: (t) => (err += t),
      readFile: (p) => files[p]!,
      writeFile: (p, t) => (written[p] = t),
    };
    return { code: main(argv, io), out, err, written };
  };

  test('a self-contained page: verdict, reports, the marked source line, escaped text; text output as usual', () => {
    const files = {
      'b.kmem': 'machine { kasan y }\nlet p = kmalloc(8, GFP_KERNEL)\nwrite8(p + 8, 1)  # <oops> & "more"\n',
    };
    const r = runReport(files, ['run', 'b.kmem', '--report', 'out.html']);
    assert.equal(r.code, EXIT_FINDINGS);
    assert.match(r.out, /^b\.kmem: finished after 2 statements/m);
    const html = r.written['out.html']!;
    assert.match(html, /^<!DOCTYPE html>/);
    assert.doesNotMatch(html, /<script|https?:\/\//);
    assert.match(html, /<span class="verdict findings">findings \(exit 1\)<\/span>/);
    assert.match(html, /<td>kasan<\/td><td>slab-out-of-bounds<\/td>/);
    assert.match(html, /<span class="hit">write8\(p \+ 8, 1\) {2}# &#60;oops&#62; &#38; &#34;more&#34;<\/span>/);
    assert.match(html, /BUG: KASAN: slab-out-of-bounds in line_3/);
  });

  test('an invalid scenario still gets its page (the diagnostics), exit 2; an unwritable path is exit 2', () => {
    const bad = runReport({ 'x.kmem': 'let = 1\n' }, ['run', 'x.kmem', '--report', 'x.html']);
    assert.equal(bad.code, EXIT_USAGE);
    assert.match(bad.written['x.html']!, /does not compile \(exit 2\)/);
    let err = '';
    const code = main(['run', 'y.kmem', '--report', 'y.html'], {
      out: () => {},
      err: (t) => (err += t),
      readFile: () => 'let a = 1\n',
      writeFile: () => {
        throw new Error('EACCES: permission denied');
      },
    });
    assert.equal(code, EXIT_USAGE);
    assert.match(err, /cannot write the report y\.html: EACCES/);
  });
});

describe('kmem fmt', () => {
  test('rewrites what is not canonical, leaves the rest; --check only names and exits 1; syntax errors exit 2', () => {
    const files: Record<string, string> = {
      'messy.kmem': 'let a=1;let b =  a+2\nif a==1 {\nprint "x",b   # why\n}\n',
      'tidy.kmem': 'let a = 1\n',
      'broken.kmem': 'let = 1\n',
    };
    const written: Record<string, string> = {};
    let out = '';
    let err = '';
    const io: Io = {
      out: (t) => (out += t),
      err: (t) => (err += t),
      readFile: (p) => files[p]!,
      writeFile: (p, t) => (written[p] = t),
    };
    assert.equal(main(['fmt', '--check', 'messy.kmem', 'tidy.kmem'], io), EXIT_FINDINGS);
    assert.equal(out, 'messy.kmem\n');
    assert.deepEqual(written, {});
    out = '';
    assert.equal(main(['fmt', 'messy.kmem', 'tidy.kmem'], io), EXIT_OK);
    assert.equal(out, 'formatted messy.kmem\n');
    assert.deepEqual(written, { 'messy.kmem': 'let a = 1\nlet b = a + 2\nif a == 1 {\n  print "x", b  # why\n}\n' });
    assert.equal(main(['fmt', 'broken.kmem'], io), EXIT_USAGE);
    assert.match(err, /^broken\.kmem:1:5: error KM1/m);
    assert.equal(main(['fmt'], io), EXIT_USAGE);
  });

  test('the bundled examples are canonical', () => {
    const dir = join(__dirname, '..', '..', 'examples');
    const names = readdirSync(dir).filter((f) => f.endsWith('.kmem'));
    const files = Object.fromEntries(names.map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
    const r = cli(['fmt', '--check', ...names], files);
    assert.equal(r.code, EXIT_OK, r.out + r.err);
  });
});
