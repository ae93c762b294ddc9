/*
 * Loading a scenario: source text to a booted machine and a VM standing at the first statement.
 *
 *   analyze (lex, parse, check) -> machine config (script, then defaults, then DEFAULT_CONFIG; validated)
 *   -> compile -> Machine.boot(config) -> new Vm(program, machine)
 *
 * Hosts (debug adapter, CLI, tests) call loadScenario and drive the VM with run(). When any diagnostic has
 * error severity, no scenario is returned: a script with errors never runs. Warnings do not block.
 */

import { Diagnostic, hasErrors, sortDiagnostics } from './lang/diagnostics';
import { compile } from './lang/compiler';
import { resolveMachineConfig } from './lang/machineConfig';
import { analyze } from './lang/service';
import type { IncludeHost } from './lang/include';
import { MachineConfig } from './mm/config';
import { ArchName } from './mm/arch';
import { Machine } from './mm/machine';
import { Program } from './vm/program';
import { Vm, VmOptions } from './vm/vm';

/** Machine settings used where the script's machine block is silent. */
export interface ScenarioDefaults {
  memoryBytes?: number;
  cpus?: number;
  arch?: ArchName;
  /** The slab_debug= boot option's value (slub_debug.ts). */
  slabDebug?: string;
  /** CONFIG_KASAN (kasan_checks.ts). */
  kasan?: boolean;
  /** CONFIG_DEBUG_KMEMLEAK (kmemleak_checks.ts). */
  kmemleak?: boolean;
  /** KFENCE's sample interval in ms (kfence_checks.ts). */
  kfence?: number;
  /** The seed of the machine's random numbers. */
  seed?: number;
}

export interface LoadedScenario {
  program: Program;
  machine: Machine;
  vm: Vm;
  config: MachineConfig;
}

export function loadScenario(
  source: string,
  fileName: string,
  defaults?: ScenarioDefaults,
  vmOptions: VmOptions = {},
  includes?: IncludeHost,
): { diagnostics: Diagnostic[]; scenario?: LoadedScenario } {
  const analysis = analyze(source, fileName, includes);
  const { config, diagnostics: configDiagnostics } = resolveMachineConfig(analysis.check.machine, defaults);
  const diagnostics = sortDiagnostics([...analysis.diagnostics, ...configDiagnostics]);
  if (hasErrors(diagnostics)) {
    return { diagnostics };
  }
  const program = compile(analysis.parse.script, analysis.check, fileName, analysis.includes);
  const machine = Machine.boot(config);
  if (Array.isArray(machine)) {
    throw new Error('loadScenario: Machine.boot refused a configuration validateConfig accepted');
  }
  return { diagnostics, scenario: { program, machine, vm: new Vm(program, machine, vmOptions), config } };
}
