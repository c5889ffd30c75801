/**
 * One zod fragment per flag the commands share, so `run`, `sim` and `start` read a flag the same
 * way, with the same default and the same one-line message naming it; each command's schema is
 * built from these plus its own flags. Fragments only: nothing here parses argv.
 */
import { z } from 'zod';
import { brokerUrlProblem } from '../protocol/broker-url.js';
import { deviceIdRule } from '../protocol/names.js';
import { heartbeatIntervalSchema } from '../telemetry/heartbeat-interval.js';
import { defaultDataDir } from './service/data-dir.js';

/** A TCP port, 0 (any free one) to 65535. */
export function portFlag(flag: string) {
  return z.coerce
    .number({ error: `${flag} must be an integer` })
    .int(`${flag} must be an integer`)
    .min(0, `${flag} must be 0-65535`)
    .max(65535, `${flag} must be 0-65535`);
}

/** `--data-dir`: `.aquastop/<command>` in the working directory unless given (service/data-dir.ts). */
export function dataDirFlag(command: string) {
  return z.string().min(1, '--data-dir must not be empty').default(defaultDataDir(command));
}

/** `--broker`: one URL, or the nodes of one clustered broker separated by commas; a bad entry is named. */
export const brokerFlag = z
  .string()
  .superRefine((url, ctx) => {
    const problem = brokerUrlProblem(url);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  })
  .optional();

/** `--id`: the device id (src/protocol/names.ts), `fallback` unless given. */
export function deviceIdFlag(fallback: string) {
  return deviceIdRule('--id').default(fallback);
}

/** `--mqtt-port`: the embedded broker's MQTT port. */
export const mqttPortFlag = portFlag('--mqtt-port').default(1883);

/** `--ws-port`: the embedded broker's MQTT-over-WebSocket port. */
export const wsPortFlag = portFlag('--ws-port').default(9001);

/** `--username` and `--password`: a broker login; never empty. */
export const usernameFlag = z.string().min(1, '--username must not be empty').optional();
export const passwordFlag = z.string().min(1, '--password must not be empty').optional();

/** `--accounts`: the embedded broker's accounts file. */
export const accountsFlag = z.string().min(1, '--accounts needs a file name').optional();

/** `--heartbeat`: the heartbeat interval, ms (0.5s to 60s, 10 s unless given). */
export const heartbeatFlag = heartbeatIntervalSchema().default(10_000);

/** `--allow-remote-reset`: reset, resume and exercise over MQTT; off unless given. */
export const allowRemoteResetFlag = z.boolean().default(false);
