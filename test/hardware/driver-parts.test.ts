/**
 * The johnny-five driver's small parts on their own: the report hub (nothing lost between
 * opening and the first subscriber), the clock-driven waits of the handshake, the keepalive
 * session (the host-silence rule) and the firmware's frames read into inputs and reports.
 */
import { describe, expect, it } from 'vitest';
import type { BoardReport } from '../../src/board/board.js';
import { Waiters, within } from '../../hardware/boards/clock-waits.js';
import { ReportHub } from '../../hardware/boards/report-hub.js';
import { FirmwareReports, type InputsBox } from '../../hardware/boards/firmware-reports.js';
import { KeepaliveSession } from '../../hardware/boards/keepalive-session.js';
import { SYSEX } from '../../hardware/boards/safety-sysex.js';
import { pins } from '../../hardware/pins.js';
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

describe('keepalive session', () => {
  function session(over: Partial<{ disconnected: boolean; needsArm: boolean; linkLost: boolean }> = {}) {
    const clock = new VirtualClock();
    const sent: number[][] = [];
    const state = { disconnected: false, needsArm: false, linkLost: false, repeats: 0, staleChecks: 0, ...over };
    const s = new KeepaliveSession({
      clock,
      keepaliveMs: 500,
      hostSilenceMs: 500,
      send: (frame) => sent.push(frame),
      disconnected: () => state.disconnected,
      closed: () => false,
      needsArm: () => state.needsArm,
      linkLost: () => state.linkLost,
      repeatRequests: () => state.repeats++,
      checkStale: () => state.staleChecks++,
    });
    return { clock, sent, state, s };
  }
  const keepalives = (sent: number[][]) => sent.filter((f) => f[0] === SYSEX.keepalive).length;

  it('keeps the link while the controller calls, and goes silent hostSilenceMs after it stops', () => {
    const { clock, sent, state, s } = session();
    s.start();
    for (let t = 0; t < 3_000; t += 100) {
      s.hostCalled();
      clock.advance(100);
    }
    const whileAlive = keepalives(sent);
    expect(whileAlive).toBeGreaterThanOrEqual(3_000 / 500);
    clock.advance(500); // the last call is still fresh for hostSilenceMs
    const atSilence = keepalives(sent);
    clock.advance(5_000);
    expect(keepalives(sent)).toBe(atSilence);
    expect(atSilence - whileAlive).toBeLessThanOrEqual(1);
    expect(state.staleChecks).toBeGreaterThan(0);
  });

  it("ARMs a board that needs it (and repeats the controller's requests) instead of a KEEPALIVE; writes nothing while the port is gone", () => {
    const { sent, state, s } = session({ needsArm: true });
    s.hostCalled();
    s.topUp();
    expect(sent).toEqual([[SYSEX.arm]]);
    expect(state.repeats).toBe(1);
    state.needsArm = false;
    state.disconnected = true;
    s.topUp();
    s.sendKeepalive();
    s.rearm();
    expect(sent).toEqual([[SYSEX.arm]]);
    expect(s.keepalivesSent).toBe(1);
  });
});

describe('firmware reports', () => {
  /** A minor-1 STATUS body: flags, float dry, no trip, the pulse count, 2 L, power-on reset. */
  function status(pulses: number, flags = 0x10): number[] {
    const b = new Array<number>(16).fill(0);
    b[0] = flags;
    for (let i = 0; i < 4; i++) b[3 + i] = (pulses >> (7 * i)) & 0x7f;
    b[12] = 0x01;
    return b;
  }
  function reports() {
    const clock = new VirtualClock();
    const got: BoardReport[] = [];
    const inputs: InputsBox = { value: { float: 'open', flowPulses: 0, tubLevelL: null } };
    const r = new FirmwareReports({ clock, map: pins, inputs, report: (x) => got.push(x), repeatRequests: () => undefined });
    r.statusMinor = 1;
    return { clock, got, inputs, r };
  }

  it("keeps the flow count monotonic across the board's restart (its counter back at zero)", () => {
    const { inputs, r } = reports();
    r.onSysex(SYSEX.status, status(100));
    r.onSysex(SYSEX.status, status(130));
    expect(inputs.value.flowPulses).toBe(30);
    r.onSysex(SYSEX.status, status(5)); // restarted: counts from 0
    expect(inputs.value.flowPulses).toBe(35);
    expect(inputs.value.hoseFuseBlown).toBe(false);
  });

  it('counts every malformed frame and warns about them at most once per 5 s', () => {
    const { clock, got, r } = reports();
    for (let i = 0; i < 3; i++) r.onSysex(SYSEX.status, [0x7f]);
    clock.advance(5_000);
    r.onSysex(SYSEX.result, [1, 2, 3]);
    expect(r.garbageFrames).toBe(4);
    expect(got.filter((x) => x.type === 'warning').map((x) => (x as { message: string }).message)).toEqual([
      'ignored a malformed STATUS frame from the board (1 so far): line noise?',
      'ignored a malformed RESULT frame from the board (4 so far): line noise?',
    ]);
  });

  it('says linkLost once when STATUS stops for the link timeout, and linkRestored at the next STATUS of an armed board', () => {
    const { clock, got, r } = reports();
    r.onSysex(SYSEX.status, status(0));
    clock.advance(1_999);
    r.checkStale(clock.now());
    expect(got.filter((x) => x.type === 'linkLost')).toHaveLength(0);
    clock.advance(1);
    r.checkStale(clock.now());
    r.checkStale(clock.now());
    expect(got.filter((x) => x.type === 'linkLost')).toHaveLength(1);
    r.onSysex(SYSEX.status, status(0));
    expect(got.filter((x) => x.type === 'linkRestored')).toHaveLength(1);
  });
});
