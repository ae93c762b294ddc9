/*
 * Atomic context (engine/mm/context.ts, engine/vm/calls_context.ts, `on irq` / `on softirq`): the checks of
 * Linux 6.12's kernel/sched/core.c __might_resched() (reached through might_alloc() in
 * include/linux/sched/mm.h for every allocation) and __schedule_bug(), with the preempt_count() layout of
 * include/linux/preempt.h. The report format follows a 6.12-rc3 splat quoted on netdev (Oct 2024):
 *   BUG: sleeping function called from invalid context at include/linux/sched/mm.h:321
 *   in_atomic(): 0, irqs_disabled(): 0, non_block: 0, pid: 3730, name: ip
 *   preempt_count: 0, expected: 0
 *   RCU nest depth: 1, expected: 0
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { loadScenario } from '../../engine/scenario';
import { diagnose } from '../../engine/lang/service';
import { EventKind } from '../../engine/trace/events';

function run(lines: string[]) {
  const { diagnostics, scenario } = loadScenario(`${lines.join('\n')}\n`, 'ctx.kmem');
  assert.deepEqual(
    diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  const stop = scenario!.vm.run({ maxInstructions: 1e7 });
  const m = scenario!.machine;
  return {
    log: m.log.join(''),
    machine: m,
    reports: m.reportCount(EventKind.MightSleep),
    stop: stop.reason === 'error' ? stop.error!.code : stop.reason,
  };
}

test('GFP_KERNEL under a spin lock: the sleeping-function splat with the INFO lines; GFP_ATOMIC is fine', () => {
  const r = run([
    'let lock = 1',
    'spin_lock(lock)',
    'let ok = kmalloc(64, GFP_ATOMIC)',
    'let bad = kmalloc(64, GFP_KERNEL)',
    'spin_unlock(lock)',
    'let fine = kmalloc(64, GFP_KERNEL)',
  ]);
  assert.equal(r.reports, 1);
  assert.equal(
    r.log,
    [
      'BUG: sleeping function called from invalid context at include/linux/sched/mm.h:321',
      'in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 1, name: kmem',
      'preempt_count: 1, expected: 0',
      'RCU nest depth: 0, expected: 0',
      'Preemption disabled at:',
      '[<ffffffff81000200>] line_2+0x0/0x1 [scenario]',
      'CPU: 0 UID: 0 PID: 1 Comm: kmem Not tainted 6.12.0 #1',
      'Call Trace:',
      ' <TASK>',
      ' dump_stack_lvl+0x0/0x0',
      ' __might_resched+0x0/0x0',
      ' __kmalloc_noprof+0x0/0x0',
      ' line_4+0x0/0x1 [scenario]',
      ' </TASK>',
      '',
    ].join('\n'),
  );
  // add_taint(TAINT_WARN): the next report's CPU line says so.
  assert.equal(r.machine.slubDebug.taint.mask, 1 << 9);
});

test('on irq: hardirq count and interrupts off; at most one report per second (prev_jiffy)', () => {
  const r = run([
    'on irq {',
    '  let a = kmalloc(32, GFP_KERNEL)',
    '  let b = kmalloc(32, GFP_KERNEL)', // within the same second: not printed
    '}',
    'msleep(1000)',
    'on softirq {',
    '  let c = alloc_pages(0, GFP_KERNEL)',
    '}',
    'let d = kmalloc(32, GFP_KERNEL)', // the context is restored: nothing
  ]);
  assert.equal(r.reports, 2);
  assert.match(
    r.log,
    /^in_atomic\(\): 1, irqs_disabled\(\): 1, non_block: 0, pid: 1, name: kmem\npreempt_count: 10000, expected: 0\n/m,
  );
  assert.match(
    r.log,
    /^in_atomic\(\): 1, irqs_disabled\(\): 0, non_block: 0, pid: 1, name: kmem\npreempt_count: 100, expected: 0\n/m,
  );
  assert.match(
    r.log,
    / <IRQ>\n dump_stack_lvl\+0x0\/0x0\n __might_resched\+0x0\/0x0\n __alloc_pages_noprof\+0x0\/0x0\n/,
  );
  assert.match(r.log, /Tainted: \[W\]=WARN\n/);
});

test('rcu_read_lock, local_irq_disable, spin_lock_irqsave and spin_lock_bh each make an atomic section', () => {
  const sections: [string, string, RegExp][] = [
    [
      'rcu_read_lock()',
      'rcu_read_unlock()',
      /in_atomic\(\): 0, irqs_disabled\(\): 0.*\npreempt_count: 0, expected: 0\nRCU nest depth: 1, expected: 0\n/,
    ],
    ['local_irq_disable()', 'local_irq_enable()', /in_atomic\(\): 0, irqs_disabled\(\): 1.*\npreempt_count: 0,/],
    [
      'spin_lock_irqsave(5)',
      'spin_unlock_irqrestore(5)',
      /in_atomic\(\): 1, irqs_disabled\(\): 1.*\npreempt_count: 1,/,
    ],
    ['spin_lock_bh(5)', 'spin_unlock_bh(5)', /in_atomic\(\): 1, irqs_disabled\(\): 0.*\npreempt_count: 201,/],
    ['preempt_disable()', 'preempt_enable()', /in_atomic\(\): 1, irqs_disabled\(\): 0.*\npreempt_count: 1,/],
  ];
  for (const [enter, leave, pattern] of sections) {
    const r = run([enter, 'let v = vmalloc(8192)', leave, 'let w = vmalloc(8192)']);
    assert.equal(r.reports, 1, enter);
    assert.match(r.log, pattern, enter);
  }
});

test('msleep in atomic context is "scheduling while atomic"', () => {
  const r = run(['preempt_disable()', 'msleep(10)', 'preempt_enable()', 'msleep(10)']);
  assert.equal(r.reports, 1);
  assert.match(r.log, /^BUG: scheduling while atomic: kmem\/1\/0x00000001\n/m);
});

test('a return from inside on irq leaves the interrupt; expect might_sleep expects the splat', () => {
  const r = run([
    'proc handler() {',
    '  on irq {',
    '    return kmalloc(16, GFP_ATOMIC)',
    '  }',
    '}',
    'let p = handler()',
    'let q = kmalloc(16, GFP_KERNEL)', // task context again: nothing
    'expect might_sleep {',
    '  on irq {',
    '    let r = kmalloc(16, GFP_KERNEL)',
    '  }',
    '}',
  ]);
  assert.equal(r.stop, 'end');
  assert.equal(r.reports, 1);
  assert.equal(r.machine.context.preemptCount, 0);
  assert.equal(r.machine.context.irqsOff, 0);
});

test('lock misuse: a held lock taken again (KM4125), an unheld one released or a wrong variant (KM4126)', () => {
  assert.equal(run(['spin_lock(1)', 'spin_lock(1)']).stop, 'KM4125');
  assert.equal(run(['spin_unlock(1)']).stop, 'KM4126');
  assert.equal(run(['spin_lock(1)', 'spin_unlock_irqrestore(1)']).stop, 'KM4126');
  assert.equal(run(['preempt_enable()']).stop, 'KM4126');
  assert.equal(run(['rcu_read_unlock()']).stop, 'KM4126');
});

test('the checker warns (KM2024) about a constant GFP mask that may sleep inside on irq / on softirq only', () => {
  const codes = (src: string) => diagnose(src, 'w.kmem').map((d) => `${d.severity} ${d.code}`);
  assert.deepEqual(codes('on softirq {\n  let p = kmalloc(64, GFP_KERNEL)\n}\n'), ['warning KM2024']);
  assert.deepEqual(codes('on irq {\n  let p = kmalloc(64, GFP_ATOMIC | __GFP_ZERO)\n}\n'), []);
  assert.deepEqual(codes('let p = kmalloc(64, GFP_KERNEL)\n'), []);
});
