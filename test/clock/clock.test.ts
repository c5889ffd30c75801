/** The wall clock (src/clock/clock.ts): real time and real timers, behind the same Clock as the virtual one. */
import { describe, expect, it } from 'vitest';
import { wallClock } from '../../src/clock/clock.js';

describe('the wall clock', () => {
  it('reads the time of day in milliseconds', () => {
    const before = Date.now();
    const now = wallClock.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  it('fires a real timer, and a cleared one never: a 1 ms timer cleared, a 2 ms one fires alone', async () => {
    const fired: string[] = [];
    const cleared = wallClock.setTimeout(() => fired.push('cleared'), 1);
    expect(cleared).toBeDefined();
    wallClock.clearTimeout(cleared);
    // Node fires due timers in the order they fall due: the cleared one would come first.
    await new Promise<void>((resolve) => {
      const id = wallClock.setTimeout(() => {
        fired.push('kept');
        resolve();
      }, 2);
      expect(id).toBeDefined();
    });
    expect(fired).toEqual(['kept']);
  });
});
