/**
 * Telemetry entry point used by the commands: publishes every device's state, availability,
 * heartbeats and fault events, and takes commands (DESIGN.md "MQTT contract").
 *
 * CONTRACT STUB: the interface is fixed; the implementation lands with issue #3.
 */
import type { Clock } from '../board/clock.js';
import type { CommandResult, Runtime } from '../board/runtime-types.js';
import type { z } from 'zod';
import type { injectSchema } from './topics.js';

export type InjectName = z.output<typeof injectSchema>['inject'];

export interface TelemetryDevice {
  readonly runtime: Runtime;
  /** Firmware / software version shown in state and discovery. */
  readonly fw: string;
  /** Simulated devices accept fault injection from the dashboard; real ones leave this out. */
  readonly inject?: (fault: InjectName) => CommandResult;
}

export type BrokerOptions =
  | { readonly kind: 'embedded'; readonly host: string; readonly port: number; readonly wsPort: number | null }
  | { readonly kind: 'external'; readonly url: string; readonly username?: string; readonly password?: string };

export interface TelemetryOptions {
  readonly broker: BrokerOptions;
  /** Base topic, default "aquastop". */
  readonly baseTopic?: string;
  /** Home Assistant discovery prefix, default "homeassistant"; null turns discovery off. */
  readonly haPrefix?: string | null;
  /** Heartbeat interval in seconds (clock time), default 10. */
  readonly heartbeatS?: number;
  /** Where the outbox (fault events queued during outages) and boot counters live. */
  readonly dataDir: string;
  readonly clock: Clock;
  /** Allow `{"reset":"trip"}` from MQTT (still refused while the pan is wet). Default false. */
  readonly allowRemoteReset?: boolean;
  /** One line per notable thing (connected, reconnecting, rejected command). */
  readonly log?: (line: string) => void;
}

export interface Telemetry {
  /** mqtt:// URL of the broker in use. */
  readonly brokerUrl: string;
  /** ws:// URL for browsers, when the embedded broker has a WebSocket listener. */
  readonly wsUrl: string | null;
  /** Start publishing for a device; a device with the same id (after a power cut) is replaced. */
  addDevice(device: TelemetryDevice): void;
  /** Stop publishing for a device and mark it offline (power cut). */
  removeDevice(id: string): void;
  /** Resolves when everything queued so far has been handed to the broker (or to the on-disk outbox). */
  flush(): Promise<void>;
  /** Publishes offline for every device and the bridge, disconnects, stops an embedded broker. */
  stop(): Promise<void>;
}

/** Thrown for user-caused problems (port in use, bad URL, bad credentials): one line, exit 2. */
export class TelemetryError extends Error {
  readonly usageError = true;
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'TelemetryError';
  }
}

export async function startTelemetry(_options: TelemetryOptions): Promise<Telemetry> {
  throw new TelemetryError('MQTT telemetry is not built yet; use --no-mqtt');
}
