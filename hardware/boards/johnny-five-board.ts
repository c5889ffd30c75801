/**
 * The Board interface over johnny-five (Firmata) on a serial port: a real Arduino on USB, or
 * any port object / stream (the emulated Uno hands one over through a custom binding).
 *
 * Contract, beyond the Board rules in src/board/board.ts:
 * - `open()` reaches johnny-five `ready`, then asks for the firmware's SAFETY_VERSION. If it
 *   answers (our firmware), the driver ARMs it, reads inputs from its STATUS reports and sends a
 *   KEEPALIVE at most every `keepaliveMs` while the controller keeps calling `keepalive()`.
 *   If it does not answer within `safetyTimeoutMs`, the board is treated as plain Firmata:
 *   float and level come from analog reads, flow from digital reports on D2, and a 'warning'
 *   report says that protection then depends on the host alone.
 * - The keepalive guard (a timer on the injected clock) tops up keepalives only while the
 *   controller has called `keepalive()` within the last `hostSilenceMs`: a dead controller
 *   goes silent on the wire, so the firmware's own link watchdog closes the valve.
 * - The valve is a johnny-five Relay of type NC, as the valve itself is normally closed: its
 *   `open()` energises the coil (HIGH, valve open) and `close()` releases it (LOW, valve closed).
 *   The drain-pump relay module is type NO (`close()` = HIGH = pump on). Both are released
 *   right after `ready`.
 * - STATUS becomes the inputs: float, level, flow pulses and `hoseFuseBlown` (the hose-fuse
 *   contact on its pin, or the board's latch for it; the controller raises iH0 from it).
 * - Firmware reports become BoardReports: link lost / restored (iC0), local trip (latch),
 *   a board restart (warning), port errors ('error', which the runtime treats as unsafe).
 * - The host notices a dead line itself: no STATUS report for the firmware's link timeout (2 s,
 *   from SAFETY_VERSION) is reported as `linkLost`, as the firmware's own watchdog would say it
 *   if its reports got through; the next STATUS of an armed board (the driver re-arms it) is
 *   `linkRestored`.
 * - A port that closes (a USB cable pulled) is `linkLost`, not an error: the driver reopens it in
 *   the background (`reopen`, by default the same path) on a bounded retry policy (`retry`,
 *   default src/board/port-retry.ts: after 250 ms, then each wait twice the last, never more
 *   than 2 s apart, for as long as the board is not closed), and on success repeats the handshake and re-arms the firmware;
 *   its STATUS then reports `linkRestored`. Meanwhile nothing is written to the board.
 *   Reports raised during `open()` are replayed to every subscriber; later ones raised while
 *   nobody listens are kept for the first subscriber.
 * - The board's SAFETY_VERSION decides how its STATUS reads (safety-sysex.ts, PROTOCOL.md §2
 *   "Versions"): an older minor (a board not re-flashed since the npm package was updated) runs
 *   with the layout of its day and one 'warning' naming what it lacks and the re-flash command; a
 *   newer minor or another major fails `open()` with one line. STATUS frames that arrive before
 *   the version is known and checked are set aside, not counted as garbage.
 * - Malformed safety frames are counted (`garbageFrames`), ignored and reported as a warning (at most one per
 *   5 s); four missed STATUS periods in a row are reported too (the inputs are stale).
 */
import { EventEmitter } from 'node:events';
import five from 'johnny-five';
import { SerialPort } from 'serialport';
import { BoardError, type Board, type BoardInputs, type BoardKind, type BoardReport } from '../../src/board/board.js';
import { wallClock, type Clock } from '../../src/clock/clock.js';
import { nextRetryDelay, PORT_RETRY, type RetryPolicy } from '../../src/board/port-retry.js';
import { pins as defaultPins, type PinMap } from '../pins.js';
import { readPlainFirmataInputs, type Firmata } from './plain-firmata.js';
import { ReportHub } from './report-hub.js';
import { Waiters, within } from './clock-waits.js';
import {
  decodeSafetyVersion, decodeStatus, describeResetCause, FRAMES, HOSE_FUSE_MINOR, RESULT_CODES, safetyCompatibility, SYSEX,
  type SafetyStatus, type SafetyVersion,
} from './safety-sysex.js';

export interface JohnnyFiveBoardOptions {
  /** A serial port path (opened at the pin map's baud rate), or an open port object / duplex stream. */
  readonly port: string | NodeJS.ReadWriteStream | EventEmitter;
  readonly kind?: BoardKind;
  /** Timers (keepalive guard, handshake timeouts) run on this clock; default wall time. */
  readonly clock?: Clock;
  readonly pins?: PinMap;
  /** Clock ms to wait for johnny-five `ready`; default 10,000. */
  readonly readyTimeoutMs?: number;
  /** Clock ms to wait for SAFETY_VERSION before deciding the board is plain Firmata; default 1,000. */
  readonly safetyTimeoutMs?: number;
  /** Longest gap between KEEPALIVEs on the wire; default 500 (the firmware gives up after 2,000). */
  readonly keepaliveMs?: number;
  /** The guard keeps the link only while the controller called keepalive() this recently; default 500, so the
   *  firmware closes the valve at most linkTimeout + 500 ms after the controller's last sign of life. */
  readonly hostSilenceMs?: number;
  /**
   * Opens the port again after it closed; default: the same path again (a path `port`), none
   * for a port object (the board then stays link-lost).
   */
  readonly reopen?: () => Promise<NodeJS.ReadWriteStream | EventEmitter>;
  /** Waits between attempts to reopen a closed port; default PORT_RETRY (250 ms doubling to 2,000). */
  readonly retry?: RetryPolicy;
}


type Sink = (id: number, data: number[]) => void;
const sinks = new WeakMap<object, Sink>();

/** firmata.js keeps sysex handlers in one table for all boards: register once, dispatch per board. */
function routeSysex(io: Firmata, sink: Sink): void {
  sinks.set(io, sink);
  const table = io.constructor.SYSEX_RESPONSE ?? {};
  for (const id of [SYSEX.status, SYSEX.result, SYSEX.safetyVersion]) {
    if (table[id]) continue;
    io.sysexResponse(id, function (this: Firmata, data: number[]) {
      sinks.get(this)?.(id, data);
    });
  }
}

const MODE_OUTPUT = 1;

export type BoardProtection = 'firmware' | 'host-only';

export class JohnnyFiveBoard implements Board {
  readonly kind: BoardKind;
  readonly pulsesPerLitre: number;
  /** 'firmware' when the safety extensions answered, 'host-only' for plain Firmata; null before open(). */
  protection: BoardProtection | null = null;
  safetyVersion: SafetyVersion | null = null;
  firmwareName = '';
  lastStatus: SafetyStatus | null = null;
  garbageFrames = 0;
  keepalivesSent = 0;
  /** Times the port closed under the driver, and times it was reopened. */
  portLosses = 0;
  reconnects = 0;

  private readonly clock: Clock;
  private readonly map: PinMap;
  private readonly opts: Required<Pick<JohnnyFiveBoardOptions, 'readyTimeoutMs' | 'safetyTimeoutMs' | 'keepaliveMs' | 'hostSilenceMs'>>;
  private j5: five.Board | null = null;
  /** Ends the handshake under way (close() while connecting), so nothing waits on for its timeout. */
  private abortHandshake: ((message: string) => void) | null = null;
  private io: Firmata | null = null;
  private ownPort: SerialPort | null = null;
  private valveRelay: five.Relay | null = null;
  private pumpRelay: five.Relay | null = null;
  private inputs: { float: BoardInputs['float']; flowPulses: number; tubLevelL: number | null; hoseFuseBlown?: boolean } = {
    float: 'open',
    flowPulses: 0,
    tubLevelL: null,
  };
  private lastRawPulses: number | null = null;
  private valveWanted = false;
  private pumpWanted = false;
  private closed = false;
  private opened = false;
  private linkLost = false;
  private latched = false;
  /** The self-test failure last reported (the firmware latches it for good). */
  private selfTestReported: string | null = null;
  private lastHostKeepalive = -Infinity;
  private lastSent = -Infinity;
  private guard: unknown = null;
  private readonly reports = new ReportHub();
  private readonly waits: Waiters;
  private lastStatusAt = -Infinity;
  private statusStale = false;
  private lastGarbageReportAt = -Infinity;
  /** The version warning last given (an older firmware), so a reopen does not repeat it. */
  private versionWarning: string | null = null;
  /** The safety minor whose STATUS layout the driver reads; null until the version is checked. */
  private statusMinor: number | null = null;
  /** The port closed under us and is not back yet: nothing is written. */
  private disconnected = false;
  private retryTimer: unknown = null;
  private retryDelayMs = 0;

  constructor(private readonly options: JohnnyFiveBoardOptions) {
    this.kind = options.kind ?? 'usb';
    this.clock = options.clock ?? wallClock;
    this.waits = new Waiters(this.clock);
    this.map = options.pins ?? defaultPins;
    this.pulsesPerLitre = this.map.pins.flowMeter.pulsesPerLitre;
    this.opts = {
      readyTimeoutMs: options.readyTimeoutMs ?? 10_000,
      safetyTimeoutMs: options.safetyTimeoutMs ?? 1_000,
      keepaliveMs: options.keepaliveMs ?? 500,
      hostSilenceMs: options.hostSilenceMs ?? 500,
    };
  }

  async open(): Promise<void> {
    if (this.opened) return;
    this.opened = true;
    try {
      await this.connect();
    } catch (err) {
      // Leave nothing open behind a failed handshake.
      await this.close().catch(() => undefined);
      throw err instanceof BoardError ? err : new BoardError(err instanceof Error ? err.message : String(err));
    }
  }

  private async connect(): Promise<void> {
    const port = typeof this.options.port === 'string' ? await this.openPath(this.options.port) : this.options.port;
    await this.handshake(port, false);
    this.reports.markOpened();
  }

  /** johnny-five `ready`, outputs safe, SAFETY_VERSION, ARM, first STATUS (PROTOCOL.md §4); again after a reopen. */
  private async handshake(port: NodeJS.ReadWriteStream | EventEmitter, again: boolean): Promise<void> {
    const j5 = new five.Board({ port, repl: false, debug: false, sigint: false, timeout: 3_600_000 } as unknown as five.BoardOption);
    this.j5 = j5;
    // A board that did not reset on open (no auto-reset, or reopened) never announces itself:
    // ask for the version and firmware name (PROTOCOL.md §4) instead of firmata.js's 5 s wait.
    const nudge = this.clock.setTimeout(() => {
      const io = j5.io as unknown as { versionReceived?: boolean } | undefined;
      const w = port as { write?: (b: Buffer) => unknown };
      if (!io?.versionReceived && typeof w.write === 'function') w.write(Buffer.from([0xf9, 0xf0, 0x79, 0xf7]));
    }, 500);
    await within(
      this.clock,
      this.opts.readyTimeoutMs,
      `no Firmata handshake from the board within ${this.opts.readyTimeoutMs} ms (is the firmware flashed?)`,
      (done, fail) => {
        this.abortHandshake = fail;
        j5.on('ready', () => done());
        j5.on('error', (err: unknown) => fail(`johnny-five: ${err instanceof Error ? err.message : String(err)}`));
      },
    )
      .catch((err: unknown) => {
        // johnny-five's connect timer (the `timeout` above) and firmata's version request are
        // cleared only by a handshake that succeeds: left armed, they keep a failed run alive.
        clearTimeout((j5 as unknown as { timer?: NodeJS.Timeout }).timer);
        clearTimeout((j5.io as unknown as { reportVersionTimeoutId?: NodeJS.Timeout } | undefined)?.reportVersionTimeoutId);
        throw err;
      })
      .finally(() => {
        this.clock.clearTimeout(nudge);
        this.abortHandshake = null;
      });
    const io = j5.io as unknown as Firmata;
    this.io = io;
    this.firmwareName = io.firmware?.name ?? '';
    const gone = () => {
      if (io === this.io) this.onPortGone();
    };
    io.on('close', gone);
    io.on('disconnect', gone);
    io.on('error', (err) => {
      if (io !== this.io) return;
      // A device that vanished fails its reads and writes; that is the port going away, not a fault of the board.
      const portClosing = (io.transport as { isOpen?: boolean } | undefined)?.isOpen === false;
      if ((err as { disconnected?: unknown } | null)?.disconnected === true || portClosing || this.disconnected) this.onPortGone();
      else this.report({ type: 'error', message: `serial port: ${String(err)}` });
    });

    // Outputs safe before anything else.
    io.pinMode(this.map.pins.valve.pin, MODE_OUTPUT);
    io.pinMode(this.map.pins.drainPump.pin, MODE_OUTPUT);
    this.valveRelay = new five.Relay({ pin: this.map.pins.valve.pin, type: 'NC', board: j5 } as five.RelayOption);
    this.pumpRelay = new five.Relay({ pin: this.map.pins.drainPump.pin, type: 'NO', board: j5 } as five.RelayOption);
    this.valveRelay.close();
    this.pumpRelay.open();

    routeSysex(io, (id, data) => this.onSysex(id, data));
    io.sysexCommand([...FRAMES.safetyVersionQuery]);
    const answered = await this.waits.waitFor(() => this.safetyVersion !== null, this.opts.safetyTimeoutMs);
    if (answered) {
      const port = typeof this.options.port === 'string' ? this.options.port : '<port>';
      const { refused, warning } = safetyCompatibility(this.safetyVersion!, port);
      if (refused) throw new BoardError(refused);
      if (warning && warning !== this.versionWarning) this.report({ type: 'warning', message: warning });
      this.versionWarning = warning;
      this.statusMinor = this.safetyVersion!.minor;
      this.protection = 'firmware';
      io.sysexCommand([...FRAMES.arm]);
      this.sendKeepalive();
      io.sysexCommand([...FRAMES.statusQuery]);
      const first = await this.waits.waitFor(() => this.lastStatus !== null, this.opts.safetyTimeoutMs);
      if (!first) throw new BoardError('the board answered SAFETY_VERSION but sent no STATUS report');
      if (this.guard !== null) this.clock.clearTimeout(this.guard);
      this.guard = this.clock.setTimeout(this.guardTick, this.opts.keepaliveMs / 2);
    } else {
      this.protection = 'host-only';
      const seen = { float: false, level: false };
      readPlainFirmataInputs(io, this.map, (patch) => {
        const { pulses = 0, ...values } = patch;
        if (values.float !== undefined) seen.float = true;
        if (values.tubLevelL !== undefined) seen.level = true;
        this.inputs = { ...this.inputs, ...values, flowPulses: this.inputs.flowPulses + pulses };
        this.waits.wake();
      });
      const ready = await this.waits.waitFor(() => seen.float && seen.level, this.opts.safetyTimeoutMs);
      if (!ready) throw new BoardError('the board sends no analog readings for the float and the tub level');
      if (again) return;
      const name = this.firmwareName || 'unknown firmware';
      this.report({
        type: 'warning',
        message: `${name} answers as plain Firmata without the Aquastop safety extensions: no local float interlock and no link watchdog; protection depends on the host alone`,
      });
    }
  }

  read(): BoardInputs {
    return { ...this.inputs };
  }

  setValve(open: boolean): void {
    if (this.closed) return;
    this.valveWanted = open;
    if (!this.valveRelay || this.disconnected) return;
    if (open) this.valveRelay.open();
    else this.valveRelay.close();
  }

  setDrainPump(on: boolean): void {
    if (this.closed) return;
    this.pumpWanted = on;
    if (!this.pumpRelay || this.disconnected) return;
    if (on) this.pumpRelay.close();
    else this.pumpRelay.open();
  }

  keepalive(): void {
    if (this.closed) return;
    this.lastHostKeepalive = this.clock.now();
    if (this.protection !== 'firmware' || this.disconnected) return;
    if (this.linkLost || (this.lastStatus && !this.lastStatus.armed)) this.rearm();
    else if (this.clock.now() - this.lastSent >= this.opts.keepaliveMs / 2) this.sendKeepalive();
  }

  /** Asks the firmware to clear its latch (it refuses while the float is not dry). */
  resetLatch(): void {
    this.clearLatch();
  }

  /** CLEAR_LATCH with its key (PROTOCOL.md §2). */
  clearLatch(): void {
    if (this.closed || this.disconnected || this.protection !== 'firmware') return;
    this.io?.sysexCommand([...FRAMES.clearLatch]);
  }

  onReport(listener: (report: BoardReport) => void): () => void {
    return this.reports.subscribe(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.disconnected) {
      this.valveRelay?.close();
      this.pumpRelay?.open();
    }
    this.closed = true;
    this.abortHandshake?.('closed while connecting to the board');
    if (this.guard !== null) this.clock.clearTimeout(this.guard);
    this.guard = null;
    if (this.retryTimer !== null) this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.waits.cancelAll();
    const transport = this.io?.transport;
    await new Promise<void>((resolve) => {
      const port = (this.ownPort ?? transport) as { isOpen?: boolean; drain?: (cb: () => void) => void; close?: (cb: () => void) => void } | undefined;
      if (!port?.close || port.isOpen === false) return resolve();
      const shut = () => port.close!(() => resolve());
      if (port.drain) port.drain(shut);
      else shut();
    });
  }

  /** The johnny-five Relay type driving the valve ('NC': the valve is normally closed); null before open(). */
  get valveRelayType(): string | null {
    return (this.valveRelay as unknown as { type?: string } | null)?.type ?? null;
  }

  // --- internals ---

  private async openPath(path: string): Promise<SerialPort> {
    const port = new SerialPort({ path, baudRate: this.map.baud, autoOpen: false });
    await new Promise<void>((resolve, reject) =>
      port.open((err) => (err ? reject(new BoardError(`cannot open ${path}: ${err.message.replace(/^Error: /, '')}`)) : resolve())),
    );
    this.ownPort = port;
    return port;
  }

  private guardTick = (): void => {
    this.guard = null;
    if (this.closed) return;
    const now = this.clock.now();
    if (this.disconnected) {
      this.guard = this.clock.setTimeout(this.guardTick, this.opts.keepaliveMs / 4);
      return;
    }
    if (now - this.lastHostKeepalive <= this.opts.hostSilenceMs && now - this.lastSent >= this.opts.keepaliveMs - this.opts.keepaliveMs / 4) {
      if (this.linkLost) this.rearm();
      else this.sendKeepalive();
    }
    this.checkStatusStale(now);
    this.guard = this.clock.setTimeout(this.guardTick, this.opts.keepaliveMs / 4);
  };

  /** The firmware reports every statusPeriod; four missed in a row means the host is reading stale inputs. */
  private checkStatusStale(now: number): void {
    const limit = 4 * (this.safetyVersion?.statusPeriodMs ?? 250);
    if (!this.statusStale && now - this.lastStatusAt > limit) {
      this.statusStale = true;
      this.report({ type: 'warning', message: `no STATUS report from the board for ${Math.round(now - this.lastStatusAt)} ms: inputs are stale` });
    }
    // As long as the firmware waits for a keepalive: the line is dead, whichever way it broke.
    if (!this.linkLost && now - this.lastStatusAt >= (this.safetyVersion?.linkTimeoutMs ?? 2_000)) {
      this.linkLost = true;
      this.report({ type: 'linkLost' });
    }
  }

  /** The port closed under us (USB pulled): link lost (iC0), and reopen it in the background. */
  private onPortGone(): void {
    if (this.closed || this.disconnected) return;
    this.disconnected = true;
    this.portLosses++;
    this.retryDelayMs = nextRetryDelay(this.options.retry ?? PORT_RETRY, null);
    if (!this.linkLost) {
      this.linkLost = true;
      this.report({ type: 'linkLost' });
    }
    const reopen = this.reopener();
    if (!reopen) {
      this.report({ type: 'warning', message: 'the serial port closed and cannot be reopened: the valve stays closed' });
      return;
    }
    this.report({ type: 'warning', message: 'the serial port closed: reopening it in the background' });
    this.retryTimer = this.clock.setTimeout(() => void this.retryPort(reopen), this.retryDelayMs);
  }

  private reopener(): (() => Promise<NodeJS.ReadWriteStream | EventEmitter>) | null {
    if (this.options.reopen) return this.options.reopen;
    const path = this.options.port;
    return typeof path === 'string' ? () => this.openPath(path) : null;
  }

  private async retryPort(reopen: () => Promise<NodeJS.ReadWriteStream | EventEmitter>): Promise<void> {
    this.retryTimer = null;
    if (this.closed) return;
    let port: NodeJS.ReadWriteStream | EventEmitter | null = null;
    try {
      port = await reopen();
      if (this.closed) throw new BoardError('closed while reopening');
      this.lastStatus = null;
      // Read the version again: the board may have been re-flashed while it was away.
      this.safetyVersion = null;
      this.statusMinor = null;
      this.lastStatusAt = this.clock.now();
      this.statusStale = false;
      this.lastRawPulses = null;
      await this.handshake(port, true);
      this.disconnected = false;
      this.reconnects++;
      // As after a re-arm: the board forgot the host's requests, so repeat them.
      this.setValve(this.valveWanted);
      this.setDrainPump(this.pumpWanted);
      if (this.protection !== 'firmware' && this.linkLost) {
        this.linkLost = false;
        this.report({ type: 'linkRestored' });
      }
    } catch {
      if (port) await closeQuietly(port);
      if (this.closed) return;
      this.retryDelayMs = nextRetryDelay(this.options.retry ?? PORT_RETRY, this.retryDelayMs);
      this.retryTimer = this.clock.setTimeout(() => void this.retryPort(reopen), this.retryDelayMs);
    }
  }

  private onGarbage(what: string): void {
    this.garbageFrames++;
    const now = this.clock.now();
    if (now - this.lastGarbageReportAt < 5_000) return;
    this.lastGarbageReportAt = now;
    this.report({ type: 'warning', message: `ignored a malformed ${what} frame from the board (${this.garbageFrames} so far): line noise?` });
  }

  private sendKeepalive(): void {
    if (this.disconnected) return;
    this.io?.sysexCommand([...FRAMES.keepalive]);
    this.keepalivesSent++;
    this.lastSent = this.clock.now();
  }

  /** ARM after a lost link or a board restart; the firmware forgot the host's valve request, so repeat it. */
  private rearm(): void {
    if (this.disconnected) return;
    this.io?.sysexCommand([...FRAMES.arm]);
    this.lastSent = this.clock.now();
    this.keepalivesSent++;
    this.setValve(this.valveWanted);
    this.setDrainPump(this.pumpWanted);
  }

  private onSysex(id: number, data: number[]): void {
    if (id === SYSEX.safetyVersion) {
      const v = decodeSafetyVersion(data);
      if (v) this.safetyVersion = v;
      else this.onGarbage('SAFETY_VERSION');
    } else if (id === SYSEX.result) {
      const [command, code] = data;
      if (data.length !== 2 || command === undefined || code === undefined) this.onGarbage('RESULT');
      else if (command === SYSEX.clearLatch && code !== 0) {
        this.report({ type: 'warning', message: `the board kept its latch: ${RESULT_CODES[code] ?? `code ${code}`}` });
      } else if (command === SYSEX.clearLatch) {
        // Clearing drops the valve request (PROTOCOL.md section 3): ask again for what the controller wants.
        this.setValve(this.valveWanted);
        this.setDrainPump(this.pumpWanted);
      }
    } else if (id === SYSEX.status) {
      // Its layout depends on the version; the driver asks for a STATUS once it knows it.
      if (this.statusMinor === null) return;
      const s = decodeStatus(data, this.map, this.statusMinor);
      if (s) this.onStatus(s);
      else this.onGarbage('STATUS');
    }
    this.waits.wake();
  }

  private onStatus(s: SafetyStatus): void {
    const prev = this.lastStatus;
    this.lastStatus = s;
    this.lastStatusAt = this.clock.now();
    if (this.statusStale) {
      this.statusStale = false;
      this.report({ type: 'warning', message: 'STATUS reports from the board resumed' });
    }
    // Pulse counter: the board's restarts from zero after a reset; ours stays monotonic.
    const delta = this.lastRawPulses === null ? 0 : s.pulses >= this.lastRawPulses ? s.pulses - this.lastRawPulses : s.pulses;
    this.lastRawPulses = s.pulses;
    this.inputs = { float: s.float, flowPulses: this.inputs.flowPulses + delta, tubLevelL: s.tubLevelL };
    // A board older than the hose-fuse input cannot sense it: leave it out (src/board/board.ts).
    if (this.statusMinor !== null && this.statusMinor >= HOSE_FUSE_MINOR) this.inputs.hoseFuseBlown = s.hoseFuseBlown;
    if (s.linkLost && !this.linkLost) {
      this.linkLost = true;
      this.report({ type: 'linkLost' });
    } else if (!s.linkLost && this.linkLost && s.armed) {
      this.linkLost = false;
      this.report({ type: 'linkRestored' });
    }
    if (s.latched && !this.latched) {
      this.latched = true;
      if (!s.selfTest) this.report({ type: 'localTrip', reason: prev ? s.tripReason : `${s.tripReason} (latched in the board's EEPROM)` });
    } else if (!s.latched) this.latched = false;
    if (s.selfTest && s.selfTest !== this.selfTestReported) {
      this.selfTestReported = s.selfTest;
      this.report({ type: 'selfTestFailed', test: s.selfTest });
    }
    if (prev && s.resetCause !== prev.resetCause && !s.armed) {
      this.report({ type: 'warning', message: `the board restarted (${describeResetCause(s.resetCause)} reset)` });
    }
  }

  private report(r: BoardReport): void {
    if (this.closed && r.type === 'error') return;
    this.reports.publish(r);
  }
}

async function closeQuietly(port: NodeJS.ReadWriteStream | EventEmitter): Promise<void> {
  const p = port as { isOpen?: boolean; close?: (cb: (err?: unknown) => void) => void };
  if (!p.close || p.isOpen === false) return;
  await new Promise<void>((resolve) => p.close!(() => resolve()));
}
