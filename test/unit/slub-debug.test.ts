/*
 * SLUB debugging (engine/mm/slub_debug.ts) against mm/slub.c of Linux 6.12: geometry worked by hand from
 * calculate_sizes(), the slab_debug= parser, init_object()/check_object() round trips for the corruptions
 * lib/slub_kunit.c provokes, and the report text.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  DEBUG_DEFAULT_FLAGS,
  POISON_END,
  POISON_FREE,
  POISON_INUSE,
  SLUB_RED_ACTIVE,
  SLUB_RED_INACTIVE,
  TAINT_BAD_PAGE,
  TRACK_ALLOC,
  TRACK_FREE,
  TRACK_SIZE,
  checkObject,
  debugCalculateSizes,
  dumpStackHeader,
  dumpStackLines,
  formatPointer,
  getOrigSize,
  getTrack,
  hexDumpLine,
  initObject,
  kmallocAlign,
  kmemCacheDebugLayout,
  newTaintState,
  parseSlabDebug,
  printTainted,
  setOrigSize,
  setTrack,
  setupObjectDebug,
  setupSlabDebug,
  slabDebugFlags,
  slabPadCheck,
  traceObject,
} from '../../engine/mm/slub_debug';
import type {
  ByteFinding,
  DebugMemory,
  FreePointerOps,
  SlabDebugConfig,
  SlubDebugLayout,
  SlubReportContext,
  TaintState,
} from '../../engine/mm/slub_debug';
import {
  SLAB_CONSISTENCY_CHECKS as F,
  SLAB_HWCACHE_ALIGN,
  SLAB_KMALLOC,
  SLAB_POISON as P,
  SLAB_RED_ZONE as Z,
  SLAB_STORE_USER as U,
  SLAB_TRACE as T,
  SLAB_TYPESAFE_BY_RCU,
  calculateAlignment,
  calculateOrder,
  orderObjects,
  slabGeometry,
} from '../../engine/mm/slub';

/** Flat memory over [base, base + bytes); out-of-range access throws so a stray offset shows. */
class Mem implements DebugMemory {
  readonly bytes: Uint8Array;
  constructor(
    readonly base: number,
    size: number,
  ) {
    this.bytes = new Uint8Array(size);
  }
  read(addr: number, len: number): Uint8Array {
    this.range(addr, len);
    return this.bytes.slice(addr - this.base, addr - this.base + len);
  }
  write(addr: number, bytes: Uint8Array): void {
    this.range(addr, bytes.length);
    this.bytes.set(bytes, addr - this.base);
  }
  at(addr: number): number {
    return this.bytes[addr - this.base]!;
  }
  poke(addr: number, value: number): void {
    this.bytes[addr - this.base] = value;
  }
  private range(addr: number, len: number): void {
    if (addr < this.base || len < 0 || addr + len > this.base + this.bytes.length) {
      throw new RangeError(`access ${addr.toString(16)}+${len} outside the arena`);
    }
  }
}

const SLAB = 0x10032000;
const PAGE = 4096;
/** The object of slot idx in a slab at SLAB. */
const objectAt = (l: SlubDebugLayout, idx: number): number => SLAB + idx * l.size + l.redLeftPad;

/** A free pointer stored raw (no hardening) at object + offset: a direct-map address or 0. */
function rawFreePointer(mem: Mem, l: SlubDebugLayout, objects: number, zapped: number[] = []): FreePointerOps {
  const virt = (phys: number): bigint => 0xffff888000000000n + BigInt(phys);
  return {
    get: (object) => new DataView(mem.read(object + l.offset, 8).buffer).getBigUint64(0, true),
    valid: (ptr) => {
      for (let i = 0; i < objects; i++) if (virt(objectAt(l, i)) === ptr) return true;
      return false;
    },
    setNull: (object) => {
      zapped.push(object);
      mem.write(object + l.offset, new Uint8Array(8));
    },
  };
}

/** A new slab: setup_slab_debug(), then setup_object_debug() on each object (allocate_slab()). */
function newSlab(l: SlubDebugLayout): { mem: Mem; objects: number } {
  const mem = new Mem(SLAB, PAGE);
  const objects = orderObjects(0, l.size);
  setupSlabDebug(mem, l, SLAB, PAGE);
  for (let i = 0; i < objects; i++) setupObjectDebug(mem, l, objectAt(l, i));
  return { mem, objects };
}

/** alloc_debug_processing() + set_track(): orig_size, init_object(SLUB_RED_ACTIVE), the alloc track. */
function allocate(mem: Mem, l: SlubDebugLayout, object: number, orig = l.objectSize): void {
  setOrigSize(mem, l, object, orig);
  initObject(mem, l, object, SLUB_RED_ACTIVE);
  setTrack(mem, l, object, TRACK_ALLOC, { addr: 0xffffffff81234560n, handle: 7, cpu: 1, pid: 42, when: 4294937296n });
}

/** free_debug_processing(): the free track, then init_object(SLUB_RED_INACTIVE). */
function free(mem: Mem, l: SlubDebugLayout, object: number): void {
  setTrack(mem, l, object, TRACK_FREE, { addr: 0xffffffff81234980n, handle: 9, cpu: 0, pid: 43, when: 4294937300n });
  initObject(mem, l, object, SLUB_RED_INACTIVE);
}

const bytesOf = (findings: readonly unknown[]): ByteFinding[] => findings as ByteFinding[];

/* ---------------------------------------------------------------------------------------------------- */
/* Geometry                                                                                               */
/* ---------------------------------------------------------------------------------------------------- */

test('kmalloc-64 with slab_debug=FZPU, worked by hand from calculate_sizes()', () => {
  // create_boot_cache(): align = max(ARCH_KMALLOC_MINALIGN 8, 1 << (ffs(64) - 1)) = 64; calculate_alignment() -> 64.
  const align = kmallocAlign(64);
  assert.equal(align, 64);
  const l = debugCalculateSizes(64, align, SLAB_KMALLOC | F | Z | P | U, false);
  // size = ALIGN(64, 8) = 64; SLAB_POISON without RCU or ctor -> __OBJECT_POISON.
  assert.equal(l.objectPoison, true);
  // SLAB_RED_ZONE and size == object_size: size += 8 -> 72 = s->inuse.
  assert.equal(l.inuse, 72);
  // SLAB_POISON: the free pointer goes after the object: s->offset = 72, size = 80.
  assert.equal(l.offset, 72);
  // get_info_end() = inuse + 8 = 80: struct track alloc at 80, free at 112 (32 bytes each).
  assert.equal(l.infoEnd, 80);
  assert.equal(l.trackOffset, 80);
  // SLAB_STORE_USER: size += 2 * 32 -> 144; SLAB_KMALLOC: orig_size (unsigned int) at 144, size = 148.
  assert.equal(l.origSizeOffset, 144);
  assert.equal(l.padStart, 148);
  // kasan_cache_create(): +0. SLAB_RED_ZONE: size += 8 -> 156; red_left_pad = ALIGN(8, 64) = 64 -> 220.
  assert.equal(l.redLeftPad, 64);
  // ALIGN(220, 64) = 256 = s->size; size_from_object() = 256 - 64 = 192, so 44 bytes of padding.
  assert.equal(l.size, 256);
  assert.equal(l.sizeFromObject, 192);
  // calculate_order(256) on 2 CPUs: min_objects 12, order 0, 16 objects and no leftover.
  assert.equal(calculateOrder(l.size, 2), 0);
  assert.equal(orderObjects(0, l.size), 16);
});

test('other debug layouts worked by hand', () => {
  // kmalloc-8, slab_debug=FUZ (the report below): 8 -> 16 (red zone word); orig_size forces the free pointer
  // out: offset 16, 24; +64 +4 = 92; +8 = 100; red_left_pad 8 -> 108; ALIGN(108, 8) = 112; 36 per page.
  let l = debugCalculateSizes(8, kmallocAlign(8), SLAB_KMALLOC | F | U | Z, false);
  assert.deepEqual([l.inuse, l.offset, l.redLeftPad, l.padStart, l.sizeFromObject, l.size], [16, 16, 8, 92, 104, 112]);
  assert.equal(orderObjects(0, l.size), 36);
  // kmalloc-32 FZPU: align 32; 32 -> 40 -> fp 40, 48 -> 112 -> 116 -> 124; red_left_pad 32 -> 156 -> 160.
  l = debugCalculateSizes(32, kmallocAlign(32), SLAB_KMALLOC | F | Z | P | U, false);
  assert.deepEqual([l.inuse, l.offset, l.redLeftPad, l.padStart, l.size], [40, 40, 32, 116, 160]);
  // kmalloc-96 FZPU: align = 1 << (ffs(96) - 1) = 32; 96 -> 104 -> 112 -> 180 -> 188 -> +32 = 220 -> 224.
  assert.equal(kmallocAlign(96), 32);
  l = debugCalculateSizes(96, 32, SLAB_KMALLOC | F | Z | P | U, false);
  assert.deepEqual([l.inuse, l.offset, l.redLeftPad, l.size], [104, 104, 32, 224]);
  // lib/slub_kunit.c TestSlub_RZ_alloc: 64 bytes, SLAB_RED_ZONE, align 8. 64 -> 72 = inuse; the free pointer
  // stays mid-object (offset 32: no poison, object >= a word, no orig_size); +8 -> 80; +8 left -> 88.
  l = debugCalculateSizes(64, 8, Z, false);
  assert.deepEqual([l.inuse, l.offset, l.infoEnd, l.redLeftPad, l.padStart, l.size], [72, 32, 72, 8, 72, 88]);
  // TestSlub_RZ_kmalloc: 32, SLAB_KMALLOC|SLAB_STORE_USER|SLAB_RED_ZONE: 40, fp 40 -> 48, +68 = 116, +8, +8 = 132 -> 136.
  l = debugCalculateSizes(32, 8, SLAB_KMALLOC | U | Z, false);
  assert.deepEqual([l.inuse, l.offset, l.origSizeOffset, l.padStart, l.size], [40, 40, 112, 116, 136]);
  // TestSlub_1th_word_free: 64, SLAB_POISON: fp after the object at 64, slot 72, no padding.
  l = debugCalculateSizes(64, 8, P, false);
  assert.deepEqual([l.inuse, l.offset, l.padStart, l.sizeFromObject, l.size], [64, 64, 72, 72, 72]);
  // A constructor or SLAB_TYPESAFE_BY_RCU: never __OBJECT_POISON.
  assert.equal(debugCalculateSizes(64, 8, P, true).objectPoison, false);
  assert.equal(debugCalculateSizes(64, 8, P | SLAB_TYPESAFE_BY_RCU, false).objectPoison, false);
  // kmem_cache_args.freeptr_offset of an RCU cache keeps the pointer inside (6.12).
  l = debugCalculateSizes(64, 8, SLAB_TYPESAFE_BY_RCU, false, 16);
  assert.deepEqual([l.offset, l.size], [16, 64]);
});

test('slab_debug=O: kmalloc-4096 loses its metadata flags because they raise the minimum order', () => {
  // With FZPU: 4096 -> 4104 -> 4112 -> 4180 -> 4188, red_left_pad ALIGN(8, 4096) = 4096 -> 8284 -> 12288.
  const flags = SLAB_KMALLOC | F | Z | P | U;
  assert.equal(debugCalculateSizes(4096, 4096, flags, false).size, 12288);
  // get_order(12288) = 2 > get_order(4096) = 0: Z, P and U go, F stays; the plain layout again.
  const l = kmemCacheDebugLayout(4096, 4096, flags, false, { disableHigherOrderDebug: true });
  assert.equal(l.flags, SLAB_KMALLOC | F);
  assert.deepEqual([l.size, l.offset, l.redLeftPad], [4096, 2048, 0]);
  // kmalloc-64 keeps them: 256-byte slots stay order 0.
  assert.equal(kmemCacheDebugLayout(64, 64, flags, false, { disableHigherOrderDebug: true }).flags, flags);
});

test('without debug flags the layout is slabGeometry()', () => {
  for (let objectSize = 8; objectSize <= 8192; objectSize += objectSize < 512 ? 1 : 37) {
    for (const alignIn of [0, 8, 16, 32, 64, 128, 256]) {
      for (const hw of [false, true]) {
        const a = calculateAlignment(hw, alignIn, Math.ceil(objectSize / 8) * 8);
        const g = slabGeometry(objectSize, a, 2);
        const l = debugCalculateSizes(objectSize, a, hw ? SLAB_HWCACHE_ALIGN : 0, false);
        assert.deepEqual(
          [l.size, l.inuse, l.offset, l.redLeftPad],
          [g.size, g.inuse, g.offset, 0],
          `${objectSize}/${a}`,
        );
        const after = slabGeometry(objectSize, a, 2, { freePointerAfter: true });
        for (const l2 of [
          debugCalculateSizes(objectSize, a, SLAB_TYPESAFE_BY_RCU, false),
          debugCalculateSizes(objectSize, a, 0, true),
        ]) {
          assert.deepEqual([l2.size, l2.inuse, l2.offset], [after.size, after.inuse, after.offset]);
        }
      }
    }
  }
});

/* ---------------------------------------------------------------------------------------------------- */
/* slab_debug= parsing                                                                                    */
/* ---------------------------------------------------------------------------------------------------- */

function config(value: string | undefined, debugOn = false): SlabDebugConfig {
  const r = parseSlabDebug(value, debugOn);
  assert.ok(r.ok);
  return r.config;
}

test('slab_debug= global flags', () => {
  // Bare "slab_debug" or "slab_debug=": full debugging, F Z P U.
  assert.equal(config(undefined).globalFlags, DEBUG_DEFAULT_FLAGS);
  assert.equal(config('').globalFlags, DEBUG_DEFAULT_FLAGS);
  assert.equal(DEBUG_DEFAULT_FLAGS, F | Z | P | U);
  assert.equal(config('FZPUT').globalFlags, F | Z | P | U | T);
  assert.equal(config('zp').globalFlags, Z | P); // tolower()
  const off = config('-');
  assert.deepEqual([off.globalFlags, off.enabled], [0, false]);
  assert.equal(config('FZ-U').globalFlags, U); // '-' clears what came before
  assert.equal(config(';').globalFlags, 0); // a block of nothing is flags 0, not the default
  // 'O' and 'A' set no flag bit: slab_debug=O alone debugs nothing but records the order rule.
  const o = config('O');
  assert.deepEqual([o.globalFlags, o.disableHigherOrderDebug, o.enabled], [0, true, false]);
  assert.equal(config('ZA').blocks[0]!.failslab, true);
  assert.equal(config('ZA').globalFlags, Z);
  // The last global block wins.
  assert.equal(config('F;Z').globalFlags, Z);
});

test('slab_debug= unknown letters warn and are skipped; whitespace is an error', () => {
  const r = parseSlabDebug('XZq,dentry');
  assert.ok(r.ok);
  assert.deepEqual(r.warnings, [
    { message: "slab_debug option 'X' unknown. skipped", offset: 0 },
    { message: "slab_debug option 'q' unknown. skipped", offset: 2 },
  ]);
  assert.equal(r.config.blocks[0]!.flags, Z);
  const bad = parseSlabDebug('FZ kmalloc-64');
  assert.deepEqual(bad, { ok: false, error: { message: 'slab_debug value ends at whitespace', offset: 2 } });
});

test('slab_debug= cache lists and kmem_cache_flags()', () => {
  const c = config('U,kmalloc-*,dentry');
  // Only lists: the global flags keep slub_debug's initial value (0 without CONFIG_SLUB_DEBUG_ON).
  assert.deepEqual([c.globalFlags, c.enabled, c.debugString], [0, true, 'U,kmalloc-*,dentry']);
  assert.deepEqual(c.blocks[0]!.slabs, ['kmalloc-*', 'dentry']);
  assert.equal(slabDebugFlags(c, 'kmalloc-64', SLAB_KMALLOC), SLAB_KMALLOC | U);
  assert.equal(slabDebugFlags(c, 'kmalloc-rnd-01-8', SLAB_KMALLOC), SLAB_KMALLOC | U);
  assert.equal(slabDebugFlags(c, 'dentry', 0), U);
  assert.equal(slabDebugFlags(c, 'dentryx', 0), 0); // whole names only
  assert.equal(slabDebugFlags(c, 'dentr', 0), 0);
  assert.equal(slabDebugFlags(c, 'inode_cache', 0), 0);
  assert.equal(config('U,dentry', true).globalFlags, DEBUG_DEFAULT_FLAGS); // CONFIG_SLUB_DEBUG_ON
  // No letters before the list: full debugging for those caches.
  assert.equal(slabDebugFlags(config(',dentry'), 'dentry', 0), DEBUG_DEFAULT_FLAGS);
  // A block that names the cache gives its flags instead of the global ones.
  const mixed = config('Z;U,kmalloc-64');
  assert.equal(mixed.globalFlags, Z);
  assert.equal(slabDebugFlags(mixed, 'kmalloc-64', 0), U);
  assert.equal(slabDebugFlags(mixed, 'kmalloc-128', 0), Z);
  // The first matching block wins.
  const order = config('FZ,kmalloc-*;P,kmalloc-8');
  assert.equal(slabDebugFlags(order, 'kmalloc-8', 0), F | Z);
  // The glob is a prefix up to '*': what follows it is ignored.
  assert.equal(slabDebugFlags(config('P,km*zz'), 'kmalloc-8', 0), P);
  // SLAB_NO_USER_FLAGS caches ignore the option; SLAB_NOLEAKTRACE drops U from the global flags only.
  assert.equal(slabDebugFlags(config('FZPU'), 'TestSlub_RZ_alloc', Z, { noUserFlags: true }), Z);
  assert.equal(slabDebugFlags(config('FZPU'), 'kmemleak_object', 0, { noLeakTrace: true }), F | Z | P);
  assert.equal(slabDebugFlags(config('U,kmemleak_object'), 'kmemleak_object', 0, { noLeakTrace: true }), U);
});

test("kmem_cache_flags() keeps the kernel's quirk with ';;' after a list entry", () => {
  // end = next_block - 1 is the second ';', so strncmp("foo", "foo;", 4) fails: foo gets the global flags.
  assert.equal(slabDebugFlags(config('Z,foo;;U,bar'), 'foo', 0), 0);
  assert.equal(slabDebugFlags(config('Z,foo;;U,bar'), 'bar', 0), U);
  assert.equal(slabDebugFlags(config('Z,foo;U,bar'), 'foo', 0), Z);
});

/* ---------------------------------------------------------------------------------------------------- */
/* Bytes: init_object(), tracks, orig_size                                                                */
/* ---------------------------------------------------------------------------------------------------- */

test('init_object() writes red zones, poison and the orig_size-limited poison of an object in use', () => {
  const l = debugCalculateSizes(64, 64, SLAB_KMALLOC | F | Z | P | U, false);
  const { mem } = newSlab(l);
  const o = objectAt(l, 3);
  // A new slab: red zones 0xbb, poison 6b..a5, padding 5a (setup_slab_debug), tracks and orig_size zero.
  assert.equal(mem.at(o - 1), SLUB_RED_INACTIVE);
  assert.equal(mem.at(o), POISON_FREE);
  assert.equal(mem.at(o + 63), POISON_END);
  assert.equal(mem.at(o + 64), SLUB_RED_INACTIVE);
  assert.equal(mem.at(o + l.padStart), POISON_INUSE);
  assert.equal(mem.at(o + l.trackOffset!), 0);
  // kmalloc(40): 39 bytes of POISON_FREE, POISON_END at 39, then 0xcc up to inuse.
  allocate(mem, l, o, 40);
  assert.equal(getOrigSize(mem, l, o), 40);
  assert.equal(mem.at(o + 38), POISON_FREE);
  assert.equal(mem.at(o + 39), POISON_END);
  for (let i = 40; i < l.inuse; i++) assert.equal(mem.at(o + i), SLUB_RED_ACTIVE);
  for (let i = -l.redLeftPad; i < 0; i++) assert.equal(mem.at(o + i), SLUB_RED_ACTIVE);
  assert.equal(checkObject(mem, l, o, SLUB_RED_ACTIVE).ok, true);
  // Free: the whole object poisoned again, red zones 0xbb.
  free(mem, l, o);
  assert.equal(mem.at(o + 40), POISON_FREE);
  assert.equal(mem.at(o + 63), POISON_END);
  assert.equal(checkObject(mem, l, o, SLUB_RED_INACTIVE).ok, true);
});

test('struct track is 32 bytes and round-trips; the hole at 20 is left alone', () => {
  const l = debugCalculateSizes(64, 64, SLAB_KMALLOC | U, false);
  const mem = new Mem(SLAB, PAGE);
  const o = objectAt(l, 0);
  mem.poke(o + l.trackOffset! + TRACK_SIZE + 20, 0x77);
  const t = { addr: 0xffffffff8123abcdn, handle: 0xdeadbeef, cpu: 3, pid: -1, when: 123456789n };
  assert.equal(setTrack(mem, l, o, TRACK_FREE, t), true);
  assert.deepEqual(getTrack(mem, l, o, TRACK_FREE), t);
  assert.equal(mem.at(o + l.trackOffset! + TRACK_SIZE + 20), 0x77);
  assert.equal(mem.at(o + l.trackOffset! + TRACK_SIZE + 8), 0xef); // handle, little-endian at 8
  assert.equal(setTrack(mem, debugCalculateSizes(64, 8, Z, false), o, TRACK_ALLOC, t), false);
});

/* ---------------------------------------------------------------------------------------------------- */
/* The corruptions of lib/slub_kunit.c (6.12), at the byte level                                          */
/* ---------------------------------------------------------------------------------------------------- */

test('test_clobber_zone: p[64] of an allocated 64-byte SLAB_RED_ZONE object', () => {
  const l = debugCalculateSizes(64, 8, Z, false);
  const { mem } = newSlab(l);
  const p = objectAt(l, 0);
  allocate(mem, l, p);
  mem.poke(p + 64, 0x12);
  const r = checkObject(mem, l, p, SLUB_RED_ACTIVE);
  assert.equal(r.ok, false);
  assert.deepEqual(r.findings, [
    {
      kind: 'bytes',
      what: 'Right Redzone',
      start: p + 64,
      length: 8,
      fault: p + 64,
      value: 0x12,
      expected: 0xcc,
      last: p + 64,
    },
  ]);
  assert.equal(r.slabErrors, 2); // KUNIT_EXPECT_EQ(test, 2, slab_errors)
  assert.equal(mem.at(p + 64), SLUB_RED_ACTIVE); // restored
  assert.equal(checkObject(mem, l, p, SLUB_RED_ACTIVE).ok, true);
});

test("test_next_pointer: one byte of a free SLAB_POISON object's free pointer flipped", () => {
  const l = debugCalculateSizes(64, 8, P, false);
  const { mem, objects } = newSlab(l);
  const p = objectAt(l, 0);
  const next = objectAt(l, 1);
  const zapped: number[] = [];
  const fp = rawFreePointer(mem, l, objects, zapped);
  free(mem, l, p);
  const word = new Uint8Array(8);
  new DataView(word.buffer).setBigUint64(0, 0xffff888000000000n + BigInt(next), true);
  mem.write(p + l.offset, word);
  assert.equal(checkObject(mem, l, p, SLUB_RED_INACTIVE, { freePointer: fp }).ok, true);
  mem.poke(p + l.offset, ~mem.at(p + l.offset) & 0xff); // p[s->offset] = ~p[s->offset]
  const r = checkObject(mem, l, p, SLUB_RED_INACTIVE, { freePointer: fp });
  assert.equal(r.ok, false);
  assert.equal(r.findings.length, 1);
  assert.equal(r.findings[0]!.kind, 'freepointer');
  assert.equal(r.slabErrors, 1); // object_err(); validate_slab()'s on_freelist() adds the other two
  assert.deepEqual(zapped, [p]); // set_freepointer(s, p, NULL)
  assert.equal(checkObject(mem, l, p, SLUB_RED_INACTIVE, { freePointer: fp }).ok, true);
  // An object in use whose free pointer overlays it is not checked; one after the object is.
  allocate(mem, l, next);
  mem.poke(next + l.offset, 0x99);
  assert.equal(checkObject(mem, l, next, SLUB_RED_ACTIVE, { freePointer: fp }).ok, false);
  const inside = debugCalculateSizes(64, 8, Z, false);
  const s2 = newSlab(inside);
  const q = objectAt(inside, 0);
  allocate(s2.mem, inside, q);
  s2.mem.poke(q + inside.offset, 0x99);
  assert.equal(
    checkObject(s2.mem, inside, q, SLUB_RED_ACTIVE, { freePointer: rawFreePointer(s2.mem, inside, 1) }).ok,
    true,
  );
});

test('test_first_word and test_clobber_50th_byte: writes to a free poisoned object', () => {
  const l = debugCalculateSizes(64, 8, P, false);
  for (const [at, v] of [
    [0, 0x78],
    [50, 0x9a],
  ] as const) {
    const { mem } = newSlab(l);
    const p = objectAt(l, 2);
    allocate(mem, l, p);
    free(mem, l, p);
    mem.poke(p + at, v);
    const r = checkObject(mem, l, p, SLUB_RED_INACTIVE);
    assert.deepEqual(r.findings, [
      {
        kind: 'bytes',
        what: 'Poison',
        start: p,
        length: 63,
        fault: p + at,
        value: v,
        expected: POISON_FREE,
        last: p + at,
      },
    ]);
    assert.equal(r.slabErrors, 2);
    assert.equal(mem.at(p + at), POISON_FREE);
  }
  // The last byte is checked on its own as "End Poison".
  const { mem } = newSlab(l);
  const p = objectAt(l, 0);
  mem.poke(p + 63, 0x6b);
  assert.deepEqual(
    bytesOf(checkObject(mem, l, p, SLUB_RED_INACTIVE).findings).map((f) => [f.what, f.expected]),
    [['End Poison', POISON_END]],
  );
});

test('test_clobber_redzone_free: p[64] of a freed SLAB_RED_ZONE object', () => {
  const l = debugCalculateSizes(64, 8, Z, false);
  const { mem } = newSlab(l);
  const p = objectAt(l, 1);
  allocate(mem, l, p);
  free(mem, l, p);
  mem.poke(p + 64, 0xab);
  const r = checkObject(mem, l, p, SLUB_RED_INACTIVE);
  assert.deepEqual(
    bytesOf(r.findings).map((f) => [f.what, f.fault - p, f.value, f.expected]),
    [['Right Redzone', 64, 0xab, SLUB_RED_INACTIVE]],
  );
  assert.equal(r.slabErrors, 2);
});

test('test_kmalloc_redzone_access: kmalloc(18) from a 32-byte cache, p[18] and p[19] written', () => {
  const l = debugCalculateSizes(32, 8, SLAB_KMALLOC | U | Z, false);
  const { mem } = newSlab(l);
  const p = objectAt(l, 0);
  allocate(mem, l, p, 18);
  mem.poke(p + 18, 0xab);
  mem.poke(p + 19, 0xab);
  const r = checkObject(mem, l, p, SLUB_RED_ACTIVE);
  assert.deepEqual(r.findings, [
    {
      kind: 'bytes',
      what: 'kmalloc Redzone',
      start: p + 18,
      length: 14,
      fault: p + 18,
      value: 0xab,
      expected: 0xcc,
      last: p + 19,
    },
  ]);
  assert.equal(r.slabErrors, 2);
  assert.equal(checkObject(mem, l, p, SLUB_RED_ACTIVE).ok, true);
});

test('every check runs: left red zone, right red zone and padding all reported in order', () => {
  const l = debugCalculateSizes(64, 64, SLAB_KMALLOC | F | Z | P | U, false);
  const { mem } = newSlab(l);
  const p = objectAt(l, 0);
  allocate(mem, l, p);
  mem.poke(p - 64, 1);
  mem.poke(p - 63, 2);
  mem.poke(p + 70, 3);
  mem.poke(p + 150, 4);
  const r = checkObject(mem, l, p, SLUB_RED_ACTIVE);
  assert.deepEqual(
    bytesOf(r.findings).map((f) => [f.what, f.fault - p, f.last - p]),
    [
      ['Left Redzone', -64, -63],
      ['Right Redzone', 70, 70],
      ['Object padding', 150, 150],
    ],
  );
  assert.equal(r.slabErrors, 6);
  // Without a red zone, the bytes between object_size and inuse are "Alignment padding" (POISON_INUSE).
  const l2 = debugCalculateSizes(20, 8, P, false);
  const s2 = newSlab(l2);
  s2.mem.poke(objectAt(l2, 0) + 21, 0);
  assert.deepEqual(
    bytesOf(checkObject(s2.mem, l2, objectAt(l2, 0), SLUB_RED_INACTIVE).findings).map((f) => f.what),
    ['Alignment padding'],
  );
});

/* ---------------------------------------------------------------------------------------------------- */
/* Reports                                                                                                */
/* ---------------------------------------------------------------------------------------------------- */

/**
 * A dump_stack() for reporter(): the 6.12 lines for a kunit_try_catch task on CPU 1 with the taint as it is
 * when the report calls it, the report's own functions (`callers`) above dump_stack_lvl, then `outer`.
 */
function stackOf(taint: TaintState, outer: readonly string[]): Pick<SlubReportContext, 'dumpStack'> {
  const header = () => dumpStackHeader(1, 42, 'kunit_try_catch', taint.mask);
  return { dumpStack: (callers) => dumpStackLines(header(), [...callers, ...outer], 'line_7+0x0/0x1 [scenario]') };
}

function reporter(taint: TaintState, lines: string[], extra: Partial<SlubReportContext> = {}): SlubReportContext {
  return {
    cacheName: 'kmalloc-8',
    taint,
    printk: (line) => lines.push(line),
    slabBase: SLAB,
    slab: {
      address: 0xfffffdffc0400c80n,
      objects: 36,
      inuse: 23,
      freelist: 0xffff000010032a18n,
      flags: '0x3fffe0000000200(workingset|node=0|zone=0|lastcpupid=0x1ffff)',
    },
    jiffies: 4294937396n,
    symbol: (addr) => (addr === 0xffffffff81234560n ? '__kmalloc_cache_noprof+0x1e4/0x3a0' : 'kfree+0x8c/0x2d0'),
    stack: (handle) => (handle === 7 ? ['alloc_debug_processing+0x2b/0xa0', '___slab_alloc+0x5d6/0xb70'] : []),
    virt: (phys) => 0xffff000000000000n + BigInt(phys),
    ...extra,
  };
}

test('print_tainted() of 6.12: one letter or blank for each of the 19 flags', () => {
  assert.equal(printTainted(0), 'Not tainted');
  assert.equal(printTainted(1 << TAINT_BAD_PAGE), 'Tainted: G    B             ');
  // The shape seen in a 6.9 KUnit run: "BUG kmalloc-64 (Tainted: G                 N): kmalloc Redzone overwritten".
  assert.equal(printTainted(1 << 18), 'Tainted: G                 N');
});

test('print_hex_dump() lines: bytes, padding to column 49, then the printable ones', () => {
  assert.equal(
    hexDumpLine(
      new Uint8Array([0x6b, 0x6b, 0x6b, 0x6b, 0x6b, 0x6b, 0x6b, 0x6b, 0x6b, 0x6b, 0x6b, 0x6b, 0x6b, 0x6b, 0x6b, 0xa5]),
    ),
    '6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b a5  kkkkkkkkkkkkkkk.',
  );
  assert.equal(
    hexDumpLine(new Uint8Array([0x78, 0xcc, 0x20, 0x7e, 0x7f])),
    '78 cc 20 7e 7f' + ' '.repeat(35) + 'x. ~.',
  );
  assert.equal(formatPointer(0n), '0000000000000000');
});

test('dump_stack() of 6.12: the header, "Call Trace:", dump_stack_lvl, the frames, the caller, in <TASK>', () => {
  // lib/dump_stack.c: dump_stack() is dump_stack_lvl(KERN_DEFAULT) (a tail call: no frame of its own), which
  // prints dump_stack_print_info() ("CPU: %d UID: %u PID: %d Comm: %.20s %s %s %.*s", then
  // print_tainted_verbose() when tainted) and show_stack(): arch/x86 show_trace_log_lvl() prints
  // "Call Trace:" and the frames of each stack between " <TASK>" / " </TASK>" (or " <IRQ>").
  assert.deepEqual(
    dumpStackLines(
      dumpStackHeader(0, 1, 'kmem', 1 << TAINT_BAD_PAGE),
      ['slab_err', 'on_freelist'],
      'line_3+0x0/0x1 [scenario]',
    ),
    [
      'CPU: 0 UID: 0 PID: 1 Comm: kmem Tainted: G    B              6.12.0 #1',
      'Tainted: [B]=BAD_PAGE',
      'Call Trace:',
      ' <TASK>',
      ' dump_stack_lvl+0x0/0x0',
      ' slab_err+0x0/0x0',
      ' on_freelist+0x0/0x0',
      ' line_3+0x0/0x1 [scenario]',
      ' </TASK>',
    ],
  );
  assert.deepEqual(dumpStackLines(['CPU: 0'], [], 'x', 'IRQ').slice(1), [
    'Call Trace:',
    ' <IRQ>',
    ' dump_stack_lvl+0x0/0x0',
    ' x',
    ' </IRQ>',
  ]);
});

test("trace() (SLAB_TRACE): the TRACE line, a free's object bytes, then dump_stack(), and no taint", () => {
  // mm/slub.c of 6.12, trace(): pr_info("TRACE %s %s 0x%p inuse=%d fp=0x%p\n", ...); if (!alloc)
  // print_section(KERN_INFO, "Object ", object, s->object_size); dump_stack();
  const l = debugCalculateSizes(16, 8, T, false);
  const { mem } = newSlab(l);
  const p = objectAt(l, 0);
  const taint = newTaintState();
  const lines: string[] = [];
  const ctx = reporter(taint, lines, { cacheName: 'traced', ...stackOf(taint, ['free_to_partial_list']) });
  traceObject(ctx, mem, l, p, false);
  const v = formatPointer(0xffff000000000000n + BigInt(p));
  assert.deepEqual(lines, [
    `TRACE traced free 0x${v} inuse=23 fp=0xffff000010032a18`,
    `Object ${v}: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................`,
    'CPU: 1 UID: 0 PID: 42 Comm: kunit_try_catch Not tainted 6.12.0 #1',
    'Call Trace:',
    ' <TASK>',
    ' dump_stack_lvl+0x0/0x0',
    ' trace+0x0/0x0',
    ' free_to_partial_list+0x0/0x0',
    ' line_7+0x0/0x1 [scenario]',
    ' </TASK>',
  ]);
  assert.equal(taint.mask, 0);
});

/*
 * A real 6.11-era report, posted by Peng Fan to linux-mm in August 2024 (the init_on_free / kmalloc
 * redzone fix, "slub_debug=FUZ init_on_free=1", kernel 6.11.0-rc3-next-20240814, arm64), timestamps dropped:
 *
 *   =============================================================================
 *   BUG kmalloc-8 (Not tainted): kmalloc Redzone overwritten
 *   -----------------------------------------------------------------------------
 *
 *   0xffff000010032858-0xffff00001003285f @offset=2136. First byte 0x0 instead of 0xcc
 *   FIX kmalloc-8: Restoring kmalloc Redzone 0xffff000010032858-0xffff00001003285f=0xcc
 *   Slab 0xfffffdffc0400c80 objects=36 used=23 fp=0xffff000010032a18 flags=0x3fffe0000000200(workingset|node=0|zone=0|lastcpupid=0x1ffff)
 *   Object 0xffff000010032858 @offset=2136 fp=0xffff0000100328c8
 *
 *   Redzone  ffff000010032850: cc cc cc cc cc cc cc cc                          ........
 *   Object   ffff000010032858: cc cc cc cc cc cc cc cc                          ........
 *   Redzone  ffff000010032860: cc cc cc cc cc cc cc cc                          ........
 *   Padding  ffff0000100328b4: 00 00 00 00 00 00 00 00 00 00 00 00              ............
 *   CPU: 0 UID: 0 PID: 0 Comm: swapper/0 Not tainted 6.11.0-rc3-next-20240814-00004-g61844c55c3f4 #144
 *   Hardware name: NXP i.MX95 19X19 board (DT)
 *   Call trace:
 *    dump_backtrace+0x90/0xe8
 *    show_stack+0x18/0x24
 *
 * init_on_free had zeroed the object and its metadata (orig_size 0, tracks 0, padding 0): check_object()
 * found the whole object to be "kmalloc Redzone", restored it before the trailer (so the dump shows cc),
 * printed no track (addr 0) and did not check the padding (no P). Rebuilt here byte for byte. 6.12 prints the
 * same: print_trailer() still ends with dump_stack() (arm64 says "Call trace:", x86 "Call Trace:"), and the
 * add_taint() of check_object() comes after it.
 */
test('the kmalloc-8 report of a real 6.11-era run, line for line', () => {
  const l = debugCalculateSizes(8, kmallocAlign(8), SLAB_KMALLOC | F | U | Z, false);
  const mem = new Mem(SLAB, PAGE);
  const p = objectAt(l, 19);
  assert.equal(p - SLAB, 2136);
  mem.write(p - 8, new Uint8Array(8).fill(0xcc));
  mem.write(p + 8, new Uint8Array(8).fill(0xcc)); // the object itself stays 0, as init_on_free left it
  const lines: string[] = [];
  const taint = newTaintState();
  const ctx = reporter(taint, lines, {
    dumpStack: () => [
      'CPU: 0 UID: 0 PID: 0 Comm: swapper/0 Not tainted 6.11.0-rc3-next-20240814-00004-g61844c55c3f4 #144',
      'Hardware name: NXP i.MX95 19X19 board (DT)',
      'Call trace:',
      ' dump_backtrace+0x90/0xe8',
      ' show_stack+0x18/0x24',
    ],
  });
  const freePointer: FreePointerOps = { get: () => 0xffff0000100328c8n, valid: () => true, setNull: () => {} };
  const r = checkObject(mem, l, p, SLUB_RED_ACTIVE, { freePointer, report: ctx });
  assert.equal(r.ok, false);
  assert.deepEqual(lines, [
    '=============================================================================',
    'BUG kmalloc-8 (Not tainted): kmalloc Redzone overwritten',
    '-----------------------------------------------------------------------------',
    '',
    '0xffff000010032858-0xffff00001003285f @offset=2136. First byte 0x0 instead of 0xcc',
    'FIX kmalloc-8: Restoring kmalloc Redzone 0xffff000010032858-0xffff00001003285f=0xcc',
    'Slab 0xfffffdffc0400c80 objects=36 used=23 fp=0xffff000010032a18 flags=0x3fffe0000000200(workingset|node=0|zone=0|lastcpupid=0x1ffff)',
    'Object 0xffff000010032858 @offset=2136 fp=0xffff0000100328c8',
    '',
    'Redzone  ffff000010032850: cc cc cc cc cc cc cc cc                          ........',
    'Object   ffff000010032858: cc cc cc cc cc cc cc cc                          ........',
    'Redzone  ffff000010032860: cc cc cc cc cc cc cc cc                          ........',
    'Padding  ffff0000100328b4: 00 00 00 00 00 00 00 00 00 00 00 00              ............',
    'CPU: 0 UID: 0 PID: 0 Comm: swapper/0 Not tainted 6.11.0-rc3-next-20240814-00004-g61844c55c3f4 #144',
    'Hardware name: NXP i.MX95 19X19 board (DT)',
    'Call trace:',
    ' dump_backtrace+0x90/0xe8',
    ' show_stack+0x18/0x24',
    // add_taint(TAINT_BAD_PAGE, LOCKDEP_NOW_UNRELIABLE) after the trailer; the first one says this.
    'Disabling lock debugging due to kernel taint',
  ]);
  // The next report carries the taint and does not repeat the lockdep line.
  lines.length = 0;
  mem.poke(p + 9, 0);
  checkObject(mem, l, p, SLUB_RED_ACTIVE, { freePointer, report: reporter(taint, lines) });
  assert.equal(lines[1], 'BUG kmalloc-8 (Tainted: G    B             ): Right Redzone overwritten');
  assert.equal(lines.includes('Disabling lock debugging due to kernel taint'), false);
});

test('a report with tracks, "Bytes b4" and a corrupt free pointer (object_err inside check_object)', () => {
  const l = debugCalculateSizes(64, 8, P | U, false);
  const { mem, objects } = newSlab(l);
  const p = objectAt(l, 1);
  allocate(mem, l, p);
  mem.poke(p + 5, 0x41); // 'A' in a free object's poison
  mem.write(p + l.offset, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
  // Only the alloc track is set on this object (it was never freed).
  initObject(mem, l, p, SLUB_RED_INACTIVE);
  mem.poke(p + 5, 0x41);
  const lines: string[] = [];
  const taint = newTaintState();
  const ctx = reporter(taint, lines, { cacheName: 'TestSlub_1th_word_free', ...stackOf(taint, ['validate_slab']) });
  const fp = rawFreePointer(mem, l, objects);
  const r = checkObject(mem, l, p, SLUB_RED_INACTIVE, { freePointer: fp, report: ctx });
  assert.deepEqual(
    r.findings.map((f) => f.what),
    ['Poison', 'Freepointer corrupt'],
  );
  const v = (off: number): string => formatPointer(0xffff000000000000n + BigInt(p + off));
  const trailer = (fpValue: string): string[] => [
    'Allocated in __kmalloc_cache_noprof+0x1e4/0x3a0 age=100 cpu=1 pid=42',
    ' alloc_debug_processing+0x2b/0xa0',
    ' ___slab_alloc+0x5d6/0xb70',
    'Slab 0xfffffdffc0400c80 objects=36 used=23 fp=0xffff000010032a18 flags=0x3fffe0000000200(workingset|node=0|zone=0|lastcpupid=0x1ffff)',
    `Object 0x${v(0)} @offset=${p - SLAB} fp=0x${fpValue}`,
    '',
    `Bytes b4 ${v(-16)}: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................`,
    `Object   ${v(0)}: 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b  kkkkkkkkkkkkkkkk`,
    `Object   ${v(16)}: 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b  kkkkkkkkkkkkkkkk`,
    `Object   ${v(32)}: 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b  kkkkkkkkkkkkkkkk`,
    `Object   ${v(48)}: 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b a5  kkkkkkkkkkkkkkk.`,
  ];
  // 64 bytes, P|U, align 8: fp after the object at 64, tracks at 72 and 104, slot 136, no padding; the 16
  // bytes before object 1 are object 0's free track, zeroed by init_tracking().
  assert.deepEqual([l.offset, l.infoEnd, l.padStart, l.sizeFromObject], [64, 72, 136, 136]);
  // Each trailer ends with print_trailer()'s dump_stack(): first object_err()'s inside check_object(), before
  // its add_taint() (so "Not tainted"), then check_object()'s own `print_trailer(); add_taint();` at its end.
  const stack = (callers: string[], tainted: boolean): string[] => [
    `CPU: 1 UID: 0 PID: 42 Comm: kunit_try_catch ${tainted ? 'Tainted: G    B              ' : 'Not tainted '}6.12.0 #1`,
    ...(tainted ? ['Tainted: [B]=BAD_PAGE'] : []),
    'Call Trace:',
    ' <TASK>',
    ' dump_stack_lvl+0x0/0x0',
    ...[...callers, 'check_object', 'validate_slab'].map((f) => ` ${f}+0x0/0x0`),
    ' line_7+0x0/0x1 [scenario]',
    ' </TASK>',
  ];
  const expected = [
    '=============================================================================',
    'BUG TestSlub_1th_word_free (Not tainted): Poison overwritten',
    '-----------------------------------------------------------------------------',
    '',
    `0x${v(5)}-0x${v(5)} @offset=${p + 5 - SLAB}. First byte 0x41 instead of 0x6b`,
    `FIX TestSlub_1th_word_free: Restoring Poison 0x${v(5)}-0x${v(5)}=0x6b`,
    '=============================================================================',
    'BUG TestSlub_1th_word_free (Not tainted): Freepointer corrupt',
    '-----------------------------------------------------------------------------',
    '',
    ...trailer('0807060504030201'),
    ...stack(['print_trailer', 'object_err'], false),
    'Disabling lock debugging due to kernel taint',
    ...trailer('0000000000000000'),
    ...stack(['print_trailer'], true),
  ];
  assert.deepEqual(lines, expected);
});

test('slab_pad_check(): the leftover after the last slot of a SLAB_POISON slab', () => {
  const l = debugCalculateSizes(96, 32, SLAB_KMALLOC | F | Z | P | U, false);
  const { mem } = newSlab(l);
  const remainder = PAGE % l.size; // 4096 - 18 * 224 = 64
  assert.equal(remainder, 64);
  const pad = SLAB + PAGE - remainder;
  assert.equal(slabPadCheck(mem, l, SLAB, PAGE).ok, true);
  mem.poke(pad + 3, 0);
  mem.poke(pad + 9, 0x31);
  const lines: string[] = [];
  const taint = newTaintState();
  const ctx = reporter(taint, lines, { cacheName: 'kmalloc-96', ...stackOf(taint, ['free_slab']) });
  const r = slabPadCheck(mem, l, SLAB, PAGE, ctx);
  assert.deepEqual(
    bytesOf(r.findings).map((f) => [f.what, f.fault - pad, f.last - pad, f.value]),
    [['slab padding', 3, 9, 0]],
  );
  assert.equal(r.slabErrors, 2);
  const v = (a: number): string => formatPointer(0xffff000000000000n + BigInt(a));
  assert.deepEqual(lines, [
    '=============================================================================',
    `BUG kmalloc-96 (Not tainted): Padding overwritten. 0x${v(pad + 3)}-0x${v(pad + 9)} @offset=${PAGE - remainder + 3}`,
    '-----------------------------------------------------------------------------',
    '',
    'Slab 0xfffffdffc0400c80 objects=36 used=23 fp=0xffff000010032a18 flags=0x3fffe0000000200(workingset|node=0|zone=0|lastcpupid=0x1ffff)',
    // 6.12 slab_pad_check(): slab_err(s, slab, "Padding overwritten. ...") is slab_bug(); print_slab_info();
    // dump_stack(); add_taint(), then print_section(KERN_ERR, "Padding ", pad, remainder); restore_bytes().
    'CPU: 1 UID: 0 PID: 42 Comm: kunit_try_catch Not tainted 6.12.0 #1',
    'Call Trace:',
    ' <TASK>',
    ' dump_stack_lvl+0x0/0x0',
    ' slab_err+0x0/0x0',
    ' slab_pad_check+0x0/0x0',
    ' free_slab+0x0/0x0',
    ' line_7+0x0/0x1 [scenario]',
    ' </TASK>',
    'Disabling lock debugging due to kernel taint',
    `Padding ${v(pad)}: 5a 5a 5a 00 5a 5a 5a 5a 5a 31 5a 5a 5a 5a 5a 5a  ZZZ.ZZZZZ1ZZZZZZ`,
    `Padding ${v(pad + 16)}: ${Array(16).fill('5a').join(' ')}  ${'Z'.repeat(16)}`,
    `Padding ${v(pad + 32)}: ${Array(16).fill('5a').join(' ')}  ${'Z'.repeat(16)}`,
    `Padding ${v(pad + 48)}: ${Array(16).fill('5a').join(' ')}  ${'Z'.repeat(16)}`,
    `FIX kmalloc-96: Restoring slab padding 0x${v(pad + 3)}-0x${v(pad + 9)}=0x5a`,
  ]);
  assert.equal(slabPadCheck(mem, l, SLAB, PAGE).ok, true);
});

/* ---------------------------------------------------------------------------------------------------- */
/* Fuzz                                                                                                   */
/* ---------------------------------------------------------------------------------------------------- */

/** xorshift32: a fixed sequence, so a failure reproduces. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

test('random bytes in and around objects never make the checks throw, and one pass restores them', () => {
  const next = rng(0x5eed);
  const flagSets = [Z, P, U, F | Z | P | U, SLAB_KMALLOC | U | Z, SLAB_KMALLOC | F | Z | P | U, P | U, Z | P];
  for (let round = 0; round < 400; round++) {
    const objectSize = 1 + (next() % 700);
    const align = 8 << (next() % 5);
    const flags = flagSets[next() % flagSets.length]!;
    const l = debugCalculateSizes(objectSize, align, flags, next() % 5 === 0);
    const { mem, objects } = newSlab(l);
    const idx = next() % objects;
    const p = objectAt(l, idx);
    const from = p - l.redLeftPad;
    const mode = next() % 3;
    for (let i = 0; i < l.size; i++) {
      if (mode === 0 || next() % 8 === 0) mem.poke(from + i, next() & 0xff);
    }
    for (let i = objects * l.size; i < PAGE; i++) if (next() % 4 === 0) mem.poke(SLAB + i, next() & 0xff);
    const fp = rawFreePointer(mem, l, objects);
    const lines: string[] = [];
    const ctx = reporter(newTaintState(), lines);
    for (const val of [SLUB_RED_ACTIVE, SLUB_RED_INACTIVE]) {
      const first = checkObject(mem, l, p, val, { freePointer: fp, report: ctx });
      assert.equal(first.ok, first.findings.length === 0);
      assert.equal(checkObject(mem, l, p, val, { freePointer: fp }).ok, true, `round ${round}`);
    }
    slabPadCheck(mem, l, SLAB, PAGE, ctx);
    assert.equal(slabPadCheck(mem, l, SLAB, PAGE).ok, true);
    for (const line of lines) assert.equal(typeof line, 'string');
  }
});
