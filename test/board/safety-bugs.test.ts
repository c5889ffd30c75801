/**
 * The safety bugs found by attacking the controller, each checked on what the BOARD is told
 * (valve commands, latch clears), not on what the machine believes. Runtime + a recording
 * board on the virtual clock; the flood is reproduced with the simulator's water physics.
 */
import { describe, expect, it } from 'vitest';
import { startRuntime } from '../../src/board/runtime.js';
import type { RuntimeEvent } from '../../src/board/runtime-types.js';
import { emptyMemory, MemoryStore, type PersistedMemory, type Store } from '../../src/board/store.js';
import { DEFAULT_CONFIG } from '../../src/machine/config.js';
import { Simulation } from '../../sim/engine.js';
import { Rng } from '../../sim/rng.js';
import { parseScenario } from '../../sim/scenario.js';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { ScriptedBoard } from '../helpers/scripted-board.js';

/** Records every valve command with its time, and every latch clear. */
class RecordingBoard extends ScriptedBoard {
  opens: number[] = [];
  latchClears = 0;
  constructor(private readonly clock: VirtualClock) {
    super();
  }
  override setValve(open: boolean): void {
    if (open && !this.valve) this.opens.push(this.clock.now());
    super.setValve(open);
  }
  resetLatch(): void {
    this.latchClears++;
  }
}

async function rig(store: Store = new MemoryStore()) {
  const clock = new VirtualClock();
  const board = new RecordingBoard(clock);
  const runtime = await startRuntime({ deviceId: 'dw1', board, clock, store });
  const events: RuntimeEvent[] = [];
  runtime.onAny((e) => events.push(e));
  clock.advance(0);
  const faults = () => events.flatMap((e) => (e.type === 'fault' ? [`${e.fault.event} ${e.fault.code}`] : []));
  return { clock, board, runtime, events, faults };
}

const S = 1000;
const MIN = 60 * S;

describe('a remote exercise cannot flood the appliance (it is a supervised proof test)', () => {
  it('opens the valve once for 61 requests over an idle tub, and the pan stays dry', async () => {
    const scenario = parseScenario(
      {
        name: 'exercise-flood',
        description: 'exercise pressed again and again on an idle appliance',
        duration: '35m',
        program: { start: false },
        timeline: Array.from({ length: 61 }, (_, i) => ({ at: `${90 + i * 30}s`, press: 'exercise' })),
      },
      'test',
    );
    const sim = new Simulation({ scenario });
    await sim.start();
    await sim.runFor(35 * MIN);
    const opens = sim.log.filter((e) => e.type === 'valve' && e.state === 'open');
    const accepted = sim.log.filter((e) => e.type === 'command' && e.command === 'exercise' && e.ok === true);
    expect(accepted).toHaveLength(1);
    expect(opens).toHaveLength(1);
    expect(sim.log.filter((e) => e.type === 'fault')).toEqual([]);
    expect(sim.plant.signals().float).toBe('dry');
    expect(sim.log.filter((e) => e.type === 'exercise')).toMatchObject([{ result: 'passed' }]);
    const closeAt = sim.log.find((e) => e.type === 'valve' && e.state === 'closed' && e.t > opens[0]!.t)!.t;
    expect(closeAt - opens[0]!.t).toBeLessThanOrEqual(DEFAULT_CONFIG.exercise.durationMs);
    await sim.stop();
  });

  it('is refused while the float is debouncing, and the board is never told to open', async () => {
    const { clock, board, runtime } = await rig();
    clock.advance(61 * S); // the pan has been dry long enough
    board.inputs.float = 'wet';
    clock.advance(100);
    const result = runtime.command('exercise');
    expect(result.ok).toBe(false);
    clock.advance(5 * S);
    expect(board.opens).toEqual([]);
  });
});

describe('no breaker decision opens the valve while the board link is lost', () => {
  it('waits out a cool-down that ends during a link loss, then probes once the link is back', async () => {
    const { clock, board, runtime, faults } = await rig();
    clock.advance(61 * S);
    runtime.program({ type: 'fill', targetL: 2 }); // the tap is closed: the level never rises
    expect(board.opens).toHaveLength(1);
    clock.advance(DEFAULT_CONFIG.fill.staticTimeoutMs);
    expect(runtime.status()).toMatchObject({ breaker: 'tripped', fault: 'i10' });
    board.report({ type: 'linkLost' });
    clock.advance(DEFAULT_CONFIG.breaker.coolDownMs + 10 * MIN);
    expect(board.opens).toHaveLength(1); // no probe the board would never see
    expect(runtime.status()).toMatchObject({ breaker: 'tripped', fault: 'i10' });
    expect(faults()).toEqual(['raised i10', 'raised iC0']);
    expect(runtime.command('resume')).toMatchObject({ ok: false, error: expect.stringMatching(/link/) });

    board.report({ type: 'linkRestored' });
    clock.advance(100);
    expect(runtime.status()).toMatchObject({ breaker: 'probing', fault: 'i10' });
    expect(board.opens).toHaveLength(2); // the probe runs as usual
    expect(faults()).toEqual(['raised i10', 'raised iC0', 'cleared iC0']);
  });

  it('a link lost during a probe fill stops it without latching, and the probe runs again when it returns', async () => {
    const { clock, board, runtime } = await rig();
    clock.advance(61 * S);
    runtime.program({ type: 'fill', targetL: 2 });
    clock.advance(DEFAULT_CONFIG.fill.staticTimeoutMs + DEFAULT_CONFIG.breaker.coolDownMs);
    expect(runtime.status().state).toBe('probing.probeFill');
    expect(board.valve).toBe(true);
    board.report({ type: 'linkLost' });
    expect(board.valve).toBe(false);
    clock.advance(DEFAULT_CONFIG.fill.staticTimeoutMs * 2);
    expect(runtime.status()).toMatchObject({ breaker: 'tripped', fault: 'i10' });
    expect(board.valve).toBe(false);
    board.report({ type: 'linkRestored' });
    clock.advance(100);
    expect(runtime.status().state).toBe('probing.probeFill');
    expect(board.valve).toBe(true);
  });
});

describe('a noisy level signal ends in i42, not a chattering valve', () => {
  it('opens the valve at most valve.maxOpens times a minute and raises i42', async () => {
    const { clock, board, runtime, faults } = await rig();
    clock.advance(61 * S);
    runtime.program({ type: 'fill', targetL: 3 });
    const random = new Rng(7);
    const rng = () => random.next();
    // Noise near the limit: most samples plausible, every few a jump over sensors.levelMaxJumpL.
    for (let t = 0; t < 75 * S; t += 100) {
      board.inputs.tubLevelL = 1 + (rng() < 0.3 ? (rng() < 0.5 ? -1 : 1) * 1.6 * rng() + 0.8 : 0.05 * rng());
      clock.advance(100);
    }
    for (const at of board.opens) {
      expect(board.opens.filter((t) => t >= at && t < at + DEFAULT_CONFIG.valve.windowMs).length).toBeLessThanOrEqual(DEFAULT_CONFIG.valve.maxOpens);
    }
    expect(faults()).toContain('raised i42');
    expect(runtime.status()).toMatchObject({ breaker: 'latched', valve: 'closed' });
    expect(board.valve).toBe(false);
  });

  it('never pulses the valve open when the float dries in the same sample as the level turns implausible', async () => {
    const { clock, board, runtime } = await rig();
    clock.advance(61 * S);
    board.inputs.float = 'wet';
    clock.advance(100);
    runtime.program({ type: 'fill', targetL: 3 });
    expect(board.opens).toEqual([]);
    board.inputs.float = 'dry';
    board.inputs.tubLevelL = 5; // a jump: implausible
    clock.advance(100);
    expect(board.opens).toEqual([]);
  });

  it('calls NaN and ±Infinity implausible: the valve closes and i42 follows', async () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const { clock, board, runtime, faults } = await rig();
      clock.advance(61 * S);
      runtime.program({ type: 'fill', targetL: 3 });
      expect(board.valve).toBe(true);
      board.inputs.tubLevelL = bad;
      clock.advance(100);
      expect(board.valve, String(bad)).toBe(false);
      clock.advance(DEFAULT_CONFIG.sensors.levelImplausibleMs);
      expect(faults(), String(bad)).toEqual(['raised i42']);
    }
  });
});

describe("the board's own latch", () => {
  it('is cleared by an accepted reset only, never by a refused one', async () => {
    const { clock, board, runtime } = await rig();
    board.inputs.float = 'wet';
    clock.advance(DEFAULT_CONFIG.leak.wetDebounceMs + 100);
    expect(runtime.status()).toMatchObject({ breaker: 'latched', fault: 'i30' });
    expect(runtime.command('reset').ok).toBe(false); // wet
    board.inputs.float = 'dry';
    clock.advance(100);
    expect(runtime.command('reset').ok).toBe(false); // not dry long enough
    expect(board.latchClears).toBe(0);
    clock.advance(DEFAULT_CONFIG.leak.dryMs);
    expect(runtime.command('reset').ok).toBe(true);
    expect(board.latchClears).toBe(1);
    expect(runtime.command('reset').ok).toBe(false); // nothing to reset
    expect(board.latchClears).toBe(1);
  });

  it('is not cleared by a reset after the runtime failed safe', async () => {
    const { clock, board, runtime } = await rig();
    board.inputs.float = 'wet';
    clock.advance(DEFAULT_CONFIG.leak.wetDebounceMs + 100);
    board.inputs.float = 'dry';
    clock.advance(DEFAULT_CONFIG.leak.dryMs + 200);
    board.failReads = new Error('bus fault');
    clock.advance(100);
    expect(runtime.command('reset')).toMatchObject({ ok: false });
    expect(board.latchClears).toBe(0);
  });
});

describe('no invented states', () => {
  it('an impossible state (a latch without a code) fails safe with a reason, and invents no fault', async () => {
    const corrupt: Store = {
      load: () => ({ ...emptyMemory(), latch: { breaker: 'latched' } }) as unknown as PersistedMemory,
      save: () => undefined,
    };
    const { board, runtime, events } = await rig(corrupt);
    runtime.program({ type: 'fill', targetL: 2 });
    expect(board.opens).toEqual([]);
    expect(events.filter((e) => e.type === 'fault')).toEqual([]);
    expect(events.find((e) => e.type === 'error')).toMatchObject({ message: expect.stringMatching(/impossible controller state/) });
    expect(runtime.status().valve).toBe('closed');
  });
});
