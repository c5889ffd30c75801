/**
 * The johnny-five driver's keepalive session with our firmware (PROTOCOL.md §2, §3): the host's
 * side of the firmware's link watchdog.
 *
 * - `hostCalled()` records the controller's sign of life (its `keepalive()`); `topUp()` then
 *   sends a KEEPALIVE at most every `keepaliveMs / 2`, or ARMs a board that lost the link or
 *   restarted.
 * - The guard (a timer on the injected clock, every `keepaliveMs / 4` once `start()`ed) tops up
 *   keepalives only while the controller called within the last `hostSilenceMs`: a dead
 *   controller goes silent on the wire, so the firmware's own link watchdog closes the valve.
 *   Each tick also asks `checkStale` whether STATUS reports stopped.
 * - ARM makes the firmware forget the host's valve and pump requests, so a re-arm repeats them.
 * - Nothing is written while the port is gone (`disconnected()`); the guard keeps ticking.
 */
import type { Clock } from '../../src/clock/clock.js';
import { FRAMES } from './safety-sysex.js';

export interface KeepaliveSessionDeps {
  readonly clock: Clock;
  /** Longest gap between KEEPALIVEs on the wire. */
  readonly keepaliveMs: number;
  /** How recently the controller must have called for the guard to keep the link. */
  readonly hostSilenceMs: number;
  /** Writes a sysex frame to the board (nothing when no board is connected). */
  send(frame: number[]): void;
  /** The port closed under the driver and is not back yet. */
  disconnected(): boolean;
  /** The driver was closed: the guard stops. */
  closed(): boolean;
  /** The board needs ARM rather than KEEPALIVE: its link was lost, or it restarted unarmed. */
  needsArm(): boolean;
  /** The link is lost: the guard re-arms instead of sending keepalives. */
  linkLost(): boolean;
  /** Sends the controller's valve and pump requests again. */
  repeatRequests(): void;
  /** Called on every guard tick while connected. */
  checkStale(now: number): void;
}

export class KeepaliveSession {
  keepalivesSent = 0;
  private lastSent = -Infinity;
  private lastHostKeepalive = -Infinity;
  private guard: unknown = null;

  constructor(private readonly deps: KeepaliveSessionDeps) {}

  /** The controller's keepalive(): it is alive now. */
  hostCalled(): void {
    this.lastHostKeepalive = this.deps.clock.now();
  }

  /** After hostCalled() on a firmware board: ARM if it needs it, else a KEEPALIVE if one is due. */
  topUp(): void {
    if (this.deps.disconnected()) return;
    if (this.deps.needsArm()) this.rearm();
    else if (this.deps.clock.now() - this.lastSent >= this.deps.keepaliveMs / 2) this.sendKeepalive();
  }

  sendKeepalive(): void {
    if (this.deps.disconnected()) return;
    this.deps.send([...FRAMES.keepalive]);
    this.keepalivesSent++;
    this.lastSent = this.deps.clock.now();
  }

  /** ARM after a lost link or a board restart; the firmware forgot the host's valve request, so repeat it. */
  rearm(): void {
    if (this.deps.disconnected()) return;
    this.deps.send([...FRAMES.arm]);
    this.lastSent = this.deps.clock.now();
    this.keepalivesSent++;
    this.deps.repeatRequests();
  }

  /** Starts (or restarts, after a handshake) the guard. */
  start(): void {
    this.stop();
    this.guard = this.deps.clock.setTimeout(this.tick, this.deps.keepaliveMs / 2);
  }

  stop(): void {
    if (this.guard !== null) this.deps.clock.clearTimeout(this.guard);
    this.guard = null;
  }

  private tick = (): void => {
    this.guard = null;
    if (this.deps.closed()) return;
    const now = this.deps.clock.now();
    const { keepaliveMs, hostSilenceMs } = this.deps;
    if (this.deps.disconnected()) {
      this.guard = this.deps.clock.setTimeout(this.tick, keepaliveMs / 4);
      return;
    }
    if (now - this.lastHostKeepalive <= hostSilenceMs && now - this.lastSent >= keepaliveMs - keepaliveMs / 4) {
      if (this.deps.linkLost()) this.rearm();
      else this.sendKeepalive();
    }
    this.deps.checkStale(now);
    this.guard = this.deps.clock.setTimeout(this.tick, keepaliveMs / 4);
  };
}
