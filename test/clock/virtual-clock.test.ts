/** The virtual clock (src/clock/virtual-clock.ts): time moves only when told, timers fire in order. */
import { describe, expect, it } from 'vitest';
import { SCAN_LIMIT, VirtualClock } from '../../src/clock/virtual-clock.js';

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

  it('clearing a timer that already fired changes nothing: pending stays right and later timers fire', () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    const early = clock.setTimeout(() => fired.push('early'), 100);
    clock.advance(150);
    clock.clearTimeout(early);
    expect(clock.pending).toBe(0);
    clock.setTimeout(() => fired.push('later'), 100);
    clock.clearTimeout(early);
    expect(clock.pending).toBe(1);
    expect(clock.nextDue()).toBe(250);
    clock.advance(100);
    expect(fired).toEqual(['early', 'later']);
    expect(clock.pending).toBe(0);
    expect(clock.nextDue()).toBeNull();
  });

  it('clearing an id it never gave, twice the same timer, or a timer from inside its own callback changes nothing else', () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    const a = clock.setTimeout(() => fired.push('a'), 100);
    const self: number = clock.setTimeout(() => {
      fired.push('self');
      clock.clearTimeout(self);
    }, 50);
    const b = clock.setTimeout(() => fired.push('b'), 100);
    for (const unknown of [0, -1, 999, 1.5, NaN, '1', String(a), null, undefined, {}, [a]]) clock.clearTimeout(unknown);
    expect(clock.pending).toBe(3);
    clock.clearTimeout(b);
    clock.clearTimeout(b);
    expect(clock.pending).toBe(2);
    clock.advance(50);
    expect(fired).toEqual(['self']);
    expect(clock.pending).toBe(1);
    clock.advance(50);
    expect(fired).toEqual(['self', 'a']);
    expect(clock.pending).toBe(0);
  });

  it('a long run clearing timers that already fired holds nothing for them: pending stays exact all along', () => {
    // A device's deadline is cleared after it fired on every cycle of a long simulation.
    const clock = new VirtualClock();
    let ticks = 0;
    let ends = 0;
    clock.setTimeout(() => ends++, 10_000_000);
    for (let i = 0; i < 5_000; i++) {
      const id = clock.setTimeout(() => ticks++, 10);
      clock.advance(10);
      clock.clearTimeout(id);
      clock.clearTimeout(id);
      expect(clock.pending).toBe(1);
    }
    expect(ticks).toBe(5_000);
    expect(clock.nextDue()).toBe(10_000_000);
    clock.advanceTo(10_000_000);
    expect([ends, clock.pending]).toEqual([1, 0]);
  });

  it('scans a small heap for the timer it clears, and keeps an index of ids only while the heap is large', () => {
    // A fleet holds thousands of clocks with a handful of timers each: none of them pays for an index.
    const clock = new VirtualClock();
    const fired: number[] = [];
    const ids = Array.from({ length: SCAN_LIMIT }, (_, i) => clock.setTimeout(() => fired.push(i), i + 1));
    expect(clock.indexed).toBe(0);
    clock.clearTimeout(ids[0]);
    expect([clock.indexed, clock.pending]).toEqual([0, SCAN_LIMIT - 1]);
    clock.setTimeout(() => fired.push(1_000), 1_000);
    clock.clearTimeout(ids[1]);
    expect([clock.indexed, clock.pending]).toEqual([SCAN_LIMIT + 1, SCAN_LIMIT - 1]);
    // a timer set after the index was made is found through it
    const late = clock.setTimeout(() => fired.push(1_001), 1_001);
    expect(clock.indexed).toBe(SCAN_LIMIT + 2);
    clock.clearTimeout(late);
    expect(clock.pending).toBe(SCAN_LIMIT - 1);
    // the two cleared timers are dropped and the third fires: the index lets all three go
    clock.advance(3);
    expect([fired, clock.indexed, clock.pending]).toEqual([[2], SCAN_LIMIT - 1, SCAN_LIMIT - 2]);
    // the next clear (of a timer that fired) finds a small heap and lets the index go
    clock.clearTimeout(ids[2]);
    expect([clock.indexed, clock.pending]).toEqual([0, SCAN_LIMIT - 2]);
    clock.advance(2_000);
    expect(fired).toEqual([...Array.from({ length: SCAN_LIMIT - 2 }, (_, i) => i + 2), 1_000]);
  });

  it('timers due at the same instant fire in the order they were set, among many others', () => {
    // 50 at 100 ms, interleaved with timers due earlier, later and at 0: the heap reorders them.
    const clock = new VirtualClock();
    const fired: string[] = [];
    const expected: Record<number, string[]> = { 0: [], 40: [], 100: [], 170: [] };
    for (let i = 0; i < 50; i++) {
      const other = [170, 40, 0][i % 3]!;
      clock.setTimeout(() => fired.push(`o${i}`), other);
      expected[other]!.push(`o${i}`);
      clock.setTimeout(() => fired.push(`t${i}`), 100);
      expected[100]!.push(`t${i}`);
    }
    clock.advance(200);
    expect(fired).toEqual([...expected[0]!, ...expected[40]!, ...expected[100]!, ...expected[170]!]);
  });

  it('a delay that is not a finite number >= 0 means now, never in the past: after the timers already due now', () => {
    const clock = new VirtualClock(1_000);
    const fired: [string, number][] = [];
    const at = (name: string) => () => fired.push([name, clock.now()]);
    clock.setTimeout(at('zero'), 0);
    for (const [name, ms] of [
      ['nan', NaN],
      ['negative', -5],
      ['minus-infinity', -Infinity],
      ['infinity', Infinity],
    ] as const)
      clock.setTimeout(at(name), ms);
    clock.setTimeout(at('short'), 5);
    expect(clock.nextDue()).toBe(1_000);
    clock.advance(0);
    expect(fired).toEqual([
      ['zero', 1_000],
      ['nan', 1_000],
      ['negative', 1_000],
      ['minus-infinity', 1_000],
      ['infinity', 1_000],
    ]);
    expect(clock.nextDue()).toBe(1_005);
    clock.advance(5);
    expect(fired.at(-1)).toEqual(['short', 1_005]);
  });

  it('gives unique, increasing ids', () => {
    const clock = new VirtualClock();
    const ids = Array.from({ length: 10 }, () => clock.setTimeout(() => undefined, 10));
    clock.advance(10);
    ids.push(clock.setTimeout(() => undefined, 10));
    for (let i = 1; i < ids.length; i++) expect(ids[i]!).toBeGreaterThan(ids[i - 1]!);
  });

  it('an empty clock has nothing due, and neither has one whose timers were all cleared', () => {
    const clock = new VirtualClock(500);
    expect(clock.nextDue()).toBeNull();
    const a = clock.setTimeout(() => undefined, 10);
    const b = clock.setTimeout(() => undefined, 20);
    clock.clearTimeout(a);
    expect(clock.nextDue()).toBe(520);
    clock.clearTimeout(b);
    expect(clock.nextDue()).toBeNull();
    expect(clock.pending).toBe(0);
  });

  it('refuses to move time backwards or by NaN, and moves it not at all then', () => {
    const clock = new VirtualClock(100);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.advance(-1)).toThrow(/^advance\(-1\): ms must be >= 0$/);
    expect(() => clock.advance(NaN)).toThrow(/^advance\(NaN\): ms must be >= 0$/);
    expect(clock.now()).toBe(100);
    clock.advance(0);
    expect(clock.now()).toBe(100);
    clock.advanceTo(50);
    expect(clock.now()).toBe(100);
  });

  it('runUntil returns the virtual time it took, and throws exactly when maxMs passed without the condition', () => {
    const clock = new VirtualClock(1_000);
    let asked = 0;
    expect(() =>
      clock.runUntil(() => {
        asked++;
        return false;
      }, 500),
    ).toThrow(/^runUntil: condition not met within 500 ms of virtual time$/);
    // asked at 0, 100, ..., 500 ms: the bound is reached, not passed
    expect([clock.now(), asked]).toEqual([1_500, 6]);
    const from = (start: number, ms: number) => () => clock.now() - start >= ms;
    expect(clock.runUntil(from(clock.now(), 500), 500)).toBe(500);
    expect(clock.runUntil(from(clock.now() - 250, 500), 500)).toBe(300);
    expect(clock.runUntil(from(clock.now(), 50), 500, 30)).toBe(60);
    expect(clock.runUntil(() => true, 0)).toBe(0);
  });

  it('fires exactly as a plain list sorted by due time and set order would, through clears and heap sizes small and large', () => {
    // Random sets (many ties), clears of pending, fired, cleared and unknown ids, sets and
    // clears from inside callbacks, advances; a plain list is the reference. The heap grows
    // well past the size where the clock finds ids through an index, and shrinks back.
    const SEED = 20261129;
    let state = SEED;
    const rand = (n: number) => {
      state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
      return (state >>> 8) % n;
    };
    interface Api {
      set(ms: number): number;
      clear(id: number): void;
    }
    // What a timer does when it fires, the same in the clock and in the reference.
    const react = (id: number, api: Api) => {
      if (id % 7 === 0) api.set([0, 10, 30][id % 3]!);
      if (id % 5 === 0) api.clear(id + 1);
      if (id % 11 === 0) api.clear(id);
    };

    const clock = new VirtualClock(0);
    const fired: number[] = [];
    const real: Api = {
      set: (ms) => {
        const self = { id: 0 };
        self.id = clock.setTimeout(() => {
          fired.push(self.id);
          react(self.id, real);
        }, ms);
        return self.id;
      },
      clear: (id) => clock.clearTimeout(id),
    };

    const list: { id: number; at: number; live: boolean }[] = [];
    let now = 0;
    const expected: number[] = [];
    const reference: Api = {
      set: (ms) => {
        list.push({ id: list.length + 1, at: now + (Number.isFinite(ms) && ms > 0 ? ms : 0), live: true });
        return list.length;
      },
      clear: (id) => {
        const t = list.find((x) => x.id === id);
        if (t) t.live = false;
      },
    };
    const referenceAdvance = (ms: number) => {
      const target = now + ms;
      for (;;) {
        const due = list.filter((x) => x.live && x.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
        if (!due) break;
        due.live = false;
        now = due.at;
        expected.push(due.id);
        react(due.id, reference);
      }
      now = target;
    };

    const delays = [0, 10, 10, 20, 30, 30, 30, 50, 80, 120, NaN, -5];
    let largest = 0;
    let shrunk = 0;
    for (let round = 0; round < 300; round++) {
      const growing = round % 40 < 20;
      const sets = growing ? rand(16) : rand(3);
      for (let i = 0; i < sets; i++) {
        const ms = delays[rand(delays.length)]!;
        expect(real.set(ms), `seed ${SEED}, round ${round}`).toBe(reference.set(ms));
      }
      for (let i = rand(4); i > 0; i--) {
        const id = rand(list.length + 5);
        real.clear(id);
        reference.clear(id);
      }
      const ms = growing ? [0, 0, 10][rand(3)]! : [20, 40, 80][rand(3)]!;
      clock.advance(ms);
      referenceAdvance(ms);
      const live = list.filter((x) => x.live);
      const context = `seed ${SEED}, round ${round}`;
      expect(fired, context).toEqual(expected);
      expect(clock.now(), context).toBe(now);
      expect(clock.pending, context).toBe(live.length);
      expect(clock.nextDue(), context).toBe(live.length === 0 ? null : Math.min(...live.map((x) => x.at)));
      if (largest > 64 && live.length < 10) shrunk++;
      largest = Math.max(largest, live.length);
    }
    // the run went through both a large heap and a small one again
    expect([largest > 64, shrunk > 0, fired.length > 1_000]).toEqual([true, true, true]);
  });
});
