/**
 * The controller runtime on the emulated Arduino: the runtime's ticks, keepalives and valve
 * commands go through johnny-five to our firmware, and the firmware's pins move the plant.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startRuntime } from '../../src/board/runtime.js';
import type { Runtime, RuntimeEvent } from '../../src/board/runtime-types.js';
import { MemoryStore } from '../../src/board/store.js';
import { startEmulatedRig, type EmulatedRig } from '../../hardware/boards/emulated-board.js';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { hasTools } from '../helpers/tools.js';
import { PlantDouble } from './plant-double.js';
import { tempEepromPath } from './rig.js';

const T = 60_000;

describe.skipIf(!hasTools('avr-gcc', 'avr-g++', 'avr-objcopy'))('controller runtime on the emulated board', () => {
  let rig: EmulatedRig | null = null;
  let runtime: Runtime | null = null;
  afterEach(async () => {
    if (runtime) await runtime.stop().catch(() => undefined);
    await rig?.board.close();
    rig = null;
    runtime = null;
  });

  async function start() {
    const clock = new VirtualClock();
    const plant = new PlantDouble();
    rig = await startEmulatedRig({ plant, clock, eepromPath: tempEepromPath() });
    runtime = await startRuntime({ deviceId: 'emu-1', board: rig.board, clock, store: new MemoryStore() });
    const events: RuntimeEvent[] = [];
    runtime.onAny((e) => events.push(e));
    const advance = async (ms: number) => {
      for (let t = 0; t < ms; t += 100) {
        clock.advance(100);
        await new Promise<void>((r) => setImmediate(r));
      }
    };
    return { clock, plant, events, advance, runtime, rig };
  }

  it(
    'opens the real valve pin for a fill and closes it when the runtime dies (firmware link watchdog)',
    async () => {
      const s = await start();
      s.runtime.program({ type: 'fill', targetL: 8 });
      await s.advance(500);
      expect(s.plant.valve).toBe(true);
      expect(s.runtime.status().valve).toBe('open');
      s.runtime.halt();
      runtime = null;
      const haltedAt = s.clock.now();
      while (s.plant.valve) {
        if (s.clock.now() - haltedAt > 4_000) throw new Error('the valve stayed open 4 s after the controller died');
        await s.advance(100);
      }
      // Firmware link timeout (2 s) plus at most the driver's 500 ms guard window and one tick.
      expect(s.clock.now() - haltedAt).toBeLessThanOrEqual(2_000 + 500 + 100);
      expect(s.rig.driver.lastStatus?.linkLost).toBe(true);
    },
    T,
  );

  it(
    "raises iC0 when the host's bytes stop reaching the board, and clears it only once the driver re-arms the board",
    async () => {
      const s = await start();
      s.runtime.program({ type: 'fill', targetL: 8 });
      await s.advance(500);
      expect(s.plant.valve).toBe(true);
      s.rig.cutHostToBoard(true); // the controller lives on; its keepalives are lost on the wire
      const cutAt = s.clock.now();
      while (s.plant.valve) {
        if (s.clock.now() - cutAt > 3_000) throw new Error('the valve stayed open 3 s after the wire was cut');
        await s.advance(100);
      }
      expect(s.clock.now() - cutAt).toBeLessThanOrEqual(2_000 + 100);
      await s.advance(1_000);
      const raised = (code: string) => s.events.some((e) => e.type === 'fault' && e.fault.code === code && e.fault.event === 'raised');
      expect(raised('iC0')).toBe(true);
      expect(s.runtime.status().fault).toBe('iC0');
      // Still cut: nothing re-opens the valve, however long the controller waits.
      await s.advance(5_000);
      expect(s.plant.valve).toBe(false);
      expect(s.rig.driver.lastStatus).toMatchObject({ linkLost: true, armed: false });
      s.rig.cutHostToBoard(false);
      await s.advance(1_000);
      expect(s.events.some((e) => e.type === 'board' && e.report.type === 'linkRestored')).toBe(true);
      expect(s.events.some((e) => e.type === 'fault' && e.fault.code === 'iC0' && e.fault.event === 'cleared')).toBe(true);
      expect(s.rig.driver.lastStatus).toMatchObject({ linkLost: false, armed: true });
    },
    T,
  );

  it(
    'a wet float trips both the controller (i30) and the firmware latch, and the pump drains the pan',
    async () => {
      const s = await start();
      s.runtime.program({ type: 'fill', targetL: 8 });
      await s.advance(500);
      expect(s.plant.valve).toBe(true);
      s.plant.float = 'wet';
      await s.advance(11_000);
      expect(s.plant.valve).toBe(false);
      expect(s.plant.pump).toBe(true);
      expect(s.events.some((e) => e.type === 'fault' && e.fault.code === 'i30' && e.fault.event === 'raised')).toBe(true);
      expect(s.events.some((e) => e.type === 'board' && e.report.type === 'localTrip')).toBe(true);
      expect(s.rig.driver.lastStatus).toMatchObject({ latched: true, valveOutput: false });
    },
    T,
  );

  it(
    "a person's accepted reset clears the firmware latch too, so the valve really opens again",
    async () => {
      const s = await start();
      s.runtime.program({ type: 'fill', targetL: 8 });
      await s.advance(500);
      s.plant.float = 'wet';
      await s.advance(11_000);
      expect(s.rig.driver.lastStatus?.latched).toBe(true);
      s.plant.float = 'dry';
      let accepted = false;
      for (let waited = 0; !accepted; waited += 5_000) {
        if (waited > 180_000) throw new Error('the controller never accepted a reset after the pan dried');
        await s.advance(5_000);
        accepted = s.runtime.command('reset').ok;
      }
      s.runtime.program({ type: 'fill', targetL: 8 });
      await s.advance(1_000);
      expect(s.runtime.status().valve).toBe('open');
      expect(s.rig.driver.lastStatus).toMatchObject({ latched: false, valveOutput: true });
      expect(s.plant.valve).toBe(true);
    },
    T,
  );
});
