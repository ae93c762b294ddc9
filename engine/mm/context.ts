/*
 * The execution context kernel code runs in, and the checks that depend on it (Linux 6.12 include/linux/
 * preempt.h, kernel/sched/core.c __might_resched() and __schedule_bug()).
 *
 * preempt_count() is one word: bits 0-7 count preempt_disable() (spin_lock() takes one), bits 8-15 softirq
 * (SOFTIRQ_OFFSET 0x100 while a softirq runs, SOFTIRQ_DISABLE_OFFSET 0x200 per local_bh_disable()), bits
 * 16-19 hardirq (HARDIRQ_OFFSET 0x10000 while an interrupt handler runs). in_atomic() is preempt_count() != 0;
 * irqs_disabled() is separate state (local_irq_disable(), spin_lock_irqsave(), and every hardirq handler);
 * rcu_read_lock() nests in current->rcu_read_lock_nesting under CONFIG_PREEMPT_RCU (the model is a PREEMPT
 * kernel, as its oops lines say). Invariants: every count is >= 0; an `on irq` / `on softirq` block and every
 * lock call that succeeded is undone by its exit or unlock, so leaving a block restores the context.
 *
 * Checks:
 *   might_sleep   an allocation whose gfp may block (__GFP_DIRECT_RECLAIM: GFP_KERNEL, not GFP_ATOMIC) calls
 *                 might_alloc() -> __might_sleep(); with preemption off, interrupts off, in an interrupt or
 *                 inside rcu_read_lock() it prints "BUG: sleeping function called from invalid context at
 *                 include/linux/sched/mm.h:321" and its INFO lines, at most once a second (prev_jiffy), and
 *                 taints the kernel W. The allocation goes on, as in the kernel.
 *   schedule      msleep() in atomic context schedules: "BUG: scheduling while atomic: comm/pid/0x%08x".
 * Both are `might_sleep` events. Not modelled: lockdep (its "locks held" and irq-trace lines), the
 * non_block count, spinlock recursion checks (a second spin_lock of a held lock is refused as a deadlock).
 */

import { TAINT_WARN, dumpStackHeader } from './slub_debug';

export const PREEMPT_OFFSET = 1;
export const SOFTIRQ_OFFSET = 0x100;
export const SOFTIRQ_DISABLE_OFFSET = 0x200;
export const HARDIRQ_OFFSET = 0x10000;
/** Where might_alloc() sits in 6.12 (the file and line __might_sleep() prints for an allocation). */
export const MIGHT_ALLOC_SITE = 'include/linux/sched/mm.h:321';

/** What the context needs of the machine: the log, the clock, the taint, who runs and where. */
export interface ContextHost {
  printk(text: string): void;
  /** Who runs where, now: jiffies, CPU, scenario line, current->comm and the kernel's taint. */
  now(): { jiffies: number; cpu: number; line: number; comm: string; pid: number; taint: { mask: number } };
  /** A might_sleep report was printed. */
  report(kind: MightSleepKind): void;
}

export enum MightSleepKind {
  /** __might_resched(): "BUG: sleeping function called from invalid context". */
  SleepingInAtomic = 1,
  /** __schedule_bug(): "BUG: scheduling while atomic". */
  SchedulingWhileAtomic,
}

export type LockKind = 'spin' | 'irqsave' | 'bh';

/** Fake text address of a scenario line, for print_ip_sym()'s "[<%px>] %pS". */
const TEXT_BASE = 0xffffffff81000000n;

export class ExecContext {
  preemptCount = 0;
  /** local_irq_disable() depth (hardirq handlers count one): irqs_disabled() is depth > 0. */
  irqsOff = 0;
  rcuDepth = 0;
  /** Locks held: key -> how it was taken. */
  readonly locks = new Map<string, LockKind>();
  /** The scenario line that first disabled preemption (current->preempt_disable_ip). */
  private preemptDisableLine = 0;
  /** prev_jiffy of __might_resched(): one report per HZ. */
  private prevJiffy = 0;

  constructor(private readonly host: ContextHost) {}

  inAtomic(): boolean {
    return this.preemptCount !== 0;
  }

  /** preempt_count_add(): remembers where preemption went off (CONFIG_DEBUG_PREEMPT). */
  add(offset: number): void {
    if (this.preemptCount === 0) this.preemptDisableLine = this.host.now().line;
    this.preemptCount += offset;
  }

  sub(offset: number): void {
    this.preemptCount = Math.max(0, this.preemptCount - offset);
  }

  /** irq_enter() / irq_exit() of an `on irq` block: hardirq count, interrupts off. */
  irqEnter(): void {
    this.add(HARDIRQ_OFFSET);
    this.irqsOff++;
  }

  irqExit(): void {
    this.sub(HARDIRQ_OFFSET);
    this.irqsOff = Math.max(0, this.irqsOff - 1);
  }

  softirqEnter(): void {
    this.add(SOFTIRQ_OFFSET);
  }

  softirqExit(): void {
    this.sub(SOFTIRQ_OFFSET);
  }

  /**
   * might_alloc() of an allocation with this gfp: the report when it may block in atomic context. `entry` is
   * the allocator's function for the stack.
   */
  mightAlloc(mayBlock: boolean, entry: string): void {
    if (!mayBlock) return;
    if (this.preemptCount === 0 && this.irqsOff === 0 && this.rcuDepth === 0) return;
    const h = this.host.now();
    // time_before(jiffies, prev_jiffy + HZ) && prev_jiffy: at most one report a second.
    if (this.prevJiffy && h.jiffies < this.prevJiffy + 1000) return;
    this.prevJiffy = h.jiffies;
    const hex = (n: number) => n.toString(16);
    const lines = [
      `BUG: sleeping function called from invalid context at ${MIGHT_ALLOC_SITE}`,
      `in_atomic(): ${this.inAtomic() ? 1 : 0}, irqs_disabled(): ${this.irqsOff > 0 ? 1 : 0}, non_block: 0, pid: ${h.pid}, name: ${h.comm}`,
      `preempt_count: ${hex(this.preemptCount)}, expected: 0`,
      `RCU nest depth: ${this.rcuDepth}, expected: 0`,
      ...this.preemptDisabledAt(),
      ...this.dumpStack(['__might_resched', entry]),
    ];
    for (const l of lines) this.host.printk(`${l}\n`);
    h.taint.mask |= 1 << TAINT_WARN;
    this.host.report(MightSleepKind.SleepingInAtomic);
  }

  /** schedule() from atomic context (msleep): __schedule_bug(). True when it reported. */
  scheduleCheck(): boolean {
    if (this.preemptCount === 0) return false;
    const h = this.host.now();
    const lines = [
      `BUG: scheduling while atomic: ${h.comm}/${h.pid}/0x${this.preemptCount.toString(16).padStart(8, '0')}`,
      ...this.preemptDisabledAt(),
      ...this.dumpStack(['__schedule_bug', '__schedule', 'schedule', 'schedule_timeout', 'msleep']),
    ];
    for (const l of lines) this.host.printk(`${l}\n`);
    h.taint.mask |= 1 << TAINT_WARN;
    this.host.report(MightSleepKind.SchedulingWhileAtomic);
    return true;
  }

  /** print_preempt_disable_ip() (CONFIG_DEBUG_PREEMPT): where preemption went off, when it is off. */
  private preemptDisabledAt(): string[] {
    if (this.preemptCount === 0) return [];
    const ip = TEXT_BASE + (BigInt(Math.max(0, this.preemptDisableLine)) << 8n);
    return ['Preemption disabled at:', `[<${ip.toString(16)}>] line_${this.preemptDisableLine}+0x0/0x1 [scenario]`];
  }

  /** dump_stack(): the header lines, then the frames (innermost first) in the context's section. */
  private dumpStack(frames: readonly string[]): string[] {
    const h = this.host.now();
    // Interrupt handlers and softirqs run on the IRQ stack: "<IRQ>"; task context "<TASK>".
    const section = this.preemptCount & (0xf0000 | 0x100) ? 'IRQ' : 'TASK';
    return [
      ...dumpStackHeader(h.cpu, h.pid, h.comm, h.taint.mask),
      'Call Trace:',
      ` <${section}>`,
      ' dump_stack_lvl+0x0/0x0',
      ...frames.map((f) => ` ${f}+0x0/0x0`),
      ` line_${h.line}+0x0/0x1 [scenario]`,
      ` </${section}>`,
    ];
  }
}
