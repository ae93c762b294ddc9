/*
 * The launch configuration of a kmem debug session, validated. Every attribute is checked and every
 * problem reported at once; nothing here throws.
 */

import { ARCH_NAMES, ArchName, isArchName } from '../../engine/mm/arch';
import { DebugProtocol } from '@vscode/debugprotocol';
import { MAX_CPUS, parseSize } from '../../engine/mm/config';

export interface KmemLaunchArgs {
  /** Absolute path of the .kmem scenario. */
  readonly program: string;
  readonly stopOnEntry: boolean;
  /** Run to the end without stopping (the editor's Run button). */
  readonly noDebug: boolean;
  /** Machine defaults where the scenario's machine block is silent. */
  readonly memoryBytes?: number;
  readonly cpus?: number;
  readonly arch?: ArchName;
  /** The folder `include` must stay inside; absent: the program's folder. */
  readonly workspaceRoot?: string;
}

export type LaunchRequestArguments = DebugProtocol.LaunchRequestArguments & Record<string, unknown>;

export function parseLaunchArgs(raw: LaunchRequestArguments): { args?: KmemLaunchArgs; problems: string[] } {
  const problems: string[] = [];
  const program = raw['program'];
  if (typeof program !== 'string' || program.trim() === '') {
    problems.push("'program' must be the path of a .kmem scenario");
  }
  const stopOnEntry = raw['stopOnEntry'] ?? false;
  if (typeof stopOnEntry !== 'boolean') {
    problems.push("'stopOnEntry' must be true or false");
  }
  let memoryBytes: number | undefined;
  const memory = raw['memory'];
  if (memory !== undefined) {
    memoryBytes = typeof memory === 'string' ? parseSize(memory) : typeof memory === 'number' ? memory : undefined;
    if (memoryBytes === undefined) {
      problems.push(`'memory' must be a size such as "256M" or "4G", not ${JSON.stringify(memory)}`);
    }
  }
  const cpus = raw['cpus'];
  if (cpus !== undefined && (typeof cpus !== 'number' || !Number.isInteger(cpus) || cpus < 1 || cpus > MAX_CPUS)) {
    problems.push(`'cpus' must be a whole number from 1 to ${MAX_CPUS}, not ${JSON.stringify(cpus)}`);
  }
  const arch = raw['arch'];
  if (arch !== undefined && (typeof arch !== 'string' || !isArchName(arch))) {
    problems.push(`'arch' must be one of ${ARCH_NAMES.join(', ')}, not ${JSON.stringify(arch)}`);
  }
  const workspaceRoot = raw['workspaceRoot'];
  if (workspaceRoot !== undefined && (typeof workspaceRoot !== 'string' || workspaceRoot.trim() === '')) {
    problems.push(`'workspaceRoot' must be the path of a folder, not ${JSON.stringify(workspaceRoot)}`);
  }
  if (problems.length > 0) {
    return { problems };
  }
  return {
    problems,
    args: {
      program: program as string,
      stopOnEntry: stopOnEntry as boolean,
      noDebug: raw.noDebug === true,
      memoryBytes,
      cpus: cpus as number | undefined,
      arch: arch as ArchName | undefined,
      ...(workspaceRoot !== undefined ? { workspaceRoot: workspaceRoot as string } : {}),
    },
  };
}
