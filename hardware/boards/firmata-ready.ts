/**
 * The first half of the johnny-five driver's handshake (PROTOCOL.md §4): johnny-five on a port
 * until `ready`, then the relays made and released, before anything else is sent.
 *
 * - A board that did not reset on open (no auto-reset, or reopened) never announces itself: after
 *   500 ms of the clock the version and firmware name are asked for, instead of firmata.js's 5 s wait.
 * - No `ready` within `timeoutMs` (or a johnny-five error, or `abort(message)`) fails with one
 *   line; johnny-five's and firmata.js's own timers are then cleared, so a failed run exits.
 * - The valve is a johnny-five Relay of type NC, as the valve itself is normally closed: its
 *   `open()` energises the coil (HIGH, valve open) and `close()` releases it (LOW, valve closed).
 *   The drain-pump relay module is type NO (`close()` = HIGH = pump on). Both start released.
 */
import type { EventEmitter } from 'node:events';
import five from 'johnny-five';
import type { Clock } from '../../src/clock/clock.js';
import type { PinMap } from '../pins.js';
import { within } from './clock-waits.js';
import type { Firmata } from './plain-firmata.js';

const MODE_OUTPUT = 1;
/** How long a board may stay silent after the port opens before it is asked for its version. */
const NUDGE_AFTER_MS = 500;

export interface FirmataReadyOptions {
  readonly clock: Clock;
  readonly timeoutMs: number;
  /** Given a function that ends the wait with a message (close() while connecting); null once it has ended. */
  onAbortable(abort: ((message: string) => void) | null): void;
}

/** johnny-five `ready` on `port`; its firmata.js board. */
export async function firmataReady(port: NodeJS.ReadWriteStream | EventEmitter, options: FirmataReadyOptions): Promise<{ j5: five.Board; io: Firmata }> {
  const { clock, timeoutMs } = options;
  const j5 = new five.Board({ port, repl: false, debug: false, sigint: false, timeout: 3_600_000 } as unknown as five.BoardOption);
  const nudge = clock.setTimeout(() => {
    const io = j5.io as unknown as { versionReceived?: boolean } | undefined;
    const w = port as { write?: (b: Buffer) => unknown };
    if (!io?.versionReceived && typeof w.write === 'function') w.write(Buffer.from([0xf9, 0xf0, 0x79, 0xf7]));
  }, NUDGE_AFTER_MS);
  await within(clock, timeoutMs, `no Firmata handshake from the board within ${timeoutMs} ms (is the firmware flashed?)`, (done, fail) => {
    options.onAbortable(fail);
    j5.on('ready', () => done());
    j5.on('error', (err: unknown) => fail(`johnny-five: ${err instanceof Error ? err.message : String(err)}`));
  })
    .catch((err: unknown) => {
      // johnny-five's connect timer (the `timeout` above) and firmata's version request are
      // cleared only by a handshake that succeeds: left armed, they keep a failed run alive.
      clearTimeout((j5 as unknown as { timer?: NodeJS.Timeout }).timer);
      clearTimeout((j5.io as unknown as { reportVersionTimeoutId?: NodeJS.Timeout } | undefined)?.reportVersionTimeoutId);
      throw err;
    })
    .finally(() => {
      clock.clearTimeout(nudge);
      options.onAbortable(null);
    });
  return { j5, io: j5.io as unknown as Firmata };
}

/** Outputs safe before anything else: the valve's relay (NC) and the pump's (NO), both released. */
export function safeRelays(j5: five.Board, io: Firmata, map: PinMap): { valve: five.Relay; pump: five.Relay } {
  io.pinMode(map.pins.valve.pin, MODE_OUTPUT);
  io.pinMode(map.pins.drainPump.pin, MODE_OUTPUT);
  const valve = new five.Relay({ pin: map.pins.valve.pin, type: 'NC', board: j5 });
  const pump = new five.Relay({ pin: map.pins.drainPump.pin, type: 'NO', board: j5 });
  valve.close();
  pump.open();
  return { valve, pump };
}
