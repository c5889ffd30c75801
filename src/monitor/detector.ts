/**
 * When a silent device is DOWN: the fixed multiple of its heartbeat interval, or the phi
 * accrual failure detector (Hayashibara et al., "The φ accrual failure detector", 2004) as
 * Akka and Cassandra use it, over each device's own observed inter-arrival times.
 *
 * Contract:
 * - `fixed`: DOWN `downAfter` x intervalS after the last heartbeat.
 * - `phi`: phi(t) = -log10(P(a heartbeat comes later than t after the last one)), with the
 *   inter-arrival times normal, their mean and standard deviation taken from the device's last
 *   `window` samples; DOWN when phi reaches `threshold`. The standard deviation is at least
 *   `minStdRatio` x intervalS (a perfectly regular history must not make any late heartbeat a
 *   failure) and `pauseRatio` x intervalS is added to the mean (an acceptable pause). phi only
 *   grows with silence, so the DOWN moment is a deadline computed once per heartbeat.
 * - Until a device has `minSamples` samples its deadline is never earlier than the fixed rule
 *   (it is later when phi, from two samples on, already says so: a jittery link), so no device
 *   is DOWN before its first heartbeat was due, as with `fixed`; after that, never before one
 *   interval and the pause have passed since the last heartbeat (the next one was due by then).
 * - phi may wait longer than the fixed rule for a device whose heartbeats come irregularly (a
 *   lossy or jittery link): that is what keeps it from false DOWNs there.
 * - Memory per device is bounded: a ring of `window` numbers (8 bytes each) with running sums.
 *
 * The normal distribution's tail is Akka's logistic approximation of it (Bowling et al. 2009,
 * "A logistic approximation to the cumulative normal distribution"), so a threshold means what
 * it means in Akka: phi 8 is reached 5.22 standard deviations past the mean (the exact normal
 * tail would give 5.61).
 */

export type DetectorKind = 'fixed' | 'phi';

export const DETECTOR_KINDS: readonly DetectorKind[] = ['fixed', 'phi'];

export interface DetectorPolicy {
  readonly kind: DetectorKind;
  /** The fixed rule: DOWN after this many intervals without a heartbeat (also phi's before `minSamples`). */
  readonly downAfter: number;
  /** phi at which a device is DOWN (Akka's and Cassandra's default: 8, a 1e-8 chance the heartbeat is only late). */
  readonly threshold: number;
  /** Inter-arrival samples kept per device. */
  readonly window: number;
  /** Samples needed before phi decides; the fixed rule until then. */
  readonly minSamples: number;
  /** Least standard deviation, as a fraction of the device's heartbeat interval. */
  readonly minStdRatio: number;
  /** Acceptable pause added to the mean, as a fraction of the device's heartbeat interval. */
  readonly pauseRatio: number;
}

export const DEFAULT_DETECTOR: DetectorPolicy = {
  kind: 'fixed',
  downAfter: 1.5,
  threshold: 8,
  window: 100,
  minSamples: 20,
  minStdRatio: 0.02,
  pauseRatio: 0.05,
};

/**
 * phi of a silence of `elapsed` ms when inter-arrival times are normal with `mean` and `std`
 * (Akka's formula: -log10 of the logistic approximation of the normal tail).
 */
export function phi(elapsed: number, mean: number, std: number): number {
  const y = (elapsed - mean) / std;
  const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
  // Two forms of the same value, each accurate on its side of the mean.
  return elapsed > mean ? -Math.log10(e / (1 + e)) : -Math.log10(1 - 1 / (1 + e));
}

const thresholdY = new Map<number, number>();

/** How many standard deviations past the mean phi reaches `threshold` (phi is increasing in y). */
export function standardDeviationsAt(threshold: number): number {
  let y = thresholdY.get(threshold);
  if (y !== undefined) return y;
  let lo = -10;
  let hi = 100;
  for (let i = 0; i < 200 && hi - lo > 1e-12; i++) {
    const mid = (lo + hi) / 2;
    if (phi(mid, 0, 1) >= threshold) hi = mid;
    else lo = mid;
  }
  y = hi;
  if (thresholdY.size < 64) thresholdY.set(threshold, y);
  return y;
}

/** A device's last inter-arrival times (ms), at most `capacity`, with their sums. */
export class ArrivalWindow {
  private readonly samples: Float64Array;
  private next = 0;
  private count = 0;
  private sum = 0;
  private sumSquares = 0;

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 2)) throw new RangeError(`window must be an integer of at least 2 (got ${capacity})`);
    this.samples = new Float64Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  add(ms: number): void {
    if (this.count === this.capacity) {
      const old = this.samples[this.next]!;
      this.sum -= old;
      this.sumSquares -= old * old;
    } else {
      this.count++;
    }
    this.samples[this.next] = ms;
    this.sum += ms;
    this.sumSquares += ms * ms;
    this.next = (this.next + 1) % this.capacity;
    // Running sums drift by rounding: add them up afresh once per lap of the ring.
    if (this.next === 0) this.resum();
  }

  clear(): void {
    this.next = 0;
    this.count = 0;
    this.sum = 0;
    this.sumSquares = 0;
  }

  mean(): number {
    return this.count === 0 ? NaN : this.sum / this.count;
  }

  std(): number {
    if (this.count === 0) return NaN;
    const m = this.sum / this.count;
    return Math.sqrt(Math.max(0, this.sumSquares / this.count - m * m));
  }

  private resum(): void {
    let s = 0;
    let q = 0;
    for (let i = 0; i < this.count; i++) {
      const v = this.samples[i]!;
      s += v;
      q += v * v;
    }
    this.sum = s;
    this.sumSquares = q;
  }
}

export interface Deadline {
  /** ms after the last heartbeat. */
  readonly afterMs: number;
  /** Which rule set it: the fixed multiple (also phi's before enough samples) or phi. */
  readonly by: DetectorKind;
  /** Set while phi learns (fewer than `minSamples` samples, and phi later than the fixed rule): the samples it had. */
  readonly learning?: number;
}

/**
 * ms after a heartbeat at which the device is DOWN if no other heartbeat came, for a device
 * with heartbeat interval `intervalS` and inter-arrival `window` (null: none kept).
 */
export function downDeadline(policy: DetectorPolicy, intervalS: number, window: ArrivalWindow | null): Deadline {
  const intervalMs = intervalS * 1000;
  const fixed: Deadline = { afterMs: policy.downAfter * intervalMs, by: 'fixed' };
  if (policy.kind === 'fixed' || window === null || window.size < 2) return fixed;
  const mean = window.mean() + policy.pauseRatio * intervalMs;
  const std = Math.max(window.std(), policy.minStdRatio * intervalMs);
  const afterMs = Math.ceil(mean + standardDeviationsAt(policy.threshold) * std);
  // While it learns, phi may only wait longer than the fixed rule (a few samples of a jittery
  // link already tell it to), never less.
  if (window.size < policy.minSamples) return afterMs > fixed.afterMs ? { afterMs, by: 'phi', learning: window.size } : fixed;
  // Never before the next heartbeat was due (a burst of heartbeats delivered together, after a
  // stall, makes a history of short gaps that says nothing about when the next one is due).
  return { afterMs: Math.max(afterMs, Math.ceil((1 + policy.pauseRatio) * intervalMs)), by: 'phi' };
}

/** phi of the silence `elapsedMs` after a device's last heartbeat (0 without two samples). */
export function phiOf(policy: DetectorPolicy, intervalS: number, window: ArrivalWindow | null, elapsedMs: number): number {
  if (window === null || window.size < 2) return 0;
  const intervalMs = intervalS * 1000;
  return phi(elapsedMs, window.mean() + policy.pauseRatio * intervalMs, Math.max(window.std(), policy.minStdRatio * intervalMs));
}
