/**
 * The johnny-five driver's small parts on their own: the report hub (nothing lost between
 * opening and the first subscriber) and the clock-driven waits of the handshake.
 */
import { describe, expect, it } from 'vitest';
import type { BoardReport } from '../../src/board/board.js';
import { Waiters, within } from '../../hardware/boards/clock-waits.js';
import { ReportHub } from '../../hardware/boards/report-hub.js';
import { VirtualClock } from '../../src/clock/virtual-clock.js';

const warning = (message: string): BoardReport => ({ type: 'warning', message });

describe('report hub', () => {
  it('delivers reports raised while opening, and replays them to every later subscriber', () => {
    const hub = new ReportHub();
    const early: BoardReport[] = [];
    hub.subscribe((r) => early.push(r));
    hub.publish(warning('plain Firmata'));
    expect(early).toEqual([warning('plain Firmata')]);
    hub.markOpened();
    const a: BoardReport[] = [];
    const b: BoardReport[] = [];
    hub.subscribe((r) => a.push(r));
    hub.subscribe((r) => b.push(r));
    expect(a).toEqual([warning('plain Firmata')]);
    expect(b).toEqual([warning('plain Firmata')]);
  });

  it('keeps later reports for the first subscriber when nobody listens, up to its limit', () => {
    const hub = new ReportHub(2);
    hub.markOpened();
    for (const m of ['1', '2', '3']) hub.publish(warning(m));
    const first: BoardReport[] = [];
    const second: BoardReport[] = [];
    hub.subscribe((r) => first.push(r));
    hub.subscribe((r) => second.push(r));
    expect(first).toEqual([warning('1'), warning('2')]);
    expect(second).toEqual([]);
  });

  it('delivers nothing to a listener after it unsubscribed', () => {
    const hub = new ReportHub();
    hub.markOpened();
    const got: BoardReport[] = [];
    const off = hub.subscribe((r) => got.push(r));
    hub.publish({ type: 'linkLost' });
    off();
    hub.publish({ type: 'linkRestored' });
    expect(got).toEqual([{ type: 'linkLost' }]);
  });
});

describe('clock-driven waits', () => {
  it('resolves true when the predicate holds at a wake, false once the clock passes the limit', async () => {
    const clock = new VirtualClock();
    const waits = new Waiters(clock);
    let ready = false;
    const early = waits.waitFor(() => ready, 1_000);
    ready = true;
    waits.wake();
    await expect(early).resolves.toBe(true);
    const late = waits.waitFor(() => false, 1_000);
    clock.advance(999);
    waits.wake();
    clock.advance(1);
    await expect(late).resolves.toBe(false);
  });

  it('ends every wait at cancelAll() and does not start new ones', async () => {
    const waits = new Waiters(new VirtualClock());
    const pending = waits.waitFor(() => false, 60_000);
    waits.cancelAll();
    await expect(pending).resolves.toBe(false);
    await expect(waits.waitFor(() => false, 60_000)).resolves.toBe(false);
  });

  it('rejects with the timeout message after the limit, and only the first outcome counts', async () => {
    const clock = new VirtualClock();
    let finish = (): void => undefined;
    const handshake = within(clock, 500, 'no handshake within 500 ms', (done) => {
      finish = done;
    });
    clock.advance(500);
    finish();
    await expect(handshake).rejects.toMatchObject({ boardError: true, message: 'no handshake within 500 ms' });
    await expect(within(clock, 500, 'late', (_done, fail) => fail('port closed'))).rejects.toThrow('port closed');
  });
});
