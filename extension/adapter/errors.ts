/*
 * User-facing errors of the debug adapter: one factory per error, each with a stable numeric id (shown in
 * the error response) and a message that says what to do. Mirrors js-debug's src/dap/errors.ts.
 */

import { DebugProtocol } from '@vscode/debugprotocol';

export const enum ErrorId {
  InvalidLaunchArgs = 5001,
  ProgramUnreadable = 5002,
  ScenarioInvalid = 5003,
  NotLaunched = 5004,
  UnknownRequest = 5005,
  EvaluateFailed = 5006,
  Busy = 5007,
}

export interface AdapterError {
  readonly id: ErrorId;
  readonly message: string;
  readonly showUser: boolean;
}

export const invalidLaunchArgs = (problems: readonly string[]): AdapterError => ({
  id: ErrorId.InvalidLaunchArgs,
  message: `Invalid kmem launch configuration: ${problems.join('; ')}`,
  showUser: true,
});

export const programUnreadable = (program: string, reason: string): AdapterError => ({
  id: ErrorId.ProgramUnreadable,
  message: `Cannot read scenario '${program}': ${reason}`,
  showUser: true,
});

export const scenarioInvalid = (program: string, lines: readonly string[]): AdapterError => ({
  id: ErrorId.ScenarioInvalid,
  message: `The scenario '${program}' has errors:\n${lines.join('\n')}`,
  showUser: true,
});

export const notLaunched = (): AdapterError => ({
  id: ErrorId.NotLaunched,
  message: 'No scenario is running: launch one first',
  showUser: false,
});

export const unknownRequest = (command: string): AdapterError => ({
  id: ErrorId.UnknownRequest,
  message: `Unknown request '${command}'`,
  showUser: false,
});

export const evaluateFailed = (expression: string, reason: string): AdapterError => ({
  id: ErrorId.EvaluateFailed,
  message: `Cannot evaluate '${expression}': ${reason}`,
  showUser: false,
});

export const busy = (what: string): AdapterError => ({
  id: ErrorId.Busy,
  message: `The scenario is running: pause it before asking for ${what}`,
  showUser: false,
});

export function toMessage(error: AdapterError): DebugProtocol.Message {
  return { id: error.id, format: error.message, showUser: error.showUser };
}
