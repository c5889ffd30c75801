/** The virtual clock (src/clock/virtual-clock.ts): time moves only when told, timers fire in order. */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock/virtual-clock.js';

describe('the virtual clock', () => {
  it('fires timers in order, same-time timers in the order they were set, and cancels', () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b'), 200);
    clock.setTimeout(() => fired.push('a'), 100);
    clock.setTimeout(() => fired.push('a2'), 100);
    const id = clock.setTimeout(() => fired.push('never'), 150);
    clock.clearTimeout(id);
    clock.setTimeout(() => clock.setTimeout(() => fired.push('nested'), 10), 50);
    clock.advance(1_000);
    expect(fired).toEqual(['nested', 'a', 'a2', 'b']);
    expect(clock.now()).toBe(1_000);
  });

  it('cancels again after every cancelled timer has been dropped, and counts what is pending', () => {
    // The cancelled set is made at the first clearTimeout and let go once empty (a fleet holds
    // thousands of clocks): cancelling must work just the same the second time round.
    const clock = new VirtualClock();
    const fired: string[] = [];
    clock.clearTimeout(clock.setTimeout(() => fired.push('first'), 100));
    clock.setTimeout(() => fired.push('kept'), 150);
    expect(clock.pending).toBe(1);
    clock.advance(200);
    expect(clock.pending).toBe(0);
    const later = clock.setTimeout(() => fired.push('second'), 100);
    clock.setTimeout(() => fired.push('after'), 100);
    clock.clearTimeout(later);
    expect(clock.pending).toBe(1);
    expect(clock.nextDue()).toBe(300);
    clock.advance(200);
    expect(fired).toEqual(['kept', 'after']);
    expect(clock.pending).toBe(0);
  });

  it('fails loudly in runUntil instead of hanging', () => {
    const clock = new VirtualClock();
    expect(() => clock.runUntil(() => false, 5_000)).toThrow(/within 5000 ms/);
  });
});
