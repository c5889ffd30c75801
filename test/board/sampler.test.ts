/**
 * Board samples become controller events: only changes, the level checked for plausibility,
 * the pulse counter turned into litres.
 */
import { describe, expect, it } from 'vitest';
import type { BoardInputs } from '../../src/board/board.js';
import { InputSampler } from '../../src/board/sampler.js';
import { DEFAULT_CONFIG } from '../../src/machine/config.js';

const dry: BoardInputs = { float: 'dry', flowPulses: 0, tubLevelL: 0 };

describe('the input sampler', () => {
  it('sends the first reading in full, then nothing while nothing changes', () => {
    const s = new InputSampler(DEFAULT_CONFIG, 450);
    expect(s.sample(dry).map((e) => e.type)).toEqual(['sensor.level', 'sensor.float']);
    expect(s.sample(dry)).toEqual([]);
    expect(s.sample({ ...dry, tubLevelL: 0.002 })).toEqual([]); // below the level resolution
  });

  it('turns pulses into litres, and a counter that went backwards into no flow at all', () => {
    const s = new InputSampler(DEFAULT_CONFIG, 450);
    s.sample(dry);
    expect(s.sample({ ...dry, flowPulses: 45 })).toEqual([{ type: 'sensor.flow', litres: 0.1 }]);
    expect(s.sample({ ...dry, flowPulses: 3 })).toEqual([]);
    expect(s.sample({ ...dry, flowPulses: 12 })).toEqual([{ type: 'sensor.flow', litres: 0.02 }]);
  });

  it("sends flow only when pulses arrive: when the flow has stopped is the controller's rule", () => {
    const s = new InputSampler(DEFAULT_CONFIG, 450);
    s.sample(dry);
    expect(s.sample({ ...dry, flowPulses: 1 }).map((e) => e.type)).toEqual(['sensor.flow']);
    for (let i = 0; i < 50; i++) expect(s.sample({ ...dry, flowPulses: 1 })).toEqual([]);
  });

  it('calls NaN, ±Infinity and readings above the maximum implausible, never open or ok', () => {
    for (const raw of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, DEFAULT_CONFIG.sensors.levelMaxL + 0.01]) {
      const s = new InputSampler(DEFAULT_CONFIG, 450);
      s.sample(dry);
      const [event] = s.sample({ ...dry, tubLevelL: raw });
      expect(event, String(raw)).toMatchObject({ type: 'sensor.level', reading: { status: 'implausible' } });
    }
    const s = new InputSampler(DEFAULT_CONFIG, 450);
    s.sample({ ...dry, tubLevelL: DEFAULT_CONFIG.sensors.levelMaxL });
    expect(s.sample({ ...dry, tubLevelL: DEFAULT_CONFIG.sensors.levelMaxL })).toEqual([]); // the maximum itself is plausible
  });

  it('classifies a lost level as open and a jump as implausible, and reports a blown hose fuse once', () => {
    const s = new InputSampler(DEFAULT_CONFIG, 450);
    s.sample(dry);
    expect(s.sample({ ...dry, tubLevelL: null })).toEqual([{ type: 'sensor.level', reading: { status: 'open' } }]);
    expect(s.tubLevelL).toBeNull();
    expect(s.sample({ ...dry, tubLevelL: 5 })).toEqual([{ type: 'sensor.level', reading: { status: 'ok', litres: 5 } }]);
    expect(s.sample({ ...dry, tubLevelL: 1 })).toEqual([{ type: 'sensor.level', reading: { status: 'implausible', litres: 1 } }]);
    expect(s.sample({ ...dry, tubLevelL: 1, hoseFuseBlown: true }).map((e) => e.type)).toEqual(['sensor.level', 'sensor.hoseFuse']);
    expect(s.sample({ ...dry, tubLevelL: 1, hoseFuseBlown: true })).toEqual([]);
  });
});
