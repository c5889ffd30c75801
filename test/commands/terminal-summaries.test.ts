/**
 * What a person sees on a terminal when the fleet is large: `aquastop start --devices 1000` counts
 * its appliances instead of listing a thousand ids, and alerts that fire together are shown a few
 * at a time with one line counting the rest by kind (on a virtual clock).
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { AlertSummary } from '../../src/commands/service/alert-summary.js';
import { createLogger } from '../../src/commands/service/log.js';
import { demoAppliances, fleetSummary } from '../../src/commands/start.js';
import { startDemoProcess } from '../e2e/start-process.js';

function alertsOn(clock: VirtualClock, perWindow = 10) {
  const lines: string[] = [];
  return { lines, summary: new AlertSummary({ clock, perWindow, write: (l) => lines.push(l) }) };
}

describe('alerts summarised when many fire at once', () => {
  it('shows the first 10 of a second, then one line counting the rest by kind, largest first', () => {
    const clock = new VirtualClock(0);
    const { lines, summary } = alertsOn(clock);
    for (let i = 0; i < 30; i++) summary.offer('fault-raised', `fault ${i}`);
    for (let i = 0; i < 17; i++) summary.offer('down', `down ${i}`);
    expect(lines).toEqual(Array.from({ length: 10 }, (_, i) => `fault ${i}`));
    clock.advance(999);
    expect(lines).toHaveLength(10);
    clock.advance(1);
    expect(lines.at(-1)).toBe('… and 37 more alerts (fault-raised 20, down 17)');
    // A quiet second says nothing; the next burst starts its own window.
    clock.advance(1_000);
    expect(lines).toHaveLength(11);
    summary.offer('up', 'up 1');
    expect(lines.at(-1)).toBe('up 1');
  });

  it('a few alerts pass as they are, with no summary line', () => {
    const clock = new VirtualClock(0);
    const { lines, summary } = alertsOn(clock);
    for (let i = 0; i < 10; i++) summary.offer('down', `down ${i}`);
    clock.advance(5_000);
    expect(lines).toHaveLength(10);
  });

  it('the pretty log summarises alert records, and JSON keeps every one', () => {
    const clock = new VirtualClock(Date.UTC(2026, 10, 29, 12));
    const run = (format: 'pretty' | 'json') => {
      let text = '';
      const out = new Writable({ write: (c: Buffer, _e, done) => ((text += c.toString()), done()) });
      const log = createLogger('t', { format, level: 'info' }, out, clock);
      for (let i = 0; i < 25; i++) log.warn({ device: `d-${i}`, alert: { kind: 'down', device: `d-${i}` } }, `alert down d-${i}`);
      log.info('not an alert');
      clock.advance(1_000);
      return text.trim().split('\n');
    };
    const pretty = run('pretty');
    expect(pretty.filter((l) => /alert down d-/.test(l))).toHaveLength(10);
    expect(pretty).toContainEqual(expect.stringMatching(/INFO {2}not an alert$/));
    expect(pretty.at(-1)).toMatch(/^12:00:01\.000 WARN {2}… and 15 more alerts \(down 15\)$/);
    expect(run('json').filter((l) => l.includes('"alert"'))).toHaveLength(25);
  });
});

describe('aquastop start --devices 1000', () => {
  it('counts the fleet in its banner: the first ids and how many more, not 1,000 ids', () => {
    const ids = demoAppliances(1000).map((a) => a.id);
    const leaky = demoAppliances(1000)
      .filter((a) => a.leaks)
      .map((a) => a.id);
    expect(fleetSummary(ids, leaky)).toBe(
      '1000 appliances: dishwasher-kitchen, dishwasher-office, dishwasher-leaky, dishwasher-004, dishwasher-005, … (995 more); 333 leak: dishwasher-leaky, dishwasher-006-leaky, dishwasher-009-leaky, dishwasher-012-leaky, dishwasher-015-leaky, … (328 more)',
    );
    expect(fleetSummary(ids.slice(0, 3), leaky.slice(0, 1))).toBe('3 appliances: dishwasher-kitchen, dishwasher-office, dishwasher-leaky; 1 leaks: dishwasher-leaky');
  });

  it('prints that banner from the real command', async () => {
    const demo = await startDemoProcess(['--devices', '1000'], 90_000);
    try {
      const fleet = demo
        .stdout()
        .split('\n')
        .find((l) => l.startsWith('fleet '))!;
      expect(fleet).toMatch(/^fleet {6}1000 appliances: dishwasher-kitchen, .*, … \(995 more\); 333 leak: .*\(328 more\) \(looping at real speed/);
      expect(fleet.length).toBeLessThan(400);
    } finally {
      await demo.cleanup();
    }
  }, 120_000);
});
