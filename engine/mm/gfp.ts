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
export const __GFP_NOWARN = 0x2000;
export const __GFP_RETRY_MAYFAIL = 0x4000;
export const __GFP_NOFAIL = 0x8000;
export const __GFP_NORETRY = 0x10000;
export const __GFP_COMP = 0x40000;
export const __GFP_HARDWALL = 0x100000;
export const __GFP_ACCOUNT = 0x400000;

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
]);
