/**
 * The hardware contract every board implements: the simulated appliance, the emulated
 * Arduino running our firmware, and a real Arduino on USB. Types and rules only; no logic.
 *
 * Rules every implementation keeps (the Board contract suite in test/board checks them):
 * - Outputs start safe: after `open()` the inlet valve is closed and the drain pump is off.
 * - The valve is normally closed: `setValve(false)` and any failure mean no water.
 * - `read()` is synchronous and cheap: it returns the latest sample the board has, never blocks.
 * - A broken float wire reads `open`, never `dry`; a lost level signal reads `null`.
 * - `flowPulses` is a monotonically increasing counter (wraps are the board's problem, not ours).
 * - After `close()` the valve is closed (as far as the board can still be reached) and
 *   further calls are ignored.
 */
import type { FloatReading } from '../machine/events.js';

export interface BoardInputs {
  /** Base-pan float switch. */
  readonly float: FloatReading;
  /** Flow-meter pulses counted since the board started (monotonic). */
  readonly flowPulses: number;
  /** Tub level in litres, or null when the signal is lost (open circuit). */
  readonly tubLevelL: number | null;
  /** True once the one-shot hose safety valve has blown, where the board can sense it. */
  readonly hoseFuseBlown?: boolean;
}

/** Reports that come from the board itself, not from its sensors. */
export type BoardReport =
  /** The board's watchdog closed the valve: it heard no keepalive from the controller (iC0). */
  | { readonly type: 'linkLost' }
  | { readonly type: 'linkRestored' }
  /** The board's own interlock closed the valve (wet float) and latched it in its memory. */
  | { readonly type: 'localTrip'; readonly reason: string }
  /**
   * The board's own self-test (IEC 60730 class B: flash CRC, RAM, watchdog, stack, tick) failed:
   * it closed the valve and latched it. `test` names the check; the controller goes to service (i90).
   */
  | { readonly type: 'selfTestFailed'; readonly test: string }
  /** Something the operator must know (e.g. firmware without safety extensions). */
  | { readonly type: 'warning'; readonly message: string }
  /** The connection to the board failed; the runtime treats this as unsafe. */
  | { readonly type: 'error'; readonly message: string };

export type BoardKind = 'simulated' | 'emulated' | 'usb';

export interface Board {
  readonly kind: BoardKind;
  /** Flow-meter calibration. */
  readonly pulsesPerLitre: number;
  /** Connect and bring outputs to their safe state. Rejects with a BoardError. */
  open(): Promise<void>;
  read(): BoardInputs;
  /** Energise (true) or release (false) the normally-closed inlet valve. */
  setValve(open: boolean): void;
  setDrainPump(on: boolean): void;
  /** Tell the board the controller is alive; boards with a watchdog need one at least every second. */
  keepalive(): void;
  /**
   * A person's reset, accepted by the controller: a board that keeps its own trip latch (our
   * firmware, in EEPROM) is asked to clear it. The board still refuses while its float is not
   * dry. Optional: boards without a latch of their own leave it out.
   */
  resetLatch?(): void;
  /** Subscribe to board reports; returns an unsubscribe function. */
  onReport(listener: (report: BoardReport) => void): () => void;
  close(): Promise<void>;
}

export class BoardError extends Error {
  readonly boardError = true;
  constructor(message: string) {
    super(message);
    this.name = 'BoardError';
  }
}
