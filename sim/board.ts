/**
 * The simulated board: a thin Board over a Plant. Reads are the plant's signals, outputs
 * go straight to the plant.
 *
 * Like our firmware it keeps a link watchdog when given a clock: no keepalive for
 * `watchdogMs` and it closes the valve itself, holds it closed and reports `linkLost`
 * (iC0); the next keepalive reports `linkRestored`. `cutLink()` makes keepalives stop
 * arriving (a broken cable, a hung host), which is how the simulator injects iC0.
 *
 * `failSelfTest(test)` is a failed firmware self-test (flash CRC, RAM march, ...): like our
 * firmware, the board closes the valve, holds it closed and reports `selfTestFailed` (i90).
 */
import type { Board, BoardInputs, BoardReport } from '../src/board/board.js';
import type { Clock } from '../src/board/clock.js';
import type { Plant } from '../src/board/plant.js';

export interface SimulatedBoardOptions {
  readonly clock: Clock;
  /** Link watchdog timeout (controller config `link.watchdogMs`). */
  readonly watchdogMs: number;
}

export class SimulatedBoard implements Board {
  readonly kind = 'simulated' as const;
  readonly pulsesPerLitre: number;
  private closed = false;
  private readonly listeners = new Set<(report: BoardReport) => void>();
  private linkCut = false;
  private linkLost = false;
  private selfTestFailed = false;
  private lastKeepalive = 0;
  private watchdogTimer: unknown = null;

  constructor(
    private readonly plant: Plant,
    private readonly watchdog?: SimulatedBoardOptions,
  ) {
    this.pulsesPerLitre = plant.pulsesPerLitre;
  }

  async open(): Promise<void> {
    this.closed = false;
    this.plant.setValve(false);
    this.plant.setDrainPump(false);
    if (this.watchdog) {
      this.lastKeepalive = this.watchdog.clock.now();
      this.scheduleWatchdog();
    }
  }

  read(): BoardInputs {
    return this.plant.signals();
  }

  setValve(open: boolean): void {
    // With the link lost or a failed self-test the board holds the valve closed whatever it is told.
    if (!this.closed && !this.linkLost && !this.selfTestFailed) this.plant.setValve(open);
  }

  setDrainPump(on: boolean): void {
    if (!this.closed) this.plant.setDrainPump(on);
  }

  keepalive(): void {
    if (this.closed || this.linkCut || !this.watchdog) return;
    this.lastKeepalive = this.watchdog.clock.now();
    if (this.linkLost) {
      this.linkLost = false;
      this.report({ type: 'linkRestored' });
    }
  }

  onReport(listener: (report: BoardReport) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Fault injection: keepalives stop reaching the board until `restoreLink()`. */
  cutLink(): void {
    this.linkCut = true;
  }

  restoreLink(): void {
    this.linkCut = false;
  }

  /** Fault injection: a self-test fails; the valve closes and stays closed until the board is replaced. */
  failSelfTest(test: string): void {
    if (this.closed) return;
    this.selfTestFailed = true;
    this.plant.setValve(false);
    this.report({ type: 'selfTestFailed', test });
  }

  /** For tests and fault injection: make the board say something. */
  report(report: BoardReport): void {
    for (const listener of [...this.listeners]) listener(report);
  }

  async close(): Promise<void> {
    this.plant.setValve(false);
    this.plant.setDrainPump(false);
    this.closed = true;
    if (this.watchdog && this.watchdogTimer !== null) this.watchdog.clock.clearTimeout(this.watchdogTimer);
    this.watchdogTimer = null;
  }

  /** Checks four times per timeout, so the valve closes at most a quarter timeout late. */
  private scheduleWatchdog(): void {
    const { clock, watchdogMs } = this.watchdog!;
    this.watchdogTimer = clock.setTimeout(() => {
      if (this.closed) return;
      if (!this.linkLost && clock.now() - this.lastKeepalive >= watchdogMs) {
        this.plant.setValve(false);
        this.linkLost = true;
        this.report({ type: 'linkLost' });
      }
      this.scheduleWatchdog();
    }, watchdogMs / 4);
  }
}
