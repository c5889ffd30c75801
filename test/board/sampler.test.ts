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
    expect(s.sample(dry, 0).map((e) => e.type)).toEqual(['sensor.float', 'sensor.level']);
    expect(s.sample(dry, 100)).toEqual([]);
    expect(s.sample({ ...dry, tubLevelL: 0.002 }, 200)).toEqual([]); // below the level resolution
  });

  it('turns pulses into litres, and a counter that went backwards into no flow at all', () => {
    const s = new InputSampler(DEFAULT_CONFIG, 450);
    s.sample(dry, 0);
    expect(s.sample({ ...dry, flowPulses: 45 }, 100)).toEqual([{ type: 'sensor.flow', litres: 0.1 }]);
    expect(s.sample({ ...dry, flowPulses: 3 }, 200)).toEqual([]);
    expect(s.sample({ ...dry, flowPulses: 12 }, 300)).toEqual([{ type: 'sensor.flow', litres: 0.02 }]);
  });

  it('says the flow stopped only after valveLeak.quietMs without a pulse', () => {
    const s = new InputSampler(DEFAULT_CONFIG, 450);
    s.sample(dry, 0);
    s.sample({ ...dry, flowPulses: 1 }, 100);
    expect(s.sample({ ...dry, flowPulses: 1 }, 100 + DEFAULT_CONFIG.valveLeak.quietMs - 100)).toEqual([]);
    expect(s.sample({ ...dry, flowPulses: 1 }, 100 + DEFAULT_CONFIG.valveLeak.quietMs)).toEqual([{ type: 'sensor.flowStopped' }]);
  });

  it('classifies a lost level as open and a jump as implausible, and reports a blown hose fuse once', () => {
    const s = new InputSampler(DEFAULT_CONFIG, 450);
    s.sample(dry, 0);
    expect(s.sample({ ...dry, tubLevelL: null }, 100)).toEqual([{ type: 'sensor.level', reading: { status: 'open' } }]);
    expect(s.tubLevelL).toBeNull();
    expect(s.sample({ ...dry, tubLevelL: 5 }, 200)).toEqual([{ type: 'sensor.level', reading: { status: 'ok', litres: 5 } }]);
    expect(s.sample({ ...dry, tubLevelL: 1 }, 300)).toEqual([{ type: 'sensor.level', reading: { status: 'implausible', litres: 1 } }]);
    expect(s.sample({ ...dry, tubLevelL: 1, hoseFuseBlown: true }, 400).map((e) => e.type)).toEqual(['sensor.level', 'sensor.hoseFuse']);
    expect(s.sample({ ...dry, tubLevelL: 1, hoseFuseBlown: true }, 500)).toEqual([]);
  });
});
