/**
 * The heartbeats of every appliance in a process on one timer.
 *
 * Every appliance of a process beats at the same interval, so the next beats, each due one
 * interval after it was asked for, come due in the order they were asked for: a queue kept in
 * that order needs one timer, armed for its head. A timer of its own per appliance held a Node
 * Timeout and a closure (about 200 bytes), in every appliance of a fleet.
 *
 * Contract:
 * - `schedule(beater)` makes `beater.beat(token)` run one interval from now on the clock
 *   (wall or virtual), with the token `schedule` returned; appliances due at one instant beat in
 *   the order they were scheduled.
 * - Fixed rate: a beater that schedules again while it beats is due one interval after the beat
 *   was due, not after it ran, so a late timer (a busy event loop) does not push every later beat
 *   back (ten thousand appliances lost 0.5 % of their heartbeats that way). Never earlier than the
 *   last one queued (the queue stays in due order), and one that fell a whole interval behind is
 *   due one interval from now (no burst to catch up).
 * - There is no cancel: the beater keeps the token of its live schedule and ignores a beat with
 *   another (an appliance that is detached, or scheduled again, drops its old beat that way).
 * - Bounded: one entry per `schedule` still pending, so at most the appliances scheduled within
 *   one interval; the queue's spent front is dropped as it grows.
 */
import type { Clock } from '../clock/clock.js';

export interface Beater {
  beat(token: number): void;
}

export class HeartbeatCadence {
  private beaters: Beater[] = [];
  private dues: number[] = [];
  private tokens: number[] = [];
  private head = 0;
  private lastToken = 0;
  private timer: unknown = null;
  /** While beats run: the due time of the one running. */
  private firingDue: number | null = null;

  constructor(
    private readonly clock: Clock,
    readonly intervalMs: number,
  ) {}

  /** Beats `beater` one interval from now; returns the token that beat carries. */
  schedule(beater: Beater): number {
    const token = ++this.lastToken;
    const now = this.clock.now();
    let due = (this.firingDue ?? now) + this.intervalMs;
    if (due <= now) due = now + this.intervalMs;
    const last = this.dues[this.dues.length - 1];
    // Kept in due order. (Without this a beat queued behind a later one would still run with it: the
    // queue is read from its head. The order is what lets one timer serve all.)
    if (last !== undefined && due < last) due = last;
    this.beaters.push(beater);
    this.dues.push(due);
    this.tokens.push(token);
    if (this.timer === null) this.arm();
    return token;
  }

  /** Entries waiting (spent ones included until they are due): for tests and the bound. */
  get pending(): number {
    return this.beaters.length - this.head;
  }

  private arm(): void {
    const due = this.dues[this.head];
    if (due === undefined) return;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, due - this.clock.now()));
  }

  private fire(): void {
    // `timer` stays set while the due ones beat, so their schedules arm nothing: one timer at a time.
    const now = this.clock.now();
    // Beats scheduled while these run are due one interval on, behind every one due now.
    while (this.head < this.dues.length && this.dues[this.head]! <= now) {
      const beater = this.beaters[this.head]!;
      const token = this.tokens[this.head]!;
      this.firingDue = this.dues[this.head]!;
      this.head++;
      try {
        beater.beat(token);
      } catch (err) {
        // One appliance's failure stops no other's heartbeat; it surfaces as before, uncaught.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
    this.firingDue = null;
    this.timer = null;
    this.compact();
    this.arm();
  }

  /** Drops the spent front once it is most of the arrays. */
  private compact(): void {
    if (this.head === this.beaters.length) {
      this.beaters = [];
      this.dues = [];
      this.tokens = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.beaters.length) {
      this.beaters = this.beaters.slice(this.head);
      this.dues = this.dues.slice(this.head);
      this.tokens = this.tokens.slice(this.head);
      this.head = 0;
    }
  }
}
