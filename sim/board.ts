/**
 * The simulated board: a thin Board over a Plant. Reads are the plant's signals, outputs
 * go straight to the plant.
 *
 * Like our firmware it keeps a link watchdog when given a clock: no keepalive for
 * `watchdogMs` and it closes the valve itself, holds it closed and reports `linkLost`
 * (iC0); the next keepalive reports `linkRestored`. It stages the link faults of
 * src/board/link-faults.ts: `linkLost` cuts the line both ways (a broken cable): keepalives stop
 * arriving and the host keeps reading the last sample it got; `usbUnplug` makes the port vanish:
 * the host notices at once (`linkLost`), nothing it sends arrives, it reads nothing new, and the
 * board, still powered, closes the valve on its own watchdog.
 *
 * `failSelfTest(test)` is a failed firmware self-test, one our firmware repeats while it runs
 * (src/board/self-tests.ts: stack, adc, clock): like our firmware, after the test's typical
 * detection time on the clock (at once without a clock) the board closes the valve, holds it
 * closed and reports `selfTestFailed` with the test's name (i90). `failSelfTestAtBoot(test)`, on a
 * board not yet opened, is a start-up test (flash, ram, watchdog) that its boot fails: `open()`
 * leaves the valve closed for good and reports it, the first in the firmware's boot order if
 * several are staged.
 */
import type { Board, BoardInputs, BoardReport } from '../src/board/board.js';
import type { Clock } from '../src/clock/clock.js';
import type { LinkFault, LinkFaultStage } from '../src/board/link-faults.js';
import type { Plant } from '../src/board/plant.js';
import { nextRetryDelay, PORT_RETRY } from '../src/board/port-retry.js';
import { PERIODIC_SELF_TESTS, selfTestDetectMs, START_UP_SELF_TESTS, type SelfTestName, type SelfTestStage } from '../src/board/self-tests.js';

export interface SimulatedBoardOptions {
  readonly clock: Clock;
  /** Link watchdog timeout (controller config `link.watchdogMs`). */
  readonly watchdogMs: number;
}

/** What every simulated board stages (one array for all: a fleet holds thousands of boards). */
const LINK_FAULTS: readonly LinkFault[] = ['linkLost', 'usbUnplug'];

export class SimulatedBoard implements Board, LinkFaultStage, SelfTestStage {
  readonly kind = 'simulated' as const;
  readonly pulsesPerLitre: number;
  readonly linkFaults: readonly LinkFault[] = LINK_FAULTS;
  readonly stageableSelfTests: readonly SelfTestName[] = PERIODIC_SELF_TESTS;
  readonly bootStageableSelfTests: readonly SelfTestName[] = START_UP_SELF_TESTS;
  /** Start-up tests broken before the boot (failSelfTestAtBoot). */
  private brokenForBoot: Set<SelfTestName> | null = null;
  private closed = false;
  /** Copied on change, never changed in place (smaller than a Set, in every appliance of a fleet); a listener is in it once. */
  private listeners: readonly ((report: BoardReport) => void)[] = [];
  private linkCut = false;
  private unplugged = false;
  /** The host has no open port: from the unplug until its next retry after the plug is back. */
  private portClosed = false;
  private retryTimer: unknown = null;
  /** The board's watchdog tripped: it holds the valve closed until a keepalive re-arms it. */
  private linkLost = false;
  /** The host has been told the link is lost (by the watchdog's report, or by the port vanishing). */
  private lossReported = false;
  private selfTestFailed = false;
  private opened = false;
  /** Reports raised while nobody listened (at start-up), for the first subscriber. */
  private readonly backlog: BoardReport[] = [];
  /** The last sample the host got before the line was cut or the port vanished. */
  private frozen: BoardInputs | null = null;
  private lastKeepalive = 0;
  private watchdogTimer: unknown = null;

  constructor(
    private readonly plant: Plant,
    private readonly watchdog?: SimulatedBoardOptions,
  ) {
    this.pulsesPerLitre = plant.pulsesPerLitre;
  }

  async open(): Promise<void> {
    if (this.opened && !this.closed) return;
    this.opened = true;
    this.closed = false;
    this.plant.setValve(false);
    this.plant.setDrainPump(false);
    const failed = START_UP_SELF_TESTS.find((t) => this.brokenForBoot?.has(t));
    if (failed && !this.selfTestFailed) {
      this.selfTestFailed = true;
      this.report({ type: 'selfTestFailed', test: failed });
    }
    if (this.watchdog) {
      this.lastKeepalive = this.watchdog.clock.now();
      this.scheduleWatchdog();
    }
  }

  read(): BoardInputs {
    // A cut line or a vanished port carries no readings: the host keeps the last ones it got.
    if (this.linkCut || this.portClosed) return (this.frozen ??= this.plant.signals());
    this.frozen = null;
    return this.plant.signals();
  }

  setValve(open: boolean): void {
    // With the link lost or a failed self-test the board holds the valve closed whatever it is told; cut off or unplugged, it is told nothing.
    if (!this.closed && !this.linkLost && !this.selfTestFailed && !this.portClosed && !this.linkCut) this.plant.setValve(open);
  }

  setDrainPump(on: boolean): void {
    if (!this.closed && !this.portClosed && !this.linkCut) this.plant.setDrainPump(on);
  }

  keepalive(): void {
    if (this.closed || this.linkCut || this.portClosed || !this.watchdog) return;
    this.lastKeepalive = this.watchdog.clock.now();
    this.linkLost = false;
    if (this.lossReported) {
      this.lossReported = false;
      this.report({ type: 'linkRestored' });
    }
  }

  onReport(listener: (report: BoardReport) => void): () => void {
    if (!this.listeners.includes(listener)) this.listeners = this.listeners.concat([listener]);
    for (const r of this.backlog.splice(0)) listener(r);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Fault injection: keepalives stop reaching the board until `restoreLink()`. */
  cutLink(): void {
    this.frozen ??= this.plant.signals();
    this.linkCut = true;
  }

  restoreLink(): void {
    this.linkCut = false;
  }

  /** Fault injection: a self-test fails; the valve closes and stays closed until the board is replaced. */
  failSelfTest(test: SelfTestName): void {
    if (!this.stageableSelfTests.includes(test)) throw new Error(`the simulated board cannot fail the "${test}" self-test while running`);
    const fail = () => {
      if (this.closed || this.selfTestFailed) return;
      this.selfTestFailed = true;
      this.plant.setValve(false);
      this.report({ type: 'selfTestFailed', test });
    };
    if (this.watchdog) this.watchdog.clock.setTimeout(fail, selfTestDetectMs(test));
    else fail();
  }

  /** Fault injection before `open()`: the boot's start-up self-test `test` fails. */
  failSelfTestAtBoot(test: SelfTestName): void {
    if (!this.bootStageableSelfTests.includes(test)) throw new Error(`the simulated board cannot fail the "${test}" self-test at its boot`);
    if (this.opened) throw new Error(`the simulated board has booted: "${test}" can fail only at its next boot`);
    (this.brokenForBoot ??= new Set()).add(test);
  }

  setLinkFault(fault: LinkFault, active: boolean): void {
    if (fault === 'linkLost') {
      if (active) this.cutLink();
      else this.restoreLink();
    } else if (fault === 'usbUnplug') {
      if (active === this.unplugged) return;
      this.unplugged = active;
      // The host sees its port close at once; it has no board to tell anything until it has reopened it.
      if (active && !this.portClosed) {
        this.frozen ??= this.plant.signals();
        this.portClosed = true;
        if (!this.closed && !this.lossReported) {
          this.lossReported = true;
          this.report({ type: 'linkLost' });
        }
        this.retryPort(null);
      }
    } else {
      throw new Error(`the simulated board cannot stage "${String(fault)}"`);
    }
  }

  /** The host's attempts to reopen the port, on the driver's schedule (src/board/port-retry.ts). */
  private retryPort(lastDelayMs: number | null): void {
    if (!this.watchdog || this.closed) return;
    const delay = nextRetryDelay(PORT_RETRY, lastDelayMs);
    this.retryTimer = this.watchdog.clock.setTimeout(() => {
      this.retryTimer = null;
      if (this.closed) return;
      if (this.unplugged) this.retryPort(delay);
      else this.portClosed = false;
    }, delay);
  }

  /** For tests and fault injection: make the board say something. */
  report(report: BoardReport): void {
    if (this.listeners.length === 0 && this.backlog.length < 32) this.backlog.push(report);
    for (const listener of this.listeners) listener(report);
  }

  async close(): Promise<void> {
    this.plant.setValve(false);
    this.plant.setDrainPump(false);
    this.closed = true;
    if (this.watchdog && this.watchdogTimer !== null) this.watchdog.clock.clearTimeout(this.watchdogTimer);
    this.watchdogTimer = null;
    if (this.watchdog && this.retryTimer !== null) this.watchdog.clock.clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /** Checks four times per timeout, so the valve closes at most a quarter timeout late. */
  private scheduleWatchdog(): void {
    const { clock, watchdogMs } = this.watchdog!;
    this.watchdogTimer = clock.setTimeout(() => {
      if (this.closed) return;
      if (!this.linkLost && clock.now() - this.lastKeepalive >= watchdogMs) {
        this.plant.setValve(false);
        this.linkLost = true;
        if (!this.lossReported) {
          this.lossReported = true;
          this.report({ type: 'linkLost' });
        }
      }
      this.scheduleWatchdog();
    }, watchdogMs / 4);
  }
}
