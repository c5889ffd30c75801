/**
 * The Board interface over johnny-five (Firmata) on a serial port: a real Arduino on USB, or
 * any port object / stream (the emulated Uno hands one over through a custom binding).
 * This class opens, closes and reopens the port and puts the parts together, each in its file:
 * the handshake up to johnny-five `ready` and safe relays (firmata-ready.ts), the keepalive
 * session with our firmware (keepalive-session.ts), the plain-Firmata fallback
 * (plain-firmata.ts), and the firmware's frames read into inputs and reports (firmware-reports.ts).
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
import type { EventEmitter } from 'node:events';
import type five from 'johnny-five';
import { SerialPort } from 'serialport';
import { BoardError, type Board, type BoardInputs, type BoardKind, type BoardReport } from '../../src/board/board.js';
import { wallClock, type Clock } from '../../src/clock/clock.js';
import { nextRetryDelay, PORT_RETRY, type RetryPolicy } from '../../src/board/port-retry.js';
import { pins as defaultPins, type PinMap } from '../pins.js';
import { Waiters } from './clock-waits.js';
import { firmataReady, safeRelays } from './firmata-ready.js';
import { FirmwareReports, type InputsBox } from './firmware-reports.js';
import { KeepaliveSession } from './keepalive-session.js';
import { plainFirmataWarning, startPlainFirmata, type Firmata } from './plain-firmata.js';
import { ReportHub } from './report-hub.js';
import { FRAMES, safetyCompatibility, SYSEX, type SafetyStatus, type SafetyVersion } from './safety-sysex.js';

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

export type BoardProtection = 'firmware' | 'host-only';

export class JohnnyFiveBoard implements Board {
  readonly kind: BoardKind;
  readonly pulsesPerLitre: number;
  /** 'firmware' when the safety extensions answered, 'host-only' for plain Firmata; null before open(). */
  protection: BoardProtection | null = null;
  firmwareName = '';
  /** Times the port closed under the driver, and times it was reopened. */
  portLosses = 0;
  reconnects = 0;

  private readonly clock: Clock;
  private readonly map: PinMap;
  private readonly opts: Required<Pick<JohnnyFiveBoardOptions, 'readyTimeoutMs' | 'safetyTimeoutMs' | 'keepaliveMs' | 'hostSilenceMs'>>;
  /** Ends the handshake under way (close() while connecting), so nothing waits on for its timeout. */
  private abortHandshake: ((message: string) => void) | null = null;
  private io: Firmata | null = null;
  private ownPort: SerialPort | null = null;
  private valveRelay: five.Relay | null = null;
  private pumpRelay: five.Relay | null = null;
  private readonly inputs: InputsBox = { value: { float: 'open', flowPulses: 0, tubLevelL: null } };
  private valveWanted = false;
  private pumpWanted = false;
  private closed = false;
  private opened = false;
  private readonly hub = new ReportHub();
  private readonly waits: Waiters;
  /** The firmware's frames read into inputs and reports. */
  private readonly status: FirmwareReports;
  /** KEEPALIVE and ARM towards our firmware. */
  private readonly session: KeepaliveSession;
  /** The version warning last given (an older firmware), so a reopen does not repeat it. */
  private versionWarning: string | null = null;
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
    const repeatRequests = () => this.repeatRequests();
    this.status = new FirmwareReports({ clock: this.clock, map: this.map, inputs: this.inputs, report: (r) => this.report(r), repeatRequests });
    this.session = new KeepaliveSession({
      clock: this.clock,
      keepaliveMs: this.opts.keepaliveMs,
      hostSilenceMs: this.opts.hostSilenceMs,
      send: (frame) => this.io?.sysexCommand(frame),
      disconnected: () => this.disconnected,
      closed: () => this.closed,
      needsArm: () => this.status.linkLost || (this.status.lastStatus !== null && !this.status.lastStatus.armed),
      linkLost: () => this.status.linkLost,
      repeatRequests,
      checkStale: (now) => this.status.checkStale(now),
    });
  }

  /** The firmware's SAFETY_VERSION; null for plain Firmata or before open(). */
  get safetyVersion(): SafetyVersion | null {
    return this.status.safetyVersion;
  }

  /** The firmware's last STATUS report. */
  get lastStatus(): SafetyStatus | null {
    return this.status.lastStatus;
  }

  /** Malformed safety frames ignored so far. */
  get garbageFrames(): number {
    return this.status.garbageFrames;
  }

  /** KEEPALIVEs and ARMs sent so far. */
  get keepalivesSent(): number {
    return this.session.keepalivesSent;
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

  read(): BoardInputs {
    return { ...this.inputs.value };
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
    this.session.hostCalled();
    if (this.protection === 'firmware') this.session.topUp();
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
    return this.hub.subscribe(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.disconnected) {
      this.valveRelay?.close();
      this.pumpRelay?.open();
    }
    this.closed = true;
    this.abortHandshake?.('closed while connecting to the board');
    this.session.stop();
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

  // --- the handshake (PROTOCOL.md §4) ---

  private async connect(): Promise<void> {
    const port = typeof this.options.port === 'string' ? await this.openPath(this.options.port) : this.options.port;
    await this.handshake(port, false);
    this.hub.markOpened();
  }

  /** johnny-five `ready`, outputs safe, SAFETY_VERSION, then our firmware's session or plain Firmata; again after a reopen. */
  private async handshake(port: NodeJS.ReadWriteStream | EventEmitter, again: boolean): Promise<void> {
    const { j5, io } = await firmataReady(port, { clock: this.clock, timeoutMs: this.opts.readyTimeoutMs, onAbortable: (abort) => (this.abortHandshake = abort) });
    this.io = io;
    this.firmwareName = io.firmware?.name ?? '';
    this.watchPort(io);
    ({ valve: this.valveRelay, pump: this.pumpRelay } = safeRelays(j5, io, this.map));

    routeSysex(io, (id, data) => {
      this.status.onSysex(id, data);
      this.waits.wake();
    });
    io.sysexCommand([...FRAMES.safetyVersionQuery]);
    const answered = await this.waits.waitFor(() => this.status.safetyVersion !== null, this.opts.safetyTimeoutMs);
    if (answered) await this.startSession(io);
    else await this.startPlainFirmata(io, again);
  }

  /** Our firmware answered: check its version, ARM it, wait for its first STATUS, start the keepalive guard. */
  private async startSession(io: Firmata): Promise<void> {
    const version = this.status.safetyVersion!;
    const port = typeof this.options.port === 'string' ? this.options.port : '<port>';
    const { refused, warning } = safetyCompatibility(version, port);
    if (refused) throw new BoardError(refused);
    if (warning && warning !== this.versionWarning) this.report({ type: 'warning', message: warning });
    this.versionWarning = warning;
    this.status.statusMinor = version.minor;
    this.protection = 'firmware';
    io.sysexCommand([...FRAMES.arm]);
    this.session.sendKeepalive();
    io.sysexCommand([...FRAMES.statusQuery]);
    const first = await this.waits.waitFor(() => this.status.lastStatus !== null, this.opts.safetyTimeoutMs);
    if (!first) throw new BoardError('the board answered SAFETY_VERSION but sent no STATUS report');
    this.session.start();
  }

  /** No SAFETY_VERSION: plain Firmata, inputs by analog and digital reports, one warning (not again after a reopen). */
  private async startPlainFirmata(io: Firmata, again: boolean): Promise<void> {
    this.protection = 'host-only';
    await startPlainFirmata(io, this.map, this.waits, this.opts.safetyTimeoutMs, ({ pulses = 0, ...values }) => {
      const inputs = this.inputs.value;
      this.inputs.value = { ...inputs, ...values, flowPulses: inputs.flowPulses + pulses };
    });
    if (again) return;
    this.report({ type: 'warning', message: plainFirmataWarning(this.firmwareName) });
  }

  // --- the port: opened, lost, reopened ---

  private async openPath(path: string): Promise<SerialPort> {
    const port = new SerialPort({ path, baudRate: this.map.baud, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(new BoardError(`cannot open ${path}: ${err.message.replace(/^Error: /, '')}`)) : resolve())));
    this.ownPort = port;
    return port;
  }

  /** A port that closes or fails as a vanished device is gone (onPortGone); other errors are reported. */
  private watchPort(io: Firmata): void {
    const gone = () => {
      if (io === this.io) this.onPortGone();
    };
    io.on('close', gone);
    io.on('disconnect', gone);
    io.on('error', (err) => {
      if (io !== this.io) return;
      // A device that vanished fails its reads and writes; that is the port going away, not a fault of the board.
      const portClosing = io.transport?.isOpen === false;
      if ((err as { disconnected?: unknown } | null)?.disconnected === true || portClosing || this.disconnected) this.onPortGone();
      else this.report({ type: 'error', message: `serial port: ${String(err)}` });
    });
  }

  /** The port closed under us (USB pulled): link lost (iC0), and reopen it in the background. */
  private onPortGone(): void {
    if (this.closed || this.disconnected) return;
    this.disconnected = true;
    this.portLosses++;
    this.retryDelayMs = nextRetryDelay(this.options.retry ?? PORT_RETRY, null);
    this.status.markLinkLost();
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
      this.status.forgetBoard();
      await this.handshake(port, true);
      this.disconnected = false;
      this.reconnects++;
      // As after a re-arm: the board forgot the host's requests, so repeat them.
      this.repeatRequests();
      if (this.protection !== 'firmware') this.status.markLinkRestored();
    } catch {
      if (port) await closeQuietly(port);
      if (this.closed) return;
      this.retryDelayMs = nextRetryDelay(this.options.retry ?? PORT_RETRY, this.retryDelayMs);
      this.retryTimer = this.clock.setTimeout(() => void this.retryPort(reopen), this.retryDelayMs);
    }
  }

  // --- shared ---

  /** The controller's valve and pump requests, sent again (the board forgot them). */
  private repeatRequests(): void {
    this.setValve(this.valveWanted);
    this.setDrainPump(this.pumpWanted);
  }

  private report(r: BoardReport): void {
    if (this.closed && r.type === 'error') return;
    this.hub.publish(r);
  }
}

async function closeQuietly(port: NodeJS.ReadWriteStream | EventEmitter): Promise<void> {
  const p = port as { isOpen?: boolean; close?: (cb: (err?: unknown) => void) => void };
  if (!p.close || p.isOpen === false) return;
  await new Promise<void>((resolve) => p.close!(() => resolve()));
}
