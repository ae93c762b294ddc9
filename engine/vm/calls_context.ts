/*
 * The kernel's atomic sections from scenarios: spin locks (plain, _irqsave, _bh), preempt_disable(),
 * local_irq_disable() and rcu_read_lock(), each changing the machine's execution context (engine/mm/context.ts)
 * as the kernel's does, so that an allocation that may sleep inside one is reported ("BUG: sleeping function
 * called from invalid context"). A lock is any value that names it (a number, or the address of the structure
 * holding it). Taking a lock already held is refused as the deadlock it would be (KM4125); releasing one that
 * is not held, or enabling what was not disabled, is KM4126.
 */

import { SOFTIRQ_DISABLE_OFFSET, LockKind } from '../mm/context';
import type { Machine } from '../mm/machine';
import type { CallFailure, GenericBuiltin } from './calls';
import { Value, formatValue } from './values';

function lockOf(machine: Machine, name: string, lock: Value, kind: LockKind): CallFailure | undefined {
  const key = formatValue(lock);
  if (machine.context.locks.has(key)) {
    return {
      code: 'KM4125',
      message: `${name}(${key}): the lock is already held; spinning on it here would never end (a deadlock)`,
    };
  }
  machine.context.locks.set(key, kind);
  return undefined;
}

function unlockOf(machine: Machine, name: string, lock: Value, kind: LockKind): CallFailure | undefined {
  const key = formatValue(lock);
  const held = machine.context.locks.get(key);
  if (held !== kind) {
    return {
      code: 'KM4126',
      message:
        held === undefined
          ? `${name}(${key}): the lock is not held`
          : `${name}(${key}): the lock was taken with the ${held === 'spin' ? 'spin_lock' : `spin_lock_${held}`} variant`,
    };
  }
  machine.context.locks.delete(key);
  return undefined;
}

function unbalanced(name: string, what: string): CallFailure {
  return { code: 'KM4126', message: `${name}: ${what} is not disabled (unbalanced)` };
}

/** The doc the spin_lock() variants and their unlocks share, as one row of the builtin table of docs/language.md. */
const SPIN_LOCK_DOC =
  'Take and release a spin lock named by any value (preemption off; interrupts or softirqs off for the variants); see [`on irq`](#on-irq-and-on-softirq-interrupt-context-and-atomic-sections).';

/**
 * The doc preempt_disable(), local_irq_disable(), rcu_read_lock() and their ends share, as one row of the
 * builtin table of docs/language.md.
 */
const ATOMIC_SECTION_DOC = "Atomic sections as the kernel's: an allocation that may sleep inside one is reported.";

export const CONTEXT_BUILTINS: readonly GenericBuiltin[] = [
  {
    name: 'spin_lock',
    params: ['lock'],
    returnsValue: false,
    summary:
      'Takes a spin lock: preemption is off until spin_unlock (preempt_count + 1), so nothing in between may sleep.',
    doc: SPIN_LOCK_DOC,
    returns: 'nothing',
    topic: 'context',
    run(machine, [lock]) {
      const bad = lockOf(machine, 'spin_lock', lock!, 'spin');
      if (bad) return bad;
      machine.context.add(1);
      return undefined;
    },
  },
  {
    name: 'spin_unlock',
    params: ['lock'],
    returnsValue: false,
    summary: 'Releases a spin lock taken with spin_lock.',
    doc: SPIN_LOCK_DOC,
    returns: 'nothing',
    topic: 'context',
    run(machine, [lock]) {
      const bad = unlockOf(machine, 'spin_unlock', lock!, 'spin');
      if (bad) return bad;
      machine.context.sub(1);
      return undefined;
    },
  },
  {
    name: 'spin_lock_irqsave',
    params: ['lock'],
    returnsValue: false,
    summary: 'Takes a spin lock with local interrupts off (the flags are kept with the lock here).',
    doc: SPIN_LOCK_DOC,
    returns: 'nothing',
    topic: 'context',
    run(machine, [lock]) {
      const bad = lockOf(machine, 'spin_lock_irqsave', lock!, 'irqsave');
      if (bad) return bad;
      machine.context.irqsOff++;
      machine.context.add(1);
      return undefined;
    },
  },
  {
    name: 'spin_unlock_irqrestore',
    params: ['lock'],
    returnsValue: false,
    summary: 'Releases a spin lock taken with spin_lock_irqsave and restores interrupts.',
    doc: SPIN_LOCK_DOC,
    returns: 'nothing',
    topic: 'context',
    run(machine, [lock]) {
      const bad = unlockOf(machine, 'spin_unlock_irqrestore', lock!, 'irqsave');
      if (bad) return bad;
      machine.context.irqsOff = Math.max(0, machine.context.irqsOff - 1);
      machine.context.sub(1);
      return undefined;
    },
  },
  {
    name: 'spin_lock_bh',
    params: ['lock'],
    returnsValue: false,
    summary: 'Takes a spin lock with softirqs off on this CPU (SOFTIRQ_DISABLE_OFFSET + 1).',
    doc: SPIN_LOCK_DOC,
    returns: 'nothing',
    topic: 'context',
    run(machine, [lock]) {
      const bad = lockOf(machine, 'spin_lock_bh', lock!, 'bh');
      if (bad) return bad;
      machine.context.add(SOFTIRQ_DISABLE_OFFSET + 1);
      return undefined;
    },
  },
  {
    name: 'spin_unlock_bh',
    params: ['lock'],
    returnsValue: false,
    summary: 'Releases a spin lock taken with spin_lock_bh.',
    doc: SPIN_LOCK_DOC,
    returns: 'nothing',
    topic: 'context',
    run(machine, [lock]) {
      const bad = unlockOf(machine, 'spin_unlock_bh', lock!, 'bh');
      if (bad) return bad;
      machine.context.sub(SOFTIRQ_DISABLE_OFFSET + 1);
      return undefined;
    },
  },
  {
    name: 'preempt_disable',
    params: [],
    returnsValue: false,
    summary: 'Disables preemption (preempt_count + 1) until preempt_enable.',
    doc: ATOMIC_SECTION_DOC,
    returns: 'nothing',
    topic: 'context',
    run(machine) {
      machine.context.add(1);
      return undefined;
    },
  },
  {
    name: 'preempt_enable',
    params: [],
    returnsValue: false,
    summary: 'Undoes one preempt_disable.',
    doc: ATOMIC_SECTION_DOC,
    returns: 'nothing',
    topic: 'context',
    run(machine) {
      if ((machine.context.preemptCount & 0xff) === 0) return unbalanced('preempt_enable', 'preemption');
      machine.context.sub(1);
      return undefined;
    },
  },
  {
    name: 'local_irq_disable',
    params: [],
    returnsValue: false,
    summary: "Disables this CPU's interrupts until local_irq_enable.",
    doc: ATOMIC_SECTION_DOC,
    returns: 'nothing',
    topic: 'context',
    run(machine) {
      machine.context.irqsOff++;
      return undefined;
    },
  },
  {
    name: 'local_irq_enable',
    params: [],
    returnsValue: false,
    summary: 'Enables interrupts again (undoes one local_irq_disable).',
    doc: ATOMIC_SECTION_DOC,
    returns: 'nothing',
    topic: 'context',
    run(machine) {
      if (machine.context.irqsOff === 0) return unbalanced('local_irq_enable', 'interrupts');
      machine.context.irqsOff--;
      return undefined;
    },
  },
  {
    name: 'rcu_read_lock',
    params: [],
    returnsValue: false,
    summary: 'Enters an RCU read-side critical section, which must not sleep (RCU nest depth + 1).',
    doc: ATOMIC_SECTION_DOC,
    returns: 'nothing',
    topic: 'context',
    run(machine) {
      machine.context.rcuDepth++;
      return undefined;
    },
  },
  {
    name: 'rcu_read_unlock',
    params: [],
    returnsValue: false,
    summary: 'Leaves an RCU read-side critical section.',
    doc: ATOMIC_SECTION_DOC,
    returns: 'nothing',
    topic: 'context',
    run(machine) {
      if (machine.context.rcuDepth === 0) return unbalanced('rcu_read_unlock', 'an RCU read-side section');
      machine.context.rcuDepth--;
      return undefined;
    },
  },
];
