import { describe, expect, it } from 'vitest';
import { startRuntime } from '../../src/board/runtime.js';
import type { RuntimeEvent } from '../../src/board/runtime-types.js';
import { MemoryStore } from '../../src/board/store.js';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { DEFAULT_CONFIG } from '../../src/machine/config.js';
import { ScriptedBoard } from '../helpers/scripted-board.js';

async function setup(store = new MemoryStore()) {
  const clock = new VirtualClock();
  const board = new ScriptedBoard();
  const runtime = await startRuntime({ deviceId: 'dw1', board, clock, store });
  const events: RuntimeEvent[] = [];
  runtime.onAny((e) => events.push(e));
  clock.advance(0); // deliver the start-up events
  return { clock, board, runtime, events, store };
}

describe('the runtime binds the controller to a board', () => {
  it('opens the board valve for a fill and closes it at the level', async () => {
    const { clock, board, runtime, events } = await setup();
    runtime.program({ type: 'fill', targetL: 2 });
    expect(board.valve).toBe(true);
    for (let l = 0.5; l <= 2.1; l += 0.4) {
      board.inputs.tubLevelL = l;
      clock.advance(100);
    }
    expect(board.valve).toBe(false);
    expect(events.some((e) => e.type === 'phase' && e.done === 'fill')).toBe(true);
    expect(runtime.status()).toMatchObject({ breaker: 'armed', valve: 'closed', fault: null });
  });

  it('sends a keepalive to the board every tick', async () => {
    const { clock, board } = await setup();
    const before = board.keepalives;
    clock.advance(1000);
    expect(board.keepalives - before).toBe(10);
  });

  it('latches i30 from a wet float, runs the pump, and publishes a fault event with id and display', async () => {
    const { clock, board, runtime, events } = await setup();
    runtime.program({ type: 'fill', targetL: 2 });
    board.inputs.float = 'wet';
    clock.advance(10_100);
    expect(board.valve).toBe(false);
    expect(board.pump).toBe(true);
    const fault = events.find((e) => e.type === 'fault');
    expect(fault).toMatchObject({ type: 'fault', fault: { event: 'raised', code: 'i30', display: ',30', id: '1-1' } });
    expect(runtime.status()).toMatchObject({ breaker: 'latched', fault: 'i30', leak: true, drainPump: 'on' });
  });

  it('keeps the latch and the fault memory through a power cut, and counts boots', async () => {
    const store = new MemoryStore();
    const first = await setup(store);
    first.board.inputs.float = 'wet';
    first.clock.advance(10_100);
    first.runtime.halt();
    const second = await setup(store);
    expect(second.runtime.boot).toBe(2);
    expect(second.runtime.status()).toMatchObject({ breaker: 'latched', fault: 'i30' });
    expect(second.runtime.faultMemory().map((f) => f.code)).toEqual(['i30', 'i30']);
    second.board.inputs.float = 'dry';
    second.clock.advance(1000);
    expect(second.runtime.command('reset')).toMatchObject({ ok: false, error: expect.stringMatching(/dry for 60 s/) });
    second.clock.advance(60_000);
    expect(second.runtime.command('reset')).toEqual({ ok: true });
    second.runtime.halt();
    const third = await setup(store);
    expect(third.runtime.status().breaker).toBe('armed');
  });

  it('goes to service with i80 when the memory is corrupt, and does not overwrite it', async () => {
    const store = new MemoryStore();
    store.corrupt();
    const { runtime } = await setup(store);
    expect(runtime.status()).toMatchObject({ breaker: 'service', fault: 'i80' });
    expect(() => store.load()).toThrow();
    runtime.program({ type: 'fill', targetL: 2 });
    expect(runtime.status().valve).toBe('closed');
  });

  it('closes the valve and keeps it closed when reading the board throws', async () => {
    const { clock, board, runtime, events } = await setup();
    runtime.program({ type: 'fill', targetL: 2 });
    expect(board.valve).toBe(true);
    board.failReads = new Error('serial read failed');
    clock.advance(100);
    expect(board.valve).toBe(false);
    expect(events.some((e) => e.type === 'error' && /serial read failed/.test(e.message))).toBe(true);
    board.failReads = null;
    runtime.program({ type: 'idle' });
    runtime.program({ type: 'fill', targetL: 2 });
    clock.advance(1000);
    expect(board.valve).toBe(false);
    expect(runtime.command('resume')).toMatchObject({ ok: false });
    expect(runtime.command('closeValve')).toEqual({ ok: true });
  });

  it('closes the valve when a listener throws', async () => {
    const { board, runtime } = await setup();
    runtime.on('valve', () => {
      throw new Error('listener bug');
    });
    runtime.program({ type: 'fill', targetL: 2 });
    expect(board.valve).toBe(false);
  });

  it('trips iC0 on the board watchdog report and re-arms when the link returns', async () => {
    const { board, runtime } = await setup();
    board.report({ type: 'linkLost' });
    expect(runtime.status()).toMatchObject({ breaker: 'tripped', fault: 'iC0' });
    board.report({ type: 'linkRestored' });
    expect(runtime.status()).toMatchObject({ breaker: 'armed', fault: null });
  });

  it('turns a lost level signal into i41 and a stuck-open valve into iB0', async () => {
    const a = await setup();
    a.board.inputs.tubLevelL = null;
    a.clock.advance(2_700);
    expect(a.runtime.status().fault).toBe('i41');
    const b = await setup();
    for (let t = 0; t < 2_500; t += 100) {
      b.board.inputs.flowPulses += 2;
      b.clock.advance(100);
    }
    expect(b.runtime.status().fault).toBe('iB0');
  });

  it('treats a slow trickle (a pulse every few ticks) as continuous flow', async () => {
    const { clock, board, runtime } = await setup();
    for (let t = 0; t < 3_000; t += 100) {
      if (t % 400 === 0) board.inputs.flowPulses += 1;
      clock.advance(100);
    }
    expect(runtime.status().fault).toBe('iB0');
  });

  it('catches a level signal stuck while water is metered in (iE0), and closes the valve', async () => {
    const { clock, board, runtime } = await setup();
    board.inputs.tubLevelL = 0.5; // stuck: the sensor never moves again
    clock.advance(100);
    runtime.program({ type: 'fill', targetL: 3 });
    expect(board.valve).toBe(true);
    // 4 L/min through a 450 pulses/L meter: 30 pulses per 100 ms tick.
    for (let t = 0; t < 30_000 && board.valve; t += 100) {
      board.inputs.flowPulses += 30;
      clock.advance(100);
    }
    expect(runtime.status()).toMatchObject({ fault: 'iE0', breaker: 'latched', valve: 'closed' });
    expect(board.valve).toBe(false);
    expect(board.inputs.flowPulses / 450).toBeLessThan(2); // caught after about 1.5 L, not a tubful
  });

  it('flags a jumping level as implausible (i42)', async () => {
    const { clock, board, runtime } = await setup();
    for (let t = 0; t < 6_000; t += 100) {
      board.inputs.tubLevelL = (t / 100) % 2 === 0 ? 0.2 : 3.5;
      clock.advance(100);
    }
    expect(runtime.status().fault).toBe('i42');
  });

  it('delivers start-up events (a latch restored at boot) to listeners attached right after start', async () => {
    const store = new MemoryStore();
    store.save({ version: 1, boot: 3, latch: { code: 'i30', breaker: 'latched' }, faultMemory: [] });
    const clock = new VirtualClock();
    const runtime = await startRuntime({ deviceId: 'dw1', board: new ScriptedBoard(), clock, store });
    const events: RuntimeEvent[] = [];
    runtime.onAny((e) => events.push(e));
    clock.advance(0);
    expect(events.find((e) => e.type === 'fault')).toMatchObject({ fault: { event: 'raised', code: 'i30', id: '4-1' } });
  });

  it('shares the default configuration between its appliances frozen to the leaves: a write to the timings throws instead of changing every appliance', async () => {
    const runtime = await startRuntime({ deviceId: 'dw1', board: new ScriptedBoard(), clock: new VirtualClock(), store: new MemoryStore() });
    expect(() => {
      (DEFAULT_CONFIG.leak as { dryMs: number }).dryMs = 1;
    }).toThrow(TypeError);
    expect(() => {
      (DEFAULT_CONFIG as { tickMs?: number }).tickMs = 1;
    }).toThrow(TypeError);
    expect(DEFAULT_CONFIG.leak.dryMs).toBeGreaterThan(1);
    await runtime.stop();
  });

  it('stops cleanly: valve closed, pump off, board closed', async () => {
    const { board, runtime } = await setup();
    runtime.program({ type: 'fill', targetL: 2 });
    await runtime.stop();
    expect(board.valve).toBe(false);
    expect(board.closed).toBe(true);
    expect(runtime.command('reset')).toMatchObject({ ok: false });
  });
});
