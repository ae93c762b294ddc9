/*
 * Kmemleak (engine/mm/kmemleak.ts) against Linux 6.12's mm/kmemleak.c:
 *   kmemleak_scan()        reset to white, roots, scan_gray_list(), the checksum pass, the reporting loop and
 *                          its pr_info() summary;
 *   scan_block()           aligned words with ptr + 8 <= end, self references ignored, excess_ref forwarding;
 *   lookup_object()        pointer <= ptr < pointer + size (alias 1), exact start (alias 0);
 *   update_checksum()      crc32(0, object, size) = lib/crc32.c crc32_le without inversion;
 *   print_unreferenced()   and hex_dump_object() (lib/hexdump.c hex_dump_to_buffer(), rowsize 16, groupsize 1).
 * The golden reports are real kmemleak output quoted in kernel commit logs and mailing list threads (below).
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import {
  HEX_MAX_LINES,
  HEX_ROW_SIZE,
  KMEMLEAK_BLACK,
  KMEMLEAK_GREY,
  KmemleakIndex,
  MAX_SCAN_SIZE,
  crc32Le,
  formatHexDump,
  formatKmemleakFile,
  formatScanSummary,
  formatUnreferenced,
  jiffiesMinAge,
  kmemleakChecksum,
  kmemleakColor,
  kmemleakHexDumpLine,
  kmemleakScan,
  msecsToJiffies,
  withScanState,
  type KmemleakMemory,
  type KmemleakObject,
  type KmemleakRoot,
  type KmemleakScanOptions,
  type KmemleakScanResult,
} from '../../engine/mm/kmemleak';

const BASE = 0xffff888100000000n;

/** A flat, readable window of kernel memory at BASE; anything outside it is unreadable. */
class FlatMemory implements KmemleakMemory {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  reads = 0;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  readBytes(addr: bigint, len: number): Uint8Array | undefined {
    this.reads++;
    const off = addr - BASE;
    if (off < 0n || off + BigInt(len) > BigInt(this.bytes.length)) return undefined;
    return this.bytes.subarray(Number(off), Number(off) + len);
  }
  put64(addr: bigint, value: bigint): void {
    this.view.setBigUint64(Number(addr - BASE), value, true);
  }
  fill(addr: bigint, len: number, byte: number): void {
    this.bytes.fill(byte, Number(addr - BASE), Number(addr - BASE) + len);
  }
}

const hexBytes = (s: string): Uint8Array => Uint8Array.from(s.trim().split(/\s+/), (x) => parseInt(x, 16));
const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

function obj(pointer: bigint, size: number, extra: Partial<KmemleakObject> = {}): KmemleakObject {
  return { pointer, size, minCount: 1, comm: 'kmem', pid: 1, jiffies: 0, trace: ['kmalloc_trace+0x1/0x2'], ...extra };
}

/** Scans at `now` (default: long after every allocation). */
function scan(
  objects: readonly KmemleakObject[],
  roots: readonly KmemleakRoot[],
  mem: KmemleakMemory,
  opts: Partial<KmemleakScanOptions> = {},
): KmemleakScanResult {
  return kmemleakScan(objects, roots, mem, { now: 100_000, ...opts });
}

const ROOT = BASE + 0x10000n; // a 256-byte root area (a task stack, say)
const rootArea: KmemleakRoot = { start: ROOT, size: 256 };

/* ------------------------------------------------------------------------------------------------------ */
/* crc32                                                                                                  */
/* ------------------------------------------------------------------------------------------------------ */

test('crc32 is lib/crc32.c crc32_le: seed 0 and no final xor, so not the zlib check value', () => {
  const check = ascii('123456789');
  // The kernel's crc32(0, "123456789", 9): crc32_le does no pre- or post-inversion.
  assert.equal(crc32Le(0, check), 0x2dfd2d88);
  // The same table gives the standard (zlib) CRC-32 when the caller inverts around it.
  assert.equal((crc32Le(0xffffffff, check) ^ 0xffffffff) >>> 0, 0xcbf43926);
  // An all-zero object checksums to 0: "backtrace (crc 0):" in the tap report below.
  assert.equal(kmemleakChecksum(new Uint8Array(8)), 0);
  assert.equal(kmemleakChecksum(new Uint8Array(0)), 0);
  // Chaining: crc32_le(crc32_le(0, a), b) == crc32_le(0, a ++ b).
  assert.equal(crc32Le(crc32Le(0, check.subarray(0, 4)), check.subarray(4)), 0x2dfd2d88);
});

test('crc32 of real leaked 32-byte objects equals the crc their reports print', () => {
  // Objects of exactly 32 bytes, so the hex dump shows all the bytes update_checksum() hashed.
  // Eric Biggers' crypto/krb5 selftest leak (upstream b19f1ab8d5bf, 6.16-stable review).
  const krb5 = hexBytes(
    '9d 18 86 16 f6 38 52 fe 86 91 5b b8 40 b4 a8 86 ff 3e 6b b0 f8 19 b4 9b 89 33 93 d3 93 85 42 95',
  );
  assert.equal(kmemleakChecksum(krb5), 0x8ba12f3b);
  // Yi Zhang's blktests nvme/rdma reports (sgl_alloc_order leak, linux-nvme, 2026).
  const sgl1 = hexBytes(
    '02 81 aa 09 00 ea ff ff 00 00 00 00 00 10 00 00 00 40 a0 6a 82 88 ff ff 00 10 00 00 00 00 00 00',
  );
  const sgl2 = hexBytes(
    '02 2b 82 0b 00 ea ff ff 00 00 00 00 00 10 00 00 00 c0 8a e0 82 88 ff ff 00 10 00 00 00 00 00 00',
  );
  assert.equal(kmemleakChecksum(sgl1), 0xe5de3e0c);
  assert.equal(kmemleakChecksum(sgl2), 0x42d20147);
});

/* ------------------------------------------------------------------------------------------------------ */
/* Report format                                                                                          */
/* ------------------------------------------------------------------------------------------------------ */

test('hex_dump_to_buffer rows: two spaces before the text of a full row, column 49 for a short one', () => {
  assert.equal(
    kmemleakHexDumpLine(hexBytes('00 00 03 00 00 00 00 00 00 00 00 00 00 00 00 00')),
    '00 00 03 00 00 00 00 00 00 00 00 00 00 00 00 00  ................',
  );
  // Space (0x20) is printable; bytes >= 0x7f are not (isascii && isprint). From Jared Kangas' XArray
  // kmemleak false positive report (xas_shrink(), linux-kernel, May 2025).
  assert.equal(
    kmemleakHexDumpLine(hexBytes('d8 e7 0a 8b 00 80 ff ff 20 ed 05 c1 00 00 ff ff')),
    'd8 e7 0a 8b 00 80 ff ff 20 ed 05 c1 00 00 ff ff  ........ .......',
  );
  assert.equal(kmemleakHexDumpLine(new Uint8Array(8)), '00 00 00 00 00 00 00 00' + ' '.repeat(26) + '........');
  assert.equal(kmemleakHexDumpLine(ascii('ab~\x7f')), '61 62 7e 7f' + ' '.repeat(38) + 'ab~.');
  // At most HEX_MAX_LINES rows of HEX_ROW_SIZE: "first %zu bytes" is min(size, 32).
  assert.equal(HEX_MAX_LINES * HEX_ROW_SIZE, 32);
  assert.deepEqual(formatHexDump(1024, new Uint8Array(40)).length, 3);
  assert.equal(formatHexDump(1024, new Uint8Array(40))[0], '  hex dump (first 32 bytes):');
  assert.deepEqual(formatHexDump(0, new Uint8Array(0)), ['  hex dump (first 0 bytes):']);
});

test('print_unreferenced: a real 6.x report, stack entries as "    %pS" (6.12.9 and later)', () => {
  // Quoted in upstream commit b19f1ab8d5bf (Eric Biggers: crypto/krb5 selftest leak), as posted for the
  // 6.16-stable review; its mm/kmemleak.c prints stack entries as in 6.12.9+ (after cddc76b16516).
  const expected = [
    'unreferenced object 0xffff8880093bf7a0 (size 32):',
    '  comm "swapper/0", pid 1, jiffies 4294877529',
    '  hex dump (first 32 bytes):',
    '    9d 18 86 16 f6 38 52 fe 86 91 5b b8 40 b4 a8 86  .....8R...[.@...',
    '    ff 3e 6b b0 f8 19 b4 9b 89 33 93 d3 93 85 42 95  .>k......3....B.',
    '  backtrace (crc 8ba12f3b):',
    '    kmemleak_alloc+0x8d/0xa0',
    '    __kmalloc_noprof+0x3cd/0x4d0',
    '    prep_buf+0x36/0x70',
    '    load_buf+0x10d/0x1c0',
    '    krb5_test_one_prf+0x1e1/0x3c0',
    '    krb5_selftest.cold+0x7c/0x54c',
    '    crypto_krb5_init+0xd/0x20',
    '    do_one_initcall+0xa5/0x230',
    '    do_initcalls+0x213/0x250',
    '    kernel_init_freeable+0x220/0x260',
    '    kernel_init+0x1d/0x170',
    '    ret_from_fork+0x301/0x410',
    '    ret_from_fork_asm+0x1a/0x30',
  ];
  const bytes = hexBytes(
    '9d 18 86 16 f6 38 52 fe 86 91 5b b8 40 b4 a8 86 ff 3e 6b b0 f8 19 b4 9b 89 33 93 d3 93 85 42 95',
  );
  const o = obj(0xffff8880093bf7a0n, 32, {
    comm: 'swapper/0',
    pid: 1,
    jiffies: 4294877529,
    trace: expected.slice(6).map((l) => l.trim()),
  });
  assert.deepEqual(formatUnreferenced(o, bytes, kmemleakChecksum(bytes)), expected);
  // The kernel log form (kmemleak.verbose=1): pr_warn() and print_hex_dump() with pr_fmt "kmemleak: ".
  const dmesg = formatUnreferenced(o, bytes, 0x8ba12f3b, { dmesg: true });
  assert.equal(dmesg[0], 'kmemleak: unreferenced object 0xffff8880093bf7a0 (size 32):');
  assert.equal(dmesg[3], 'kmemleak:     9d 18 86 16 f6 38 52 fe 86 91 5b b8 40 b4 a8 86  .....8R...[.@...');
  assert.equal(dmesg[6], 'kmemleak:     kmemleak_alloc+0x8d/0xa0');
});

test('print_unreferenced: an 8-byte zero object pads its hex row and prints crc 0', () => {
  // Paolo Abeni's reply to the tun/tap RSS series (v10, March 2025): cat /sys/kernel/debug/kmemleak.
  const expected = [
    'unreferenced object 0xffff88800c6ec248 (size 8):',
    '  comm "tap", pid 21124, jiffies 4299141559',
    '  hex dump (first 8 bytes):',
    '    00 00 00 00 00 00 00 00                          ........',
    '  backtrace (crc 0):',
    '    __kmalloc_cache_noprof+0x2df/0x390',
    '    tun_vnet_ioctl_sethash+0xbf/0x3a0',
    '    tap_ioctl+0x6f2/0xc10',
    '    __x64_sys_ioctl+0x11f/0x180',
    '    do_syscall_64+0xc1/0x1d0',
    '    entry_SYSCALL_64_after_hwframe+0x77/0x7f',
  ];
  const o = obj(0xffff88800c6ec248n, 8, {
    comm: 'tap',
    pid: 21124,
    jiffies: 4299141559,
    trace: expected.slice(5).map((l) => l.trim()),
  });
  const bytes = new Uint8Array(8);
  assert.deepEqual(formatUnreferenced(o, bytes, kmemleakChecksum(bytes)), expected);
});

test('print_unreferenced: 6.12.0-6.12.8 print "    [<%pK>] %pS" when the raw addresses are given', () => {
  // Armin Wolf's acpi_processor_power_init leak (upstream e18afcb7b2a1, 6.8-stable review): a 1024-byte
  // object, so only its first 32 bytes are dumped; the crc is the report's.
  const addrs = [0xffffffff993495edn, 0xffffffff9972f3b3n, 0xffffffff9972d263n];
  const trace = [
    'kmalloc_trace+0x29d/0x340',
    'acpi_processor_power_init+0xf3/0x1c0',
    '__acpi_processor_start+0xd3/0xf0',
  ];
  const o = obj(0xffff896282f6c000n, 1024, {
    comm: 'swapper/0',
    pid: 1,
    jiffies: 4294893170,
    trace,
    traceAddresses: addrs,
  });
  const bytes = new Uint8Array(1024);
  bytes[4] = 0x0b;
  assert.deepEqual(formatUnreferenced(o, bytes, 0x8836a742), [
    'unreferenced object 0xffff896282f6c000 (size 1024):',
    '  comm "swapper/0", pid 1, jiffies 4294893170',
    '  hex dump (first 32 bytes):',
    '    00 00 00 00 0b 00 00 00 00 00 00 00 00 00 00 00  ................',
    '    00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................',
    '  backtrace (crc 8836a742):',
    '    [<ffffffff993495ed>] kmalloc_trace+0x29d/0x340',
    '    [<ffffffff9972f3b3>] acpi_processor_power_init+0xf3/0x1c0',
    '    [<ffffffff9972d263>] __acpi_processor_start+0xd3/0xf0',
  ]);
  // %08lx: a small address is zero-padded to 8 digits.
  assert.equal(
    formatUnreferenced(obj(0x1234n, 0), new Uint8Array(0), 0)[0],
    'unreferenced object 0x00001234 (size 0):',
  );
});

test('the scan summary is pr_info()ed only when there are new leaks', () => {
  assert.equal(formatScanSummary(0), undefined);
  assert.equal(formatScanSummary(1), 'kmemleak: 1 new suspected memory leaks (see /sys/kernel/debug/kmemleak)');
  assert.equal(formatScanSummary(3), 'kmemleak: 3 new suspected memory leaks (see /sys/kernel/debug/kmemleak)');
  assert.equal(msecsToJiffies(5000), 5000);
  assert.equal(msecsToJiffies(5000, 250), 1250);
  assert.equal(jiffiesMinAge(), 5000);
  assert.equal(jiffiesMinAge(100), 500);
});

/* ------------------------------------------------------------------------------------------------------ */
/* Lookup                                                                                                 */
/* ------------------------------------------------------------------------------------------------------ */

test('lookup_object: interior pointers count, the end does not, alias 0 wants the start', () => {
  const a = BASE + 0x100n;
  const b = BASE + 0x140n; // adjacent to a (a is 64 bytes)
  const c = BASE + 0x200n;
  const index = new KmemleakIndex([obj(c, 32), obj(a, 64), obj(b, 16), obj(BASE + 0x300n, 0)]);
  assert.equal(index.length, 3); // the zero-size object is never found
  assert.equal(index.lookup(a), 1);
  assert.equal(index.lookup(a + 63n), 1);
  assert.equal(index.lookup(a + 64n), 2); // a's end is b's start
  assert.equal(index.lookup(b + 16n), -1); // b's end, a gap
  assert.equal(index.lookup(a - 1n), -1);
  assert.equal(index.lookup(c + 31n), 0);
  assert.equal(index.lookup(c + 32n), -1);
  assert.equal(index.lookup(BASE + 0x300n), -1);
  assert.equal(index.lookup(0n), -1);
  assert.equal(index.lookup((1n << 64n) - 1n), -1);
  assert.equal(index.lookup(a + 8n, false), -1);
  assert.equal(index.lookup(a, false), 1);
  // Across a 4 GiB boundary (the 32-bit halves differ).
  const hiIndex = new KmemleakIndex([obj(0xffff8881fffffff0n, 32)]);
  assert.equal(hiIndex.lookup(0xffff888200000008n), 0);
  assert.equal(hiIndex.lookup(0xffff888200000010n), -1);
});

test('overlapping objects are refused like __link_object()', () => {
  assert.throws(
    () => new KmemleakIndex([obj(BASE, 64), obj(BASE + 32n, 64)]),
    /Cannot insert 0xffff888100000020 into the object search tree \(overlaps existing\)/,
  );
  assert.throws(() => kmemleakScan([obj(BASE, 16), obj(BASE, 16)], [], new FlatMemory(64), { now: 0 }), RangeError);
  assert.doesNotThrow(() => new KmemleakIndex([obj(BASE, 64), obj(BASE + 64n, 64), obj(BASE + 64n, 0)]));
});

/* ------------------------------------------------------------------------------------------------------ */
/* Scanning                                                                                               */
/* ------------------------------------------------------------------------------------------------------ */

test('root -> A -> B keeps both; an unreferenced zero-filled object is reported by the first scan', () => {
  const mem = new FlatMemory(0x20000);
  const a = BASE + 0x1000n;
  const b = BASE + 0x2000n;
  const c = BASE + 0x3000n;
  mem.put64(ROOT + 40n, a);
  mem.put64(a + 16n, b);
  mem.fill(b, 64, 0x5a);
  const objects = [obj(a, 64), obj(b, 64), obj(c, 64, { comm: 'leaker', pid: 42, jiffies: 7 })];
  const r = scan(objects, [rootArea], mem);
  assert.deepEqual(r.colors, ['gray', 'gray', 'white']);
  assert.deepEqual([...r.count], [1, 1, 0]);
  assert.deepEqual(r.newLeaks, [2]);
  assert.deepEqual(r.unreferenced, [2]);
  assert.deepEqual(r.reported, [false, false, true]);
  assert.equal(r.summary, 'kmemleak: 1 new suspected memory leaks (see /sys/kernel/debug/kmemleak)');
  // Root (32 words) + A and B (8 words each); C is only checksummed.
  assert.equal(r.wordsScanned, 32 + 8 + 8);
  // The checksum is only updated for white objects.
  assert.deepEqual([...r.checksum], [0, 0, 0]);
  assert.deepEqual(formatKmemleakFile(objects, r, mem), [
    'unreferenced object 0xffff888100003000 (size 64):',
    '  comm "leaker", pid 42, jiffies 7',
    '  hex dump (first 32 bytes):',
    '    00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................',
    '    00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................',
    '  backtrace (crc 0):',
    '    kmalloc_trace+0x1/0x2',
  ]);
});

test('a leak whose contents changed since the last scan is gray for one scan, with what it points to', () => {
  const mem = new FlatMemory(0x20000);
  const d = BASE + 0x1000n;
  const e = BASE + 0x2000n;
  mem.put64(d, e); // D -> E, nothing -> D
  const objects = [obj(d, 64), obj(e, 64)];
  const r1 = scan(objects, [rootArea], mem);
  // D's crc went from 0 (new object) to crc(D): painted gray and scanned, so E is referenced.
  assert.deepEqual(r1.colors, ['gray', 'gray']);
  assert.deepEqual(r1.newLeaks, []);
  assert.equal(r1.summary, undefined);
  const crcD = kmemleakChecksum(mem.readBytes(d, 64)!);
  assert.notEqual(crcD, 0);
  assert.equal(r1.checksum[0], crcD);
  // Unchanged by the next scan: both reported (E's crc is 0, it never changed).
  const r2 = scan(withScanState(objects, r1), [rootArea], mem);
  assert.deepEqual(r2.colors, ['white', 'white']);
  assert.deepEqual(r2.newLeaks, [0, 1]);
  assert.equal(r2.summary, 'kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)');
  assert.equal(formatKmemleakFile(objects, r2, mem)[5], `  backtrace (crc ${crcD.toString(16)}):`);
  // Modified again: gray again for one scan, but it stays OBJECT_REPORTED.
  mem.put64(d + 8n, 0x1234n);
  const r3 = scan(withScanState(objects, r2), [rootArea], mem);
  assert.deepEqual(r3.colors, ['gray', 'gray']);
  assert.deepEqual(r3.unreferenced, []);
  assert.deepEqual(r3.reported, [true, true]);
});

test('interior pointers keep an object; a pointer to its end does not', () => {
  const mem = new FlatMemory(0x20000);
  const a = BASE + 0x1000n;
  const b = BASE + 0x2000n;
  const c = BASE + 0x2040n; // right after b
  mem.put64(ROOT, a + 63n); // last byte of A
  mem.put64(ROOT + 8n, b + 64n); // B's end: C's start, so it references C, not B
  const r = scan([obj(a, 64), obj(b, 64), obj(c, 64)], [rootArea], mem);
  assert.deepEqual(r.colors, ['gray', 'white', 'gray']);
  assert.deepEqual(r.newLeaks, [1]);
});

test('cycles unreachable from the roots are leaks; self references do not count', () => {
  const mem = new FlatMemory(0x20000);
  const a = BASE + 0x1000n;
  const b = BASE + 0x2000n;
  const s = BASE + 0x3000n;
  mem.put64(a, b);
  mem.put64(b, a);
  mem.put64(s + 8n, s); // points to itself
  mem.put64(s + 16n, s + 32n); // and inside itself
  let objects: KmemleakObject[] = [obj(a, 64), obj(b, 64), obj(s, 64)];
  const r1 = scan(objects, [rootArea], mem);
  assert.deepEqual(r1.newLeaks, []); // all three changed since creation
  objects = withScanState(objects, r1);
  const r2 = scan(objects, [rootArea], mem);
  assert.deepEqual(r2.colors, ['white', 'white', 'white']);
  assert.deepEqual([...r2.count], [0, 0, 0]);
  assert.deepEqual(r2.newLeaks, [0, 1, 2]);
  // Reachable once a root points into the cycle.
  mem.put64(ROOT + 128n, b + 8n);
  const r3 = scan(withScanState(objects, r2), [rootArea], mem);
  assert.deepEqual(r3.colors, ['gray', 'gray', 'white']);
  assert.deepEqual(r3.unreferenced, [2]);
  assert.deepEqual(r3.newLeaks, []);
});

test('min_count 0 is never reported but scanned; min_count -1 is neither; OBJECT_NO_SCAN is not scanned', () => {
  const mem = new FlatMemory(0x20000);
  const g = BASE + 0x1000n; // kmemleak_not_leak()
  const i = BASE + 0x2000n; // kmemleak_ignore()
  const n = BASE + 0x3000n; // kmemleak_no_scan(), referenced
  const gb = BASE + 0x4000n;
  const ib = BASE + 0x5000n;
  const nb = BASE + 0x6000n;
  mem.put64(g, gb);
  mem.put64(i, ib);
  mem.put64(n, nb);
  mem.put64(ROOT, n);
  mem.put64(ROOT + 8n, i); // a reference to a black object changes nothing
  const objects = [
    obj(g, 64, { minCount: KMEMLEAK_GREY }),
    obj(i, 64, { minCount: KMEMLEAK_BLACK }),
    obj(n, 64, { noScan: true }),
    obj(gb, 64),
    obj(ib, 64),
    obj(nb, 64),
  ];
  const r = scan(objects, [rootArea], mem);
  assert.deepEqual(r.colors, ['gray', 'black', 'gray', 'gray', 'white', 'white']);
  assert.deepEqual([...r.count], [0, 0, 1, 1, 0, 0]);
  assert.deepEqual(r.newLeaks, [4, 5]);
  // The black object's checksum is never computed; the no-scan object is gray so neither is its.
  assert.deepEqual([...r.checksum], [0, 0, 0, 0, 0, 0]);
  assert.equal(kmemleakColor(0, -1), 'black');
  assert.equal(kmemleakColor(0, 0), 'gray');
  assert.equal(kmemleakColor(0, 1), 'white');
});

test('min_count 2 needs two references; excess_ref forwards the surplus (kmemleak_vmalloc)', () => {
  const mem = new FlatMemory(0x20000);
  const vm = BASE + 0x1000n; // struct vm_struct, min_count 1, excess_ref = area->addr
  const area = BASE + 0x2000n; // the vmalloc area, min_count 2
  const objects = [obj(vm, 64, { excessRef: area }), obj(area, 4096, { minCount: 2 })];
  // One reference to each: the area has 1 of 2.
  mem.put64(ROOT, vm);
  mem.put64(ROOT + 8n, area + 100n);
  let r = scan(objects, [rootArea], mem);
  assert.deepEqual(r.colors, ['gray', 'white']);
  assert.deepEqual([...r.count], [1, 1]);
  // A second reference to the (gray) vm_struct passes to the area.
  mem.put64(ROOT + 16n, vm + 8n);
  r = scan(objects, [rootArea], mem);
  assert.deepEqual(r.colors, ['gray', 'gray']);
  assert.deepEqual([...r.count], [1, 2]);
  // Without excess_ref the surplus is dropped.
  r = scan([obj(vm, 64), objects[1]], [rootArea], mem);
  assert.deepEqual(r.colors, ['gray', 'white']);
});

test('scan_block reads only aligned words that end inside the block', () => {
  const mem = new FlatMemory(0x20000);
  const a = BASE + 0x1000n;
  const b = BASE + 0x2000n;
  const c = BASE + 0x3000n;
  mem.put64(ROOT + 8n, a); // second word of a 12-byte root: straddles its end
  mem.put64(ROOT + 0x44n, b); // unaligned word: never read as such
  mem.put64(ROOT + 0x88n, c); // the only whole aligned word of [ROOT + 0x84, ROOT + 0x94)
  const objects = [obj(a, 64), obj(b, 64), obj(c, 64)];
  const r = scan(
    objects,
    [
      { start: ROOT, size: 12 },
      { start: ROOT + 0x40n, size: 16 },
      { start: ROOT + 0x84n, size: 16 },
    ],
    mem,
  );
  assert.deepEqual(r.colors, ['white', 'white', 'gray']);
  assert.equal(r.wordsScanned, 1 + 2 + 1 + 8); // the roots' words, then C's
  // Objects are scanned in MAX_SCAN_SIZE chunks: a 3-page object is read in three blocks.
  const big = BASE + 0x4000n;
  const tail = BASE + 0x8000n;
  mem.put64(big + BigInt(2 * MAX_SCAN_SIZE) + 8n, tail);
  mem.reads = 0;
  const r2 = scan([obj(big, 3 * MAX_SCAN_SIZE, { minCount: 0 }), obj(tail, 8)], [], mem);
  assert.deepEqual(r2.colors, ['gray', 'gray']);
  assert.equal(mem.reads, 3 + 1); // three chunks of the big object, one block for the tail
});

test('bare pointer values act as root words', () => {
  const mem = new FlatMemory(0x20000);
  const a = BASE + 0x1000n;
  const b = BASE + 0x2000n;
  mem.put64(a, b);
  const r = scan([obj(a, 64), obj(b, 64)], [], mem, { pointers: [a + 32n, 0n, 0xdeadbeefn] });
  assert.deepEqual(r.colors, ['gray', 'gray']);
  assert.equal(r.wordsScanned, 3 + 8 + 8);
});

test('the minimum age: reported once jiffies + min_age <= jiffies_last_scan', () => {
  const mem = new FlatMemory(0x20000);
  const objects = [obj(BASE + 0x1000n, 64, { jiffies: 1000 })];
  assert.deepEqual(scan(objects, [], mem, { now: 5999 }).newLeaks, []);
  assert.deepEqual(scan(objects, [], mem, { now: 5999 }).colors, ['white']);
  assert.deepEqual(scan(objects, [], mem, { now: 6000 }).newLeaks, [0]);
  assert.deepEqual(scan(objects, [], mem, { now: 1100, minAge: 100 }).newLeaks, [0]);
  assert.deepEqual(scan(objects, [], mem, { now: 1099, minAge: 100 }).newLeaks, []);
});

test('each leak is reported once; the file lists it while it stays unreferenced', () => {
  const mem = new FlatMemory(0x20000);
  const a = BASE + 0x1000n;
  const b = BASE + 0x2000n;
  let objects: KmemleakObject[] = [obj(a, 64), obj(b, 64)];
  const r1 = scan(objects, [rootArea], mem);
  assert.deepEqual(r1.newLeaks, [0, 1]);
  objects = withScanState(objects, r1);
  assert.deepEqual(
    objects.map((o) => o.reported),
    [true, true],
  );
  const r2 = scan(objects, [rootArea], mem);
  assert.deepEqual(r2.newLeaks, []);
  assert.deepEqual(r2.unreferenced, [0, 1]);
  assert.equal(r2.summary, undefined);
  assert.equal(formatKmemleakFile(objects, r2, mem).length, 2 * 7);
  // Referenced again: no longer listed, still OBJECT_REPORTED; lost again: listed, not new.
  mem.put64(ROOT, a);
  const r3 = scan(withScanState(objects, r2), [rootArea], mem);
  assert.deepEqual(r3.unreferenced, [1]);
  mem.put64(ROOT, 0n);
  const r4 = scan(withScanState(objects, r3), [rootArea], mem);
  assert.deepEqual(r4.unreferenced, [0, 1]);
  assert.deepEqual(r4.newLeaks, []);
  // A new leak next to old ones is the only one counted.
  const c = BASE + 0x3000n;
  const r5 = scan([...withScanState(objects, r4), obj(c, 64)], [rootArea], mem);
  assert.deepEqual(r5.newLeaks, [2]);
  assert.deepEqual(r5.unreferenced, [0, 1, 2]);
  assert.equal(r5.summary, 'kmemleak: 1 new suspected memory leaks (see /sys/kernel/debug/kmemleak)');
});

test('unreadable memory contributes nothing and keeps the checksum', () => {
  const mem = new FlatMemory(0x20000);
  const far = BASE + 0x100000n; // outside the window
  // A root straddling the window's start: its first MAX_SCAN_SIZE chunk is unreadable, the second is read.
  const r = scan([obj(far, 64, { checksum: 77 })], [{ start: BASE - 0x1000n, size: 0x2000 }], mem);
  assert.deepEqual(r.colors, ['white']);
  assert.equal(r.checksum[0], 77);
  assert.equal(r.wordsScanned, MAX_SCAN_SIZE / 8);
  assert.deepEqual(formatKmemleakFile([obj(far, 64)], r, mem).slice(2, 4), [
    '  hex dump (first 32 bytes):',
    '  backtrace (crc 4d):',
  ]);
});

test('100k objects of 64 bytes scan well under a second', () => {
  const n = 100_000;
  const mem = new FlatMemory(n * 64 + 0x20000);
  const at = (k: number): bigint => BASE + 0x20000n + BigInt(k) * 64n;
  // A shuffled chain: object_list order is not address order.
  const perm = Array.from({ length: n }, (_, k) => k);
  for (let k = n - 1; k > 0; k--) {
    const j = (k * 7919) % (k + 1);
    [perm[k], perm[j]] = [perm[j], perm[k]];
  }
  for (let k = 0; k + 1 < n; k++) {
    mem.put64(at(perm[k]) + 24n, at(perm[k + 1]) + 8n);
    mem.put64(at(perm[k]) + 40n, 0xffff888000000000n + BigInt(k)); // a near miss below every object
  }
  mem.put64(ROOT, at(perm[0]));
  const objects = Array.from({ length: n }, (_, k) => obj(at(k), 64));
  const t0 = performance.now();
  const r = scan(objects, [rootArea], mem);
  const ms = performance.now() - t0;
  assert.equal(r.newLeaks.length, 0);
  assert.ok(r.colors.every((c) => c === 'gray'));
  assert.equal(r.wordsScanned, 32 + n * 8);
  assert.ok(ms < 1000, `scan took ${ms.toFixed(0)} ms`);
});

/* ------------------------------------------------------------------------------------------------------ */
/* Properties                                                                                             */
/* ------------------------------------------------------------------------------------------------------ */

interface Layout {
  objects: KmemleakObject[];
  mem: FlatMemory;
  roots: KmemleakRoot[];
  pointers: bigint[];
}

/** Objects at 4-aligned offsets with gaps, words pointing at, into, to the end of and near the objects. */
const layoutArb = fc
  .record({
    shapes: fc.array(
      fc.record({
        gap: fc.integer({ min: 0, max: 6 }),
        size: fc.constantFrom(0, 4, 8, 12, 16, 20, 24, 40, 64),
        minCount: fc.constantFrom(-1, 0, 1, 1, 1, 2),
        noScan: fc.boolean(),
        stale: fc.boolean(),
        jiffies: fc.integer({ min: 0, max: 10_000 }),
      }),
      { minLength: 1, maxLength: 12 },
    ),
    words: fc.array(
      fc.record({
        slot: fc.integer({ min: 0, max: 200 }),
        target: fc.nat(),
        delta: fc.integer({ min: -8, max: 72 }),
      }),
      { maxLength: 40 },
    ),
    noise: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 64, maxLength: 64 }),
    rootWords: fc.integer({ min: 0, max: 8 }),
    rootShift: fc.constantFrom(0, 4),
    pointers: fc.array(fc.record({ target: fc.nat(), delta: fc.integer({ min: 0, max: 70 }) }), { maxLength: 3 }),
  })
  .map(({ shapes, words, noise, rootWords, rootShift, pointers }): Layout => {
    const mem = new FlatMemory(0x2000);
    for (let k = 0; k < 0x2000; k++) mem.bytes[k] = noise[k % 64]! ^ (k & 0xff);
    let off = 0x800n;
    const objects = shapes.map((s) => {
      off += BigInt(s.gap * 4);
      const o = obj(BASE + off, s.size, { minCount: s.minCount, noScan: s.noScan, jiffies: s.jiffies });
      off += BigInt(s.size);
      return o;
    });
    const target = (t: number, delta: number): bigint => objects[t % objects.length]!.pointer + BigInt(delta);
    for (const w of words) {
      const addr = BASE + 0x800n + BigInt(w.slot) * 4n;
      if (addr + 8n <= BASE + 0x2000n) mem.put64(addr, target(w.target, w.delta));
    }
    // Stale objects get a checksum that does not match their contents.
    const final = objects.map((o, k) =>
      shapes[k]!.stale ? o : { ...o, checksum: kmemleakChecksum(mem.readBytes(o.pointer, o.size)!) },
    );
    // The root: the first rootWords words of the object area (so roots see the same pointers).
    const roots = [{ start: BASE + 0x800n + BigInt(rootShift), size: rootWords * 8 }];
    return { objects: final, mem, roots, pointers: pointers.map((p) => target(p.target, p.delta)) };
  });

/** Test-only reference: the least set of gray objects, by brute force. */
function referenceGray(l: Layout): { gray: Set<number>; refs: number[] } {
  const { objects, mem } = l;
  const find = (v: bigint): number =>
    objects.findIndex((o) => o.size > 0 && o.pointer <= v && v < o.pointer + BigInt(o.size));
  const wordsOf = (start: bigint, size: number): bigint[] => {
    const out: bigint[] = [];
    for (let a = (start + 7n) & ~7n; a + 8n <= start + BigInt(size); a += 8n) {
      out.push(mem.view.getBigUint64(Number(a - BASE), true));
    }
    return out;
  };
  const gray = new Set<number>();
  objects.forEach((o, i) => {
    if (o.minCount === 0) gray.add(i);
    const crc = kmemleakChecksum(mem.readBytes(o.pointer, o.size)!);
    if (o.minCount !== -1 && crc !== (o.checksum ?? 0)) gray.add(i);
  });
  let refs: number[] = [];
  for (;;) {
    refs = objects.map(() => 0);
    const count = (v: bigint, self: number): void => {
      const j = find(v);
      if (j >= 0 && j !== self) refs[j]++;
    };
    for (const r of l.roots) for (const v of wordsOf(r.start, r.size)) count(v, -1);
    for (const p of l.pointers) count(p, -1);
    for (const i of gray) {
      const o = objects[i]!;
      if (!o.noScan) for (const v of wordsOf(o.pointer, o.size)) count(v, i);
    }
    const before = gray.size;
    objects.forEach((o, j) => {
      if (o.minCount >= 1 && refs[j]! >= o.minCount) gray.add(j);
    });
    if (gray.size === before) return { gray, refs };
  }
}

test('property: the scan colours objects like a brute-force least fixpoint', () => {
  fc.assert(
    fc.property(layoutArb, fc.integer({ min: 0, max: 20_000 }), (l, now) => {
      const r = kmemleakScan(l.objects, l.roots, l.mem, { now, pointers: l.pointers });
      const { gray, refs } = referenceGray(l);
      l.objects.forEach((o, i) => {
        const expected = gray.has(i) ? 'gray' : o.minCount === -1 ? 'black' : 'white';
        assert.equal(r.colors[i], expected, `object ${i}`);
        if (expected === 'white') {
          assert.equal(r.count[i], refs[i]);
          assert.equal(r.checksum[i], kmemleakChecksum(l.mem.readBytes(o.pointer, o.size)!));
        }
        const leak = expected === 'white' && o.jiffies + 5000 <= now;
        assert.equal(r.reported[i], leak);
        assert.equal(r.newLeaks.includes(i), leak);
      });
    }),
    { numRuns: 300 },
  );
});

test('property: the scan terminates without throwing on random memory, roots and objects', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 2048 }),
      fc.array(
        fc.record({ gap: fc.nat({ max: 64 }), size: fc.nat({ max: 300 }), minCount: fc.integer({ min: -1, max: 3 }) }),
        {
          maxLength: 20,
        },
      ),
      fc.array(fc.record({ start: fc.integer({ min: -64, max: 2200 }), size: fc.nat({ max: 5000 }) }), {
        maxLength: 4,
      }),
      fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { maxLength: 5 }),
      (bytes, shapes, rootSpecs, pointers) => {
        const mem = new FlatMemory(2048);
        mem.bytes.set(bytes);
        // Sprinkle object addresses into the random bytes so references do occur.
        let off = 0n;
        const objects = shapes.map((s, k) => {
          off += BigInt(s.gap);
          const o = obj(BASE + off, s.size, { minCount: s.minCount, excessRef: k % 3 === 0 ? BASE : undefined });
          off += BigInt(s.size);
          return o;
        });
        objects.forEach((o, k) => {
          const at = (k * 40) % 2040;
          mem.put64(BASE + BigInt(at), o.pointer + BigInt(k % 9));
        });
        const roots = rootSpecs.map((r) => ({ start: BASE + BigInt(r.start), size: r.size }));
        let state = objects;
        for (let round = 0; round < 2; round++) {
          const r = kmemleakScan(state, roots, mem, { now: 10_000, pointers });
          assert.equal(r.colors.length, objects.length);
          for (const i of r.newLeaks) assert.equal(r.colors[i], 'white');
          for (const i of r.unreferenced) assert.ok(r.reported[i]);
          objects.forEach((o, i) => {
            if (o.minCount === -1) assert.equal(r.colors[i], 'black');
            if (o.minCount === 0) assert.equal(r.colors[i], 'gray');
          });
          state = withScanState(state, r);
        }
      },
    ),
    { numRuns: 300 },
  );
});
