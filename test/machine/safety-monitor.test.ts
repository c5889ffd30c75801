/**
 * The safety monitor (safety-rules.ts) is the oracle of the properties and the exploration, so
 * it is tested too: on hand-written traces it must name each broken rule, and it must not blame
 * a step for what a later timer did. Each trace is what a board would have seen.
 */
import { describe, expect, it } from 'vitest';
import { PROPERTY_CONFIG } from './property-suite.js';
import { acceptedConfig } from './rule-config.js';
import { SafetyMonitor } from './safety-rules.js';
import type { RuleId } from './safety-trace.js';

const { rules } = acceptedConfig(PROPERTY_CONFIG);
const DRY_MS = rules.leak.dryMs;

/** A monitor after a boot with the float dry and the tub nearly empty, armed, at t=0. */
function booted(): SafetyMonitor {
  const m = new SafetyMonitor(rules);
  m.begin(0, [
    { kind: 'float', reading: 'dry' },
    { kind: 'level', signal: { status: 'ok', litres: 0.1 } },
  ]);
  m.observe({ kind: 'breaker', breaker: 'armed', code: null });
  return m;
}

const broken = (m: SafetyMonitor): RuleId[] => {
  m.finish();
  return [...new Set(m.violations.map((v) => v.rule))];
};

describe('the safety monitor names each broken rule', () => {
  it('R1: an open with the level lost', () => {
    const m = booted();
    m.begin(100, [{ kind: 'level', signal: { status: 'lost' } }]);
    m.begin(200, [{ kind: 'program', request: 'fill' }]);
    m.command({ kind: 'setValve', open: true });
    expect(broken(m)).toEqual(['R1']);
  });

  it('R2: a wet reading that leaves the valve open to the end of its step', () => {
    const m = booted();
    m.begin(100, [{ kind: 'program', request: 'fill' }]);
    m.command({ kind: 'setValve', open: true });
    m.begin(200, [{ kind: 'float', reading: 'wet' }]);
    expect(broken(m)).toContain('R2');
  });

  it('R3: an open while the link is lost', () => {
    const m = booted();
    m.begin(100, [{ kind: 'report', report: 'linkLost' }]);
    m.begin(200, [{ kind: 'program', request: 'fill' }]);
    m.command({ kind: 'setValve', open: true });
    expect(broken(m)).toEqual(expect.arrayContaining(['R3']));
  });

  it('R4: a command that opens the valve while the pan has been dry for less than leak.dryMs', () => {
    const m = booted();
    m.begin(100, [{ kind: 'float', reading: 'wet' }]);
    m.begin(200, [{ kind: 'float', reading: 'dry' }]);
    m.begin(200 + DRY_MS - 1, [{ kind: 'command', command: 'resume' }]);
    m.command({ kind: 'setValve', open: true });
    expect(broken(m)).toContain('R4');
  });

  it('R4 holds at exactly leak.dryMs of dry pan', () => {
    const m = booted();
    m.begin(100, [{ kind: 'float', reading: 'wet' }]);
    m.begin(200, [{ kind: 'float', reading: 'dry' }]);
    m.begin(200 + DRY_MS, [{ kind: 'command', command: 'resume' }]);
    m.command({ kind: 'setValve', open: true });
    m.observe({ kind: 'commandResult', command: 'resume', ok: true });
    expect(broken(m)).not.toContain('R4');
  });

  it('R7: a refused exercise that opens the valve in its own step', () => {
    const m = booted();
    m.begin(DRY_MS, [{ kind: 'command', command: 'exercise' }]);
    m.command({ kind: 'setValve', open: true });
    m.observe({ kind: 'commandResult', command: 'exercise', ok: false });
    expect(broken(m)).toContain('R7');
  });

  it('R8: closeValve that leaves the valve open', () => {
    const m = booted();
    m.begin(100, [{ kind: 'program', request: 'fill' }]);
    m.command({ kind: 'setValve', open: true });
    m.begin(200, [{ kind: 'command', command: 'closeValve' }]);
    expect(broken(m)).toEqual(['R8']);
  });
});

describe('the safety monitor blames a step only for what it caused', () => {
  // Found by the 100,000-sequence bench: a fill resumed by the level's settle timer 100 ms after
  // a refused exercise was counted as the exercise's doing (R7) and as a command's open (R4).
  it('an open by a timer after a refused command starts a step of its own', () => {
    const m = booted();
    m.begin(100, [{ kind: 'program', request: 'fill' }]);
    m.command({ kind: 'setValve', open: true });
    m.begin(200, [{ kind: 'level', signal: { status: 'implausible' } }]);
    m.command({ kind: 'setValve', open: false });
    m.begin(300, [{ kind: 'level', signal: { status: 'ok', litres: 0.1 } }]);
    m.begin(2_200, [{ kind: 'command', command: 'exercise' }]);
    m.observe({ kind: 'commandResult', command: 'exercise', ok: false }, 2_200);
    m.command({ kind: 'setValve', open: true }, 2_300);
    expect(m.violations).toEqual([]);
    expect(broken(m)).toEqual([]);
  });

  it('the same open at the command’s own instant is still the command’s', () => {
    const m = booted();
    m.begin(2_200, [{ kind: 'command', command: 'exercise' }]);
    m.observe({ kind: 'commandResult', command: 'exercise', ok: false }, 2_200);
    m.command({ kind: 'setValve', open: true }, 2_200);
    expect(broken(m)).toContain('R7');
  });
});
