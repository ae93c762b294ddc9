/*
 * crash's `rd` command: memory as 64-bit words, two per line, each line led by the kernel virtual address of
 * its first word and followed by the line's bytes as ASCII (isprint, else '.'), as crash prints
 *     ffff8810d1d9bd98:  ffffffff813271d4 ffff880000000000   ...'.....
 * The bytes are the machine's as the kernel would read them (Machine.readMemory), SLUB free pointers in
 * place, so a free object shows its (hardened) free pointer. Only the direct map of RAM is readable here.
 */

import { Machine } from '../mm/machine';

/** Words one rd may print (crash has no limit; the console does). */
export const RD_MAX_WORDS = 4096;

export type RdResult = { readonly text: string } | { readonly error: string };

/** `rd ADDR COUNT`: COUNT 64-bit words from the direct-map address virt. */
export function rd(machine: Machine, virt: bigint, count: number): RdResult {
  if (!Number.isInteger(count) || count < 1 || count > RD_MAX_WORDS) {
    return { error: `the count must be 1..${RD_MAX_WORDS} words, not ${count}` };
  }
  const phys = machine.phys(virt);
  const end = machine.phys(virt + BigInt(count * 8 - 1));
  if (phys === undefined || end === undefined) {
    return { error: `${virt.toString(16)} is not a direct-map address of this machine's RAM (for ${count} words)` };
  }
  if (phys % 8 !== 0) return { error: `rd reads whole words: ${virt.toString(16)} is not 8-byte aligned` };
  const bytes = machine.readMemory(phys, count * 8);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lines: string[] = [];
  for (let w = 0; w < count; w += 2) {
    const words = [view.getBigUint64(w * 8, true)];
    if (w + 1 < count) words.push(view.getBigUint64(w * 8 + 8, true));
    let ascii = '';
    for (let b = w * 8; b < (w + words.length) * 8; b++) {
      const c = bytes[b]!;
      ascii += c >= 0x20 && c <= 0x7e ? String.fromCharCode(c) : '.';
    }
    const addr = (virt + BigInt(w * 8)).toString(16).padStart(16, '0');
    const hex = words.map((x) => x.toString(16).padStart(16, '0')).join(' ');
    lines.push(`${addr}:  ${hex.padEnd(33)}   ${ascii}`);
  }
  return { text: lines.join('\n') + '\n' };
}
