import { describe, expect, it } from 'vitest';
import { ArrivalWindow, DEFAULT_DETECTOR, downDeadline, phi, phiOf, standardDeviationsAt, type DetectorPolicy } from '../../src/monitor/detector.js';

/** Upper tail of the standard normal distribution, P(Z > y), from tables (exact to 15 digits). */
const NORMAL_TAIL: Record<number, number> = { [-1]: 0.8413447460685429, 0: 0.5, 1: 0.15865525393145707, 2: 0.022750131948179195, 3: 0.0013498980316301 };

const PHI: DetectorPolicy = { ...DEFAULT_DETECTOR, kind: 'phi' };

/** A window holding `samples` (ms). */
function windowOf(samples: readonly number[], capacity = 100): ArrivalWindow {
  const w = new ArrivalWindow(capacity);
  for (const s of samples) w.add(s);
  return w;
}

describe("phi (Akka's formula)", () => {
  it('is -log10 of the chance that a heartbeat comes later than the silence so far, for a normal distribution', () => {
    // Within the logistic approximation's error: 0.0002 up to two standard deviations, 0.04 at three.
    for (const y of [-1, 0, 1, 2]) expect(Math.abs(phi(1000 + 100 * y, 1000, 100) + Math.log10(NORMAL_TAIL[y]!))).toBeLessThan(2e-4);
    expect(Math.abs(phi(1300, 1000, 100) + Math.log10(NORMAL_TAIL[3]!))).toBeLessThan(0.04);
  });

  it('gives the known values: log10(2) at the mean, 0.7995 one deviation on, 2.9095 three deviations on', () => {
    expect(phi(10_000, 10_000, 500)).toBeCloseTo(Math.log10(2), 12);
    expect(phi(10_500, 10_000, 500)).toBeCloseTo(0.79951, 5);
    expect(phi(11_500, 10_000, 500)).toBeCloseTo(2.90948, 5);
    expect(phi(9_500, 10_000, 500)).toBeCloseTo(0.07503, 5);
  });

  it('grows with the silence, and reaches 8 at 5.226 standard deviations past the mean (12 at 6.292)', () => {
    let last = -Infinity;
    for (let t = 0; t <= 20_000; t += 50) {
      const p = phi(t, 10_000, 1000);
      expect(p).toBeGreaterThanOrEqual(last);
      last = p;
    }
    expect(standardDeviationsAt(8)).toBeCloseTo(5.22599, 4);
    expect(standardDeviationsAt(12)).toBeCloseTo(6.29212, 4);
    expect(phi(standardDeviationsAt(8), 0, 1)).toBeGreaterThanOrEqual(8);
    expect(phi(standardDeviationsAt(8) - 1e-6, 0, 1)).toBeLessThan(8);
  });
});

describe('arrival window', () => {
  it('keeps the mean and standard deviation of its samples', () => {
    const w = windowOf([9_000, 11_000, 9_000, 11_000]);
    expect(w.size).toBe(4);
    expect(w.mean()).toBe(10_000);
    expect(w.std()).toBeCloseTo(1000, 9);
  });

  it('holds at most its capacity: only the last 100 samples count, however many came', () => {
    const w = windowOf([]);
    for (let i = 0; i < 10_000; i++) w.add(20_000 + (i % 7));
    for (let i = 0; i < 100; i++) w.add(10_000);
    expect(w.size).toBe(100);
    expect(w.mean()).toBe(10_000);
    expect(w.std()).toBe(0);
  });

  it('refuses a capacity below 2', () => {
    expect(() => new ArrivalWindow(1)).toThrow(/at least 2/);
  });
});

describe('DOWN deadline', () => {
  const steady = windowOf(Array.from({ length: 30 }, () => 10_000));

  it('fixed: down-after x the interval, whatever the history', () => {
    expect(downDeadline(DEFAULT_DETECTOR, 10, steady)).toEqual({ afterMs: 15_000, by: 'fixed' });
    expect(downDeadline({ ...DEFAULT_DETECTOR, downAfter: 3 }, 0.5, null)).toEqual({ afterMs: 1_500, by: 'fixed' });
  });

  it('phi on a steady device: the mean, the pause and 5.226 least deviations: 1.155 intervals, within 1.2', () => {
    const { afterMs, by } = downDeadline(PHI, 10, steady);
    expect(by).toBe('phi');
    expect(afterMs).toBe(Math.ceil(10_000 + 500 + standardDeviationsAt(8) * 200));
    expect(afterMs).toBeLessThanOrEqual(12_000);
    // phi crosses the threshold there and not a millisecond before.
    expect(phiOf(PHI, 10, steady, afterMs)).toBeGreaterThanOrEqual(8);
    expect(phiOf(PHI, 10, steady, afterMs - 1)).toBeLessThan(8);
  });

  it('phi follows its threshold: 12 waits longer than 8, 3 less', () => {
    const jittery = windowOf([8_000, 12_000, 9_000, 11_000, 10_000, 8_500, 11_500, 9_500, 10_500, 10_000]);
    const at = (threshold: number) => downDeadline({ ...PHI, threshold }, 10, jittery).afterMs;
    const std = jittery.std();
    expect(at(8)).toBe(Math.ceil(10_500 + standardDeviationsAt(8) * std));
    expect(at(12)).toBe(Math.ceil(10_500 + standardDeviationsAt(12) * std));
    expect(at(12)).toBeGreaterThan(at(8));
    expect(at(3)).toBeLessThan(at(8));
  });

  it('phi on a jittery history waits past the fixed rule: that is what spares it the false DOWNs', () => {
    const jittery = windowOf([6_000, 14_000, 7_000, 13_000, 10_000, 6_500, 13_500, 9_000, 11_000, 10_000]);
    expect(downDeadline(PHI, 10, jittery).afterMs).toBeGreaterThan(2 * 10_000);
  });

  it('phi before 20 samples is never earlier than the fixed rule; before 2 it is the fixed rule', () => {
    expect(downDeadline(PHI, 10, null)).toEqual({ afterMs: 15_000, by: 'fixed' });
    expect(downDeadline(PHI, 10, windowOf([10_000]))).toEqual({ afterMs: 15_000, by: 'fixed' });
    expect(downDeadline(PHI, 10, windowOf(Array.from({ length: 19 }, () => 10_000)))).toEqual({ afterMs: 15_000, by: 'fixed' });
    // Two samples far apart already say the link is jittery: later than the fixed rule, and said to be learning.
    expect(downDeadline(PHI, 10, windowOf([6_000, 14_000]))).toMatchObject({ by: 'phi', learning: 2 });
    expect(downDeadline(PHI, 10, windowOf([6_000, 14_000])).afterMs).toBeGreaterThan(15_000);
  });

  it('phi is never earlier than one interval and the pause, whatever short gaps a burst left in the history', () => {
    const burst = windowOf(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 10 : 10_000)));
    expect(downDeadline(PHI, 10, burst).afterMs).toBeGreaterThanOrEqual(10_500);
    const bursts = windowOf(Array.from({ length: 20 }, () => 5));
    expect(downDeadline(PHI, 10, bursts)).toEqual({ afterMs: 10_500, by: 'phi' });
  });
});
