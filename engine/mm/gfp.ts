/*
 * GFP flags (include/linux/gfp_types.h, Linux 6.12): the bit values the kernel prints in
 * "mode:0x…(GFP_KERNEL)" and the composite masks scenarios name. The skeleton accepts them all and
 * records them; zone modifiers, reclaim and atomic reserves take effect as the page allocator grows.
 */

export const __GFP_DMA = 0x01;
export const __GFP_HIGHMEM = 0x02;
export const __GFP_DMA32 = 0x04;
export const __GFP_MOVABLE = 0x08;
export const __GFP_RECLAIMABLE = 0x10;
export const __GFP_HIGH = 0x20;
export const __GFP_IO = 0x40;
export const __GFP_FS = 0x80;
export const __GFP_ZERO = 0x100;
export const __GFP_DIRECT_RECLAIM = 0x400;
export const __GFP_KSWAPD_RECLAIM = 0x800;
export const __GFP_WRITE = 0x1000;
export const __GFP_NOWARN = 0x2000;
export const __GFP_RETRY_MAYFAIL = 0x4000;
export const __GFP_NOFAIL = 0x8000;
export const __GFP_NORETRY = 0x10000;
export const __GFP_MEMALLOC = 0x20000;
export const __GFP_COMP = 0x40000;
export const __GFP_NOMEMALLOC = 0x80000;
export const __GFP_HARDWALL = 0x100000;
export const __GFP_THISNODE = 0x200000;
export const __GFP_ACCOUNT = 0x400000;
export const __GFP_ZEROTAGS = 0x800000;
/*
 * __GFP_SKIP_ZERO and __GFP_SKIP_KASAN exist only with CONFIG_KASAN_HW_TAGS (arm64 MTE), __GFP_NOLOCKDEP only
 * with CONFIG_LOCKDEP, __GFP_NO_OBJ_EXT only with CONFIG_SLAB_OBJ_EXT: on the modelled x86-64 kernel they are 0,
 * so GFP_HIGHUSER_MOVABLE below carries no __GFP_SKIP_KASAN bit.
 */

export const __GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM;
export const GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM;
export const GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS;
export const GFP_KERNEL_ACCOUNT = GFP_KERNEL | __GFP_ACCOUNT;
export const GFP_NOWAIT = __GFP_KSWAPD_RECLAIM;
export const GFP_NOIO = __GFP_RECLAIM;
export const GFP_NOFS = __GFP_RECLAIM | __GFP_IO;
export const GFP_USER = __GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL;
export const GFP_DMA = __GFP_DMA;
export const GFP_DMA32 = __GFP_DMA32;
export const GFP_HIGHUSER = GFP_USER | __GFP_HIGHMEM;
export const GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | __GFP_MOVABLE;
export const GFP_TRANSHUGE_LIGHT =
  (GFP_HIGHUSER_MOVABLE | __GFP_COMP | __GFP_NOMEMALLOC | __GFP_NOWARN) & ~__GFP_RECLAIM;
export const GFP_TRANSHUGE = GFP_TRANSHUGE_LIGHT | __GFP_DIRECT_RECLAIM;

/** Every name a scenario may use for a GFP mask, with its value. */
export const GFP_NAMES: ReadonlyMap<string, number> = new Map([
  ['GFP_KERNEL', GFP_KERNEL],
  ['GFP_KERNEL_ACCOUNT', GFP_KERNEL_ACCOUNT],
  ['GFP_ATOMIC', GFP_ATOMIC],
  ['GFP_NOWAIT', GFP_NOWAIT],
  ['GFP_NOIO', GFP_NOIO],
  ['GFP_NOFS', GFP_NOFS],
  ['GFP_USER', GFP_USER],
  ['GFP_DMA', GFP_DMA],
  ['GFP_DMA32', GFP_DMA32],
  ['__GFP_ZERO', __GFP_ZERO],
  ['__GFP_NOWARN', __GFP_NOWARN],
  ['__GFP_NORETRY', __GFP_NORETRY],
  ['__GFP_NOFAIL', __GFP_NOFAIL],
  ['__GFP_COMP', __GFP_COMP],
  ['__GFP_ACCOUNT', __GFP_ACCOUNT],
  ['__GFP_HIGH', __GFP_HIGH],
  ['__GFP_RECLAIMABLE', __GFP_RECLAIMABLE],
  ['__GFP_MOVABLE', __GFP_MOVABLE],
  ['GFP_HIGHUSER', GFP_HIGHUSER],
  ['GFP_HIGHUSER_MOVABLE', GFP_HIGHUSER_MOVABLE],
  ['GFP_TRANSHUGE', GFP_TRANSHUGE],
  ['GFP_TRANSHUGE_LIGHT', GFP_TRANSHUGE_LIGHT],
  ['__GFP_DMA', __GFP_DMA],
  ['__GFP_DMA32', __GFP_DMA32],
  ['__GFP_HIGHMEM', __GFP_HIGHMEM],
  ['__GFP_IO', __GFP_IO],
  ['__GFP_FS', __GFP_FS],
  ['__GFP_DIRECT_RECLAIM', __GFP_DIRECT_RECLAIM],
  ['__GFP_KSWAPD_RECLAIM', __GFP_KSWAPD_RECLAIM],
  ['__GFP_RECLAIM', __GFP_RECLAIM],
  ['__GFP_RETRY_MAYFAIL', __GFP_RETRY_MAYFAIL],
  ['__GFP_NOMEMALLOC', __GFP_NOMEMALLOC],
  ['__GFP_MEMALLOC', __GFP_MEMALLOC],
  ['__GFP_HARDWALL', __GFP_HARDWALL],
  ['__GFP_THISNODE', __GFP_THISNODE],
  ['__GFP_WRITE', __GFP_WRITE],
]);

/**
 * gfpflag_names (mm/debug.c, from __def_gfpflag_names in include/trace/events/mmflags.h as of Linux 6.12):
 * the names %pGg prints, composite masks first. The order matters: format_flags() takes each entry whose
 * bits are all still set, in this order, and clears them. Linux 6.15 reordered the single bits (bit order,
 * "tracing: gfp: Remove duplication of recording GFP flags"); this is the 6.12 order, where __GFP_COMP comes
 * before __GFP_ZERO.
 */
export const GFPFLAG_NAMES: readonly (readonly [number, string])[] = [
  [GFP_TRANSHUGE, 'GFP_TRANSHUGE'],
  [GFP_TRANSHUGE_LIGHT, 'GFP_TRANSHUGE_LIGHT'],
  [GFP_HIGHUSER_MOVABLE, 'GFP_HIGHUSER_MOVABLE'],
  [GFP_HIGHUSER, 'GFP_HIGHUSER'],
  [GFP_USER, 'GFP_USER'],
  [GFP_KERNEL_ACCOUNT, 'GFP_KERNEL_ACCOUNT'],
  [GFP_KERNEL, 'GFP_KERNEL'],
  [GFP_NOFS, 'GFP_NOFS'],
  [GFP_ATOMIC, 'GFP_ATOMIC'],
  [GFP_NOIO, 'GFP_NOIO'],
  [GFP_NOWAIT, 'GFP_NOWAIT'],
  [GFP_DMA, 'GFP_DMA'],
  [__GFP_HIGHMEM, '__GFP_HIGHMEM'],
  [GFP_DMA32, 'GFP_DMA32'],
  [__GFP_HIGH, '__GFP_HIGH'],
  [__GFP_IO, '__GFP_IO'],
  [__GFP_FS, '__GFP_FS'],
  [__GFP_NOWARN, '__GFP_NOWARN'],
  [__GFP_RETRY_MAYFAIL, '__GFP_RETRY_MAYFAIL'],
  [__GFP_NOFAIL, '__GFP_NOFAIL'],
  [__GFP_NORETRY, '__GFP_NORETRY'],
  [__GFP_COMP, '__GFP_COMP'],
  [__GFP_ZERO, '__GFP_ZERO'],
  [__GFP_NOMEMALLOC, '__GFP_NOMEMALLOC'],
  [__GFP_MEMALLOC, '__GFP_MEMALLOC'],
  [__GFP_HARDWALL, '__GFP_HARDWALL'],
  [__GFP_THISNODE, '__GFP_THISNODE'],
  [__GFP_RECLAIMABLE, '__GFP_RECLAIMABLE'],
  [__GFP_MOVABLE, '__GFP_MOVABLE'],
  [__GFP_ACCOUNT, '__GFP_ACCOUNT'],
  [__GFP_WRITE, '__GFP_WRITE'],
  [__GFP_RECLAIM, '__GFP_RECLAIM'],
  [__GFP_DIRECT_RECLAIM, '__GFP_DIRECT_RECLAIM'],
  [__GFP_KSWAPD_RECLAIM, '__GFP_KSWAPD_RECLAIM'],
  [__GFP_ZEROTAGS, '__GFP_ZEROTAGS'],
];

/**
 * The text %pGg prints for a mask (lib/vsprintf.c flags_string() + format_flags()): the names whose bits are
 * all set, in GFPFLAG_NAMES order, joined by '|', then any bits no name covers as one hex number with 0x
 * (default_flag_spec: base 16, SPECIAL | SMALL). 0 prints nothing.
 */
export function formatGfpFlags(gfp: number): string {
  let flags = gfp >>> 0;
  const out: string[] = [];
  for (const [mask, name] of GFPFLAG_NAMES) {
    if (flags === 0) break;
    if ((flags & mask) >>> 0 !== mask) continue;
    out.push(name);
    flags = (flags & ~mask) >>> 0;
  }
  if (flags !== 0) out.push(`0x${flags.toString(16)}`);
  return out.join('|');
}
