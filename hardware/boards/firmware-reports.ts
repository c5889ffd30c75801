/**
 * What our firmware's safety frames tell the host (PROTOCOL.md §2), for the johnny-five driver:
 * SAFETY_VERSION, RESULT and STATUS become the board's inputs and its BoardReports.
 *
 * - STATUS is read with the layout of the board's safety minor (`statusMinor`, set once the
 *   version is checked); frames before that are set aside, not counted as garbage.
 * - STATUS becomes the inputs: float, level, flow pulses (kept monotonic across the board's
 *   restarts) and `hoseFuseBlown` (left out for a board older than the hose-fuse input).
 * - Reports: link lost / restored (iC0), a local trip (latch), a failed self-test (once per
 *   test), a board restart (warning), STATUS missing for four periods (inputs stale) and back.
 * - No STATUS for the firmware's link timeout is `linkLost`, as the firmware would say it if its
 *   reports got through; the next STATUS of an armed board is `linkRestored`.
 * - Malformed frames are counted (`garbageFrames`), ignored and reported as a warning, at most
 *   one per 5 s.
 */
import type { BoardInputs, BoardReport } from '../../src/board/board.js';
import type { Clock } from '../../src/clock/clock.js';
import type { PinMap } from '../pins.js';
import { decodeSafetyVersion, decodeStatus, describeResetCause, HOSE_FUSE_MINOR, RESULT_CODES, SYSEX, type SafetyStatus, type SafetyVersion } from './safety-sysex.js';

/** The inputs as the driver holds them: replaced whole on each change, read by `read()`. */
export type LiveInputs = { float: BoardInputs['float']; flowPulses: number; tubLevelL: number | null; hoseFuseBlown?: boolean };

/** A one-slot box the driver and its parts share, so each change replaces the inputs whole. */
export interface InputsBox {
  value: LiveInputs;
}

export interface FirmwareReportsDeps {
  readonly clock: Clock;
  readonly map: PinMap;
  readonly inputs: InputsBox;
  report(r: BoardReport): void;
  /** The board forgot the host's requests (a latch cleared): ask again for what the controller wants. */
  repeatRequests(): void;
}

const GARBAGE_REPORT_GAP_MS = 5_000;

export class FirmwareReports {
  safetyVersion: SafetyVersion | null = null;
  lastStatus: SafetyStatus | null = null;
  garbageFrames = 0;
  /** The safety minor whose STATUS layout is read; null until the version is checked. */
  statusMinor: number | null = null;
  /** Link lost reported, not yet restored. */
  linkLost = false;
  private latched = false;
  /** The self-test failure last reported (the firmware latches it for good). */
  private selfTestReported: string | null = null;
  private lastStatusAt = -Infinity;
  private statusStale = false;
  private lastGarbageReportAt = -Infinity;
  private lastRawPulses: number | null = null;

  constructor(private readonly deps: FirmwareReportsDeps) {}

  /** A safety frame from the board. */
  onSysex(id: number, data: number[]): void {
    if (id === SYSEX.safetyVersion) {
      const v = decodeSafetyVersion(data);
      if (v) this.safetyVersion = v;
      else this.onGarbage('SAFETY_VERSION');
    } else if (id === SYSEX.result) {
      const [command, code] = data;
      if (data.length !== 2 || command === undefined || code === undefined) this.onGarbage('RESULT');
      else if (command === SYSEX.clearLatch && code !== 0) {
        this.deps.report({ type: 'warning', message: `the board kept its latch: ${RESULT_CODES[code] ?? `code ${code}`}` });
      } else if (command === SYSEX.clearLatch) {
        // Clearing drops the valve request (PROTOCOL.md section 3): ask again for what the controller wants.
        this.deps.repeatRequests();
      }
    } else if (id === SYSEX.status) {
      // Its layout depends on the version; the driver asks for a STATUS once it knows it.
      if (this.statusMinor === null) return;
      const s = decodeStatus(data, this.deps.map, this.statusMinor);
      if (s) this.onStatus(s);
      else this.onGarbage('STATUS');
    }
  }

  /** The firmware reports every statusPeriod; four missed in a row means the host is reading stale inputs. */
  checkStale(now: number): void {
    const limit = 4 * (this.safetyVersion?.statusPeriodMs ?? 250);
    if (!this.statusStale && now - this.lastStatusAt > limit) {
      this.statusStale = true;
      this.deps.report({ type: 'warning', message: `no STATUS report from the board for ${Math.round(now - this.lastStatusAt)} ms: inputs are stale` });
    }
    // As long as the firmware waits for a keepalive: the line is dead, whichever way it broke.
    if (now - this.lastStatusAt >= (this.safetyVersion?.linkTimeoutMs ?? 2_000)) this.markLinkLost();
  }

  /** Reports `linkLost` unless it already has. */
  markLinkLost(): void {
    if (this.linkLost) return;
    this.linkLost = true;
    this.deps.report({ type: 'linkLost' });
  }

  /** Reports `linkRestored` if the link was lost. */
  markLinkRestored(): void {
    if (!this.linkLost) return;
    this.linkLost = false;
    this.deps.report({ type: 'linkRestored' });
  }

  /** A reopened port: the board may have been re-flashed while it was away, so its version and STATUS are read again. */
  forgetBoard(): void {
    this.lastStatus = null;
    this.safetyVersion = null;
    this.statusMinor = null;
    this.lastStatusAt = this.deps.clock.now();
    this.statusStale = false;
    this.lastRawPulses = null;
  }

  private onGarbage(what: string): void {
    this.garbageFrames++;
    const now = this.deps.clock.now();
    if (now - this.lastGarbageReportAt < GARBAGE_REPORT_GAP_MS) return;
    this.lastGarbageReportAt = now;
    this.deps.report({ type: 'warning', message: `ignored a malformed ${what} frame from the board (${this.garbageFrames} so far): line noise?` });
  }

  private onStatus(s: SafetyStatus): void {
    const prev = this.lastStatus;
    this.lastStatus = s;
    this.lastStatusAt = this.deps.clock.now();
    if (this.statusStale) {
      this.statusStale = false;
      this.deps.report({ type: 'warning', message: 'STATUS reports from the board resumed' });
    }
    this.takeInputs(s);
    if (s.linkLost) this.markLinkLost();
    else if (s.armed) this.markLinkRestored();
    if (s.latched && !this.latched) {
      this.latched = true;
      if (!s.selfTest) this.deps.report({ type: 'localTrip', reason: prev ? s.tripReason : `${s.tripReason} (latched in the board's EEPROM)` });
    } else if (!s.latched) this.latched = false;
    if (s.selfTest && s.selfTest !== this.selfTestReported) {
      this.selfTestReported = s.selfTest;
      this.deps.report({ type: 'selfTestFailed', test: s.selfTest });
    }
    if (prev && s.resetCause !== prev.resetCause && !s.armed) {
      this.deps.report({ type: 'warning', message: `the board restarted (${describeResetCause(s.resetCause)} reset)` });
    }
  }

  private takeInputs(s: SafetyStatus): void {
    // Pulse counter: the board's restarts from zero after a reset; ours stays monotonic.
    const delta = this.lastRawPulses === null ? 0 : s.pulses >= this.lastRawPulses ? s.pulses - this.lastRawPulses : s.pulses;
    this.lastRawPulses = s.pulses;
    const inputs: LiveInputs = { float: s.float, flowPulses: this.deps.inputs.value.flowPulses + delta, tubLevelL: s.tubLevelL };
    // A board older than the hose-fuse input cannot sense it: leave it out (src/board/board.ts).
    if (this.statusMinor !== null && this.statusMinor >= HOSE_FUSE_MINOR) inputs.hoseFuseBlown = s.hoseFuseBlown;
    this.deps.inputs.value = inputs;
  }
}
