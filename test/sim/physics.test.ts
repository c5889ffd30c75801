import { describe, expect, it } from 'vitest';
import { DishwasherPlant } from '../../sim/physics.js';

function run(plant: DishwasherPlant, ms: number, stepMs = 100): void {
  for (let t = 0; t < ms; t += stepMs) plant.step(stepMs);
}

describe('dishwasher water physics', () => {
  it('fills at 4 L/min through the meter with the valve open, and not at all with it closed', () => {
    const plant = new DishwasherPlant({ levelNoiseL: 0 });
    run(plant, 30_000);
    expect(plant.signals().tubLevelL).toBe(0);
    plant.setValve(true);
    run(plant, 30_000);
    expect(plant.signals().tubLevelL).toBeCloseTo(2, 5);
    expect(plant.signals().flowPulses).toBe(Math.floor(2 * 450));
  });

  it('drains at the pump rate, and not at all when the drain is blocked', () => {
    const plant = new DishwasherPlant({ levelNoiseL: 0 });
    plant.setValve(true);
    run(plant, 60_000);
    plant.setValve(false);
    plant.inject({ kind: 'drainBlocked' });
    plant.setDrainPump(true);
    run(plant, 10_000);
    expect(plant.signals().tubLevelL).toBeCloseTo(4, 5);
    plant.clear('drainBlocked');
    run(plant, 10_000);
    expect(plant.signals().tubLevelL).toBeCloseTo(4 - 17 / 6, 5);
  });

  it('raises the float at about 45 mL in the base pan, and lowers it below 30 mL', () => {
    const plant = new DishwasherPlant({ panEvaporationMlPerMin: 0 });
    plant.inject({ kind: 'leak', ml: 44 });
    plant.step(100);
    expect(plant.signals().float).toBe('dry');
    plant.inject({ kind: 'leak', ml: 2 });
    plant.step(100);
    expect(plant.signals().float).toBe('wet');
    plant.dryPan();
    plant.step(100);
    expect(plant.signals().float).toBe('dry');
  });

  it('sends part of a cracked hose leak to the pan, unmetered', () => {
    const plant = new DishwasherPlant({ levelNoiseL: 0, panEvaporationMlPerMin: 0 });
    plant.inject({ kind: 'crackedHose', leakFraction: 0.5, toPanFraction: 0.1 });
    plant.setValve(true);
    run(plant, 60_000);
    expect(plant.totals.inflowL).toBeCloseTo(4, 5);
    expect(plant.totals.meteredL).toBeCloseTo(2, 5);
    expect(plant.totals.toPanL).toBeCloseTo(0.2, 5);
    expect(plant.readings().panMl).toBeCloseTo(200, 3);
  });

  it('meters water an internal leak takes before the tub, and sends only its share to the pan', () => {
    const plant = new DishwasherPlant({ levelNoiseL: 0, panEvaporationMlPerMin: 0 });
    plant.inject({ kind: 'internalLeak', leakFraction: 0.75, toPanFraction: 0.02 });
    plant.setValve(true);
    run(plant, 60_000);
    expect(plant.signals().flowPulses).toBe(Math.floor(4 * 450));
    expect(plant.signals().tubLevelL).toBeCloseTo(1, 5);
    expect(plant.readings().panMl).toBeCloseTo(60, 3);
    expect(plant.totals.lostL).toBeCloseTo(2.94, 5);
    plant.clear('internalLeak');
    run(plant, 15_000);
    expect(plant.signals().tubLevelL).toBeCloseTo(2, 5);
  });

  it('empties the tub through a siphoning drain hose with the pump off, and stops when cleared', () => {
    const plant = new DishwasherPlant({ levelNoiseL: 0 });
    plant.setValve(true);
    run(plant, 30_000);
    plant.setValve(false);
    plant.inject({ kind: 'siphon', lpm: 1 });
    run(plant, 60_000);
    expect(plant.signals().tubLevelL).toBeCloseTo(1, 5);
    expect(plant.signals().flowPulses).toBe(900);
    run(plant, 120_000);
    expect(plant.signals().tubLevelL).toBe(0);
    plant.setValve(true);
    run(plant, 30_000);
    // Filling at 4 L/min against 1 L/min down the drain.
    expect(plant.signals().tubLevelL).toBeCloseTo(1.5, 5);
    plant.clear('siphon');
    plant.setValve(false);
    run(plant, 60_000);
    expect(plant.signals().tubLevelL).toBeCloseTo(1.5, 5);
  });

  it('adds level noise up to the injected amplitude, enough to jump more than 1.5 L between samples', () => {
    const plant = new DishwasherPlant({ levelNoiseL: 0 });
    plant.setValve(true);
    run(plant, 60_000);
    plant.setValve(false);
    plant.inject({ kind: 'levelNoise', amplitudeL: 2 });
    const levels = Array.from({ length: 200 }, () => (plant.step(100), plant.signals().tubLevelL!));
    expect(Math.max(...levels)).toBeLessThanOrEqual(6);
    expect(Math.min(...levels)).toBeGreaterThanOrEqual(2);
    expect(levels.slice(1).filter((l, i) => Math.abs(l - levels[i]!) > 1.5).length).toBeGreaterThan(20);
    plant.clear('levelNoise');
    plant.step(100);
    expect(plant.signals().tubLevelL).toBeCloseTo(4, 5);
  });

  it('blows the hose fuse when a burst flow lasts, and then stops all flow', () => {
    const plant = new DishwasherPlant();
    plant.inject({ kind: 'burstHose' });
    plant.setValve(true);
    run(plant, 900);
    expect(plant.signals().hoseFuseBlown).toBe(false);
    run(plant, 200);
    expect(plant.signals().hoseFuseBlown).toBe(true);
    const before = plant.totals.inflowL;
    run(plant, 5_000);
    expect(plant.totals.inflowL).toBe(before);
  });

  it('keeps flowing when the valve is stuck open, and not when the tap is closed', () => {
    const stuck = new DishwasherPlant({ levelNoiseL: 0 });
    stuck.inject({ kind: 'valveStuckOpen' });
    run(stuck, 15_000);
    expect(stuck.signals().tubLevelL).toBeCloseTo(1, 5);
    const tap = new DishwasherPlant({ levelNoiseL: 0 });
    tap.inject({ kind: 'tapClosed' });
    tap.setValve(true);
    run(tap, 15_000);
    expect(tap.signals().tubLevelL).toBe(0);
  });

  it('loses the level signal on a wire break, and chatters the float without water', () => {
    const plant = new DishwasherPlant();
    plant.inject({ kind: 'levelWireBreak' });
    plant.step(100);
    expect(plant.signals().tubLevelL).toBeNull();
    plant.inject({ kind: 'floatChatter', periodMs: 1_000, wetMs: 300 });
    const readings: string[] = [];
    for (let i = 0; i < 10; i++) {
      plant.step(100);
      readings.push(plant.signals().float);
    }
    expect(readings.filter((r) => r === 'wet')).toHaveLength(3);
  });

  it('repeats its noise exactly for the same seed', () => {
    const a = new DishwasherPlant({ seed: 5 });
    const b = new DishwasherPlant({ seed: 5 });
    const c = new DishwasherPlant({ seed: 6 });
    const seq = (p: DishwasherPlant) => Array.from({ length: 20 }, () => (p.step(100), p.signals().tubLevelL));
    const sa = seq(a);
    expect(seq(b)).toEqual(sa);
    expect(seq(c)).not.toEqual(sa);
  });
});
