/*
 * From the machine block to a MachineConfig: the script's entries win, then the host's defaults (launch
 * configuration, CLI flags), then DEFAULT_CONFIG. The result is checked with validateConfig
 * (engine/mm/config.ts); each problem becomes a diagnostic on the entry that set the bad value (KM3001 and
 * KM3002 on `memory`, KM3003 on `cpus`), or on the machine block / the start of the file when the value
 * came from the defaults.
 */

import { MachineSettings } from './checker';
import { Diagnostic, Range, error } from './diagnostics';
import { ArchName } from '../mm/arch';
import { DEFAULT_CONFIG, MachineConfig, validateConfig } from '../mm/config';

export interface MachineDefaults {
  memoryBytes?: number;
  cpus?: number;
  arch?: ArchName;
  hardenedFreelist?: boolean;
  slabDebug?: string;
  kasan?: boolean;
  kmemleak?: boolean;
  kfence?: number;
  seed?: number;
}

/** Which machine entry each configuration error code is about. */
const ENTRY_OF_CODE: Readonly<Record<string, 'memory' | 'cpus' | 'kfence' | 'seed'>> = {
  KM3001: 'memory',
  KM3002: 'memory',
  KM3003: 'cpus',
  KM3004: 'kfence',
  KM3005: 'seed',
};

const START_OF_FILE: Range = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };

export function resolveMachineConfig(
  settings: MachineSettings,
  defaults: MachineDefaults = {},
): { config: MachineConfig; diagnostics: Diagnostic[] } {
  const config: MachineConfig = {
    memoryBytes:
      settings.memory !== undefined
        ? Number(settings.memory.value)
        : (defaults.memoryBytes ?? DEFAULT_CONFIG.memoryBytes),
    cpus: settings.cpus !== undefined ? Number(settings.cpus.value) : (defaults.cpus ?? DEFAULT_CONFIG.cpus),
    arch: settings.arch?.name ?? defaults.arch ?? 'x86_64',
    hardenedFreelist: settings.slab_freelist_hardened?.on ?? defaults.hardenedFreelist ?? true,
    ...((settings.kasan?.on ?? defaults.kasan) ? { kasan: true } : {}),
    ...(settings.kasan_multi_shot?.on ? { kasanMultiShot: true } : {}),
    ...((settings.kmemleak?.on ?? defaults.kmemleak) ? { kmemleak: true } : {}),
    ...((settings.kfence !== undefined ? Number(settings.kfence.value) : defaults.kfence) !== undefined
      ? { kfence: settings.kfence !== undefined ? Number(settings.kfence.value) : defaults.kfence }
      : {}),
    ...((settings.seed !== undefined ? Number(settings.seed.value) : defaults.seed) !== undefined
      ? { seed: settings.seed !== undefined ? Number(settings.seed.value) : defaults.seed }
      : {}),
    ...((settings.slab_debug?.text ?? defaults.slabDebug) !== undefined
      ? { slabDebug: settings.slab_debug?.text ?? defaults.slabDebug }
      : {}),
  };
  const diagnostics = validateConfig(config).map((e) => {
    const entry = ENTRY_OF_CODE[e.code];
    const setting = entry === undefined ? undefined : settings[entry];
    if (setting) {
      return error(e.code, e.message, setting.range);
    }
    return error(e.code, `${e.message} (from the defaults of the launch)`, settings.block?.keyword ?? START_OF_FILE);
  });
  return { config, diagnostics };
}
