/**
 * Remote commands on `<base>/<id>/set` and simulator injections on `<base>/<id>/inject`:
 * validation, authorisation and the answer on `<base>/<id>/set/result`.
 *
 * Rules (README, "MQTT"):
 * - A payload that is too large, not JSON, or not exactly one known command gets
 *   `{ok:false, error}` naming what is wrong, and nothing changes. A command may carry a
 *   correlation `"id"`, which its result echoes.
 * - `{"valve":"CLOSE"}` is always allowed. Nothing opens the valve remotely.
 * - `{"reset":"trip"}`, `{"resume":true}` and `{"exercise":true}` (each can let water in) are
 *   refused unless the device allows remote commands (`--allow-remote-reset`); the controller
 *   still refuses them unless the pan has been dry for leak.dryMs, and runs the exercise (a
 *   supervised proof test of the shut-off) only when armed and idle, at most once an hour.
 */
import type { CommandResult, UserCommand } from '../board/runtime-types.js';
import { commandIdSchema, commandSchema, injectSchema } from '../protocol/topics.js';
import type { z } from 'zod';

export const MAX_PAYLOAD_BYTES = 1024;

interface Correlated {
  /** The command's correlation id, echoed in the result. */
  readonly id?: string;
}

export type ParsedCommand =
  ({ readonly ok: true; readonly command: UserCommand; readonly key: string } & Correlated) | ({ readonly ok: false; readonly error: string; readonly key?: string } & Correlated);

const KEYS: Record<string, UserCommand> = { valve: 'closeValve', reset: 'reset', exercise: 'exercise', resume: 'resume' };
const EXPECTED: Record<string, string> = {
  valve: '{"valve":"CLOSE"} (the valve cannot be opened remotely)',
  reset: '{"reset":"trip"}',
  exercise: '{"exercise":true}',
  resume: '{"resume":true}',
};

function readJson(payload: Buffer): { ok: true; value: unknown } | { ok: false; error: string } {
  if (payload.length > MAX_PAYLOAD_BYTES) return { ok: false, error: `payload too large: ${payload.length} bytes (at most ${MAX_PAYLOAD_BYTES})` };
  if (payload.length === 0) return { ok: false, error: 'empty payload: expected a JSON object' };
  try {
    return { ok: true, value: JSON.parse(payload.toString('utf8')) };
  } catch {
    return { ok: false, error: 'payload is not JSON' };
  }
}

/** Reads a `set` payload into one command, or says what is wrong with it. */
export function parseCommand(payload: Buffer): ParsedCommand {
  const json = readJson(payload);
  if (!json.ok) return json;
  const value = json.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, error: 'payload must be a JSON object such as {"valve":"CLOSE"}' };
  const { id: rawId, ...rest } = value as Record<string, unknown>;
  let corr: Correlated = {};
  if (rawId !== undefined) {
    const id = commandIdSchema.safeParse(rawId);
    if (!id.success) return { ok: false, error: `invalid id: ${id.error.issues[0]?.message ?? 'not a string'}` };
    corr = { id: id.data };
  }
  const keys = Object.keys(rest);
  if (keys.length !== 1) return { ok: false, ...corr, error: `one command per message (got ${keys.length === 0 ? 'none' : keys.map((k) => `"${k.slice(0, 40)}"`).join(', ')})` };
  const key = keys[0]!;
  // Own keys only: "toString" or "constructor" must not find Object.prototype (and echo its values).
  const command = Object.hasOwn(KEYS, key) ? KEYS[key] : undefined;
  if (!command) return { ok: false, key, ...corr, error: `unknown command "${key.slice(0, 40)}" (expected one of ${Object.keys(KEYS).join(', ')})` };
  if (!commandSchema.safeParse(rest).success) return { ok: false, key, ...corr, error: `invalid ${key} command: expected ${EXPECTED[key]}` };
  return { ok: true, command, key, ...corr };
}

/** Whether a valid command may run, before the controller has its say. */
export function authoriseCommand(command: UserCommand, allowRemoteReset: boolean): CommandResult {
  if ((command === 'reset' || command === 'resume' || command === 'exercise') && !allowRemoteReset) {
    return { ok: false, error: `remote ${command} is disabled on this device (start it with --allow-remote-reset)` };
  }
  return { ok: true };
}

export type InjectName = z.output<typeof injectSchema>['inject'];

/** Reads an `inject` payload. */
export function parseInject(payload: Buffer): { ok: true; fault: InjectName } | { ok: false; error: string } {
  const json = readJson(payload);
  if (!json.ok) return json;
  const r = injectSchema.safeParse(json.value);
  if (!r.success) return { ok: false, error: `invalid injection: expected {"inject": one of ${injectSchema.shape.inject.options.join(', ')}}` };
  return { ok: true, fault: r.data.inject };
}
