/**
 * The firmware's own safety, checked at pin level: our .hex runs in a bare emulated Uno
 * (firmware-avr-harness.ts) with no johnny-five in between. Time is emulated cycles, so the
 * 10 s debounce and the 2 s link timeout cost no real waiting.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { pins } from '../../hardware/pins.js';
import { hasTools } from '../helpers/tools.js';
import { CYCLES_PER_MS, EmulatedUno, HZ, mulberry32, PUMP, VALVE } from './firmware-avr-harness.js';
import { firmwareUnderTest } from './firmware-under-test.js';

describe.skipIf(!hasTools('avr-gcc', 'avr-g++', 'avr-objcopy', 'avr-ar'))('firmware in avr8js (pin level)', () => {
  let program: Uint16Array;
  beforeAll(async () => {
    ({ program } = await firmwareUnderTest());
  });

  /**
   * Booted, armed, valve requested open, keepalives flowing. These long runs model SLEEP (ten
   * times cheaper); the tests on fresh boards below leave it a no-op, so both ways are covered.
   */
  function openedBoard(): EmulatedUno {
    const uno = new EmulatedUno(program, { modelSleep: true }).start();
    uno.arm();
    uno.send(0xf4, VALVE, 0x01);
    uno.requestValve(true);
    uno.run(20);
    expect(uno.valveOpen).toBe(true);
    return uno;
  }

  it('announces itself as Firmata 2.5 and answers the johnny-five handshake and the safety version', () => {
    const uno = new EmulatedUno(program).start(); // a fresh (erased) EEPROM gets its record first
    expect(uno.fromBoard.slice(0, 3)).toEqual([0xf9, 2, 5]);
    const fw = uno.frames.find((f) => f[0] === 0x79)!;
    const name = String.fromCharCode(...fw.slice(3).filter((_, i) => i % 2 === 0));
    expect(name).toBe('AquastopFirmata');
    uno.send(0xf0, 0x6b, 0xf7);
    const caps = uno.expectFrame((f) => f[0] === 0x6c);
    expect(caps.filter((b) => b === 0x7f)).toHaveLength(20);
    uno.send(0xf0, 0x69, 0xf7);
    const mapping = uno.expectFrame((f) => f[0] === 0x6a);
    expect(mapping.slice(1)).toEqual([...Array<number>(14).fill(0x7f), 0, 1, 2, 3, 4, 5]);
    uno.send(0xf0, 0x06, 0xf7);
    expect(uno.expectFrame((f) => f[0] === 0x06).slice(1)).toEqual([1, 1, 100, 0, 20, 0, 25]);
  });

  it('keeps the valve closed until the host arms the board, then follows the host', () => {
    const uno = new EmulatedUno(program).start();
    uno.requestValve(true);
    uno.run(50);
    expect(uno.valveOpen).toBe(false);
    expect(uno.lastStatus.valveRequested).toBe(true);
    uno.arm();
    uno.requestValve(true);
    uno.send(0xf5, PUMP, 1);
    uno.run(20);
    expect(uno.valveOpen).toBe(true);
    expect(uno.pumpOn).toBe(true);
    uno.requestValve(false);
    uno.run(5);
    expect(uno.valveOpen).toBe(false);
  });

  it('closes the valve within 2 s of host silence, reports link lost, and stays closed until re-armed', () => {
    const uno = openedBoard();
    uno.keepalive();
    uno.run(1); // 3 bytes on the wire (0.52 ms) and parsed: the last keepalive
    const silentFrom = uno.cycles;
    uno.run(2100);
    const closed = uno.valveEdges.find((e) => !e.high && e.cycle > silentFrom)!;
    const afterMs = (closed.cycle - silentFrom) / CYCLES_PER_MS;
    console.log(JSON.stringify({ lastKeepaliveToValveClosedMs: Math.round(afterMs * 10) / 10 }));
    expect(afterMs).toBeGreaterThan(1900);
    expect(afterMs).toBeLessThanOrEqual(2050);
    uno.run(260);
    expect(uno.lastStatus.linkLost).toBe(true);
    uno.requestValve(true);
    uno.run(50);
    expect(uno.valveOpen).toBe(false);
    uno.arm();
    uno.run(20);
    expect(uno.lastStatus.linkLost).toBe(false);
    expect(uno.valveOpen).toBe(false); // the old request was dropped with the link
  });

  it('trips on a float wet for 10 s while the host keeps asking for water, and the latch survives a power cycle and a watchdog reset', () => {
    const uno = openedBoard();
    const keepAsking = { ms: 500, action: () => (uno.keepalive(), uno.requestValve(true)) };
    uno.setFloat('wet');
    const wetAt = uno.cycles;
    uno.run(9_900, keepAsking);
    expect(uno.valveOpen).toBe(true); // still inside the debounce
    uno.run(300, keepAsking);
    expect(uno.valveOpen).toBe(false);
    const closed = uno.valveEdges.find((e) => !e.high && e.cycle > wetAt)!;
    const latencyUs = ((closed.cycle - wetAt) / HZ) * 1e6;
    console.log(JSON.stringify({ floatToValveUs: Math.round(latencyUs), debounceMs: pins.safety.wetDebounceMs }));
    expect(latencyUs).toBeLessThan((pins.safety.wetDebounceMs + 50) * 1000);
    uno.run(300, keepAsking);
    expect(uno.valveOpen).toBe(false);
    expect(uno.pumpOn).toBe(true);
    expect(uno.lastStatus).toMatchObject({ latched: true, reason: 1, float: 1 });
    // The record PROTOCOL.md describes, and it survives a power cycle (a new chip, same EEPROM).
    expect([...uno.eeprom.memory.subarray(0x10, 0x14)]).toEqual([0xa7, 0x01, 0x01, 0xa7 ^ 0x01 ^ 0x01 ^ 0x5a]);
    const powerCycled = new EmulatedUno(program);
    powerCycled.eeprom.memory.set(uno.eeprom.memory);
    powerCycled.start(0x01);
    expect(powerCycled.lastStatus).toMatchObject({ latched: true, reason: 1, resetCause: 0x01 });

    uno.send(0xf0, 0x0f, 0x48, 0x47, 0xf7); // TEST_HANG: stop feeding the watchdog
    uno.run(700);
    expect(uno.resetsSinceStart).toBe(1);
    expect(uno.lastStatus).toMatchObject({ latched: true, reason: 1, resetCause: 0x08 });
    uno.run(2000); // no watchdog loop after the reset
    expect(uno.resetsSinceStart).toBe(1);
    uno.arm();
    uno.send(0xf4, VALVE, 1);
    uno.requestValve(true);
    uno.run(50, keepAsking);
    expect(uno.valveOpen).toBe(false);

    uno.send(0xf0, 0x03, 0x4c, 0x43, 0xf7);
    expect(uno.expectFrame((f) => f[0] === 0x05)).toEqual([0x05, 0x03, 0x01]); // refused: wet
    uno.setFloat('dry');
    uno.run(20, keepAsking);
    uno.send(0xf0, 0x03, 0x4c, 0x43, 0xf7);
    expect(uno.expectFrame((f) => f[0] === 0x05)).toEqual([0x05, 0x03, 0x00]);
    uno.run(20);
    expect(uno.valveOpen).toBe(false); // clearing drops the requests made while latched
    uno.requestValve(true);
    uno.run(20);
    expect(uno.valveOpen).toBe(true);
  }, 60_000);

  it('drops the valve request on SYSTEM_RESET but keeps the board armed', () => {
    const uno = openedBoard();
    uno.send(0xff);
    uno.run(20);
    expect(uno.valveOpen).toBe(false);
    uno.send(0xf0, 0x04, 0xf7); // ask, rather than count on the next report's timing
    uno.expectFrame((f) => f[0] === 0x04);
    expect(uno.lastStatus).toMatchObject({ armed: true, valveRequested: false, latched: false });
  });

  describe('with a 1 s debounce (a variant built from the same sources)', () => {
    let shortProgram: Uint16Array;
    beforeAll(async () => {
      ({ program: shortProgram } = await firmwareUnderTest({
        name: 'short-debounce',
        pins: { ...pins, safety: { ...pins.safety, wetDebounceMs: 1000 } },
      }));
    });

    it('does not trip when a single dry sample breaks the wet time', () => {
      const uno = new EmulatedUno(shortProgram).start();
      uno.arm();
      uno.send(0xf4, VALVE, 1);
      uno.requestValve(true);
      const keepalive = { ms: 300, action: () => uno.keepalive() };
      uno.setFloat('wet');
      uno.run(900, keepalive);
      uno.setFloat('dry');
      uno.run(15, keepalive); // one 10 ms sample
      uno.setFloat('wet');
      uno.run(900, keepalive);
      expect(uno.valveOpen).toBe(true);
      expect(uno.lastStatus.latched).toBe(false);
      uno.run(200, keepalive);
      expect(uno.valveOpen).toBe(false);
      expect(uno.lastStatus.latched).toBe(true);
    });

    it('still trips on time while the line is flooded with random bytes or capability queries', () => {
      for (const flood of ['random', 'capability'] as const) {
        const uno = new EmulatedUno(shortProgram).start();
        const random = mulberry32(11);
        const feed = () => {
          for (let i = 0; i < 60; i++) {
            if (flood === 'random') uno.send(Math.floor(random() * 256));
            else if (i % 3 === 0) uno.send(0xf0, 0x6b, 0xf7); // each asks for a ~130-byte reply
          }
        };
        uno.setFloat('wet');
        const wetAt = uno.cycles;
        uno.run(1200, { ms: 10, action: feed });
        const latchedAt = uno.statuses.find((st) => st.latched)?.atCycle;
        expect(latchedAt, `${flood}: latched`).toBeDefined();
        expect((latchedAt! - wetAt) / CYCLES_PER_MS, `${flood}: ms to latch`).toBeLessThan(1000 + 150);
        expect(uno.resetsSinceStart, `${flood}: watchdog resets`).toBe(0);
        expect(uno.lastStatus.pump, `${flood}: pump forced on`).toBe(true);
      }
    });

    it('ignores every host command that would open a latched valve', () => {
      const uno = new EmulatedUno(shortProgram).start();
      uno.arm();
      uno.setFloat('wet');
      uno.run(1100, { ms: 300, action: () => uno.keepalive() });
      expect(uno.lastStatus.latched).toBe(true);
      const edgesBefore = uno.valveEdges.length;
      uno.send(0xf4, VALVE, 0x00, 0xf4, VALVE, 0x01); // pin mode games
      uno.send(0xf5, VALVE, 1); // SET_DIGITAL_PIN_VALUE
      uno.send(0x90, 0x00, 0x01); // DIGITAL_MESSAGE port 0, bit 7 (in the MSB byte)
      uno.send(0xff, 0xf4, VALVE, 1, 0xf5, VALVE, 1); // SYSTEM_RESET, then ask again
      uno.arm();
      uno.send(0xf5, VALVE, 1);
      uno.send(0xf0, 0x03, 0x4c, 0x43, 0xf7); // CLEAR_LATCH while wet: refused
      uno.run(300, { ms: 100, action: () => (uno.keepalive(), uno.send(0xf5, VALVE, 1)) });
      expect(uno.valveEdges.slice(edgesBefore).some((e) => e.high)).toBe(false);
      expect(uno.lastStatus).toMatchObject({ latched: true, pump: true });
    });
  });

  it('closes the valve at once on a broken float wire and reports it as open', () => {
    const uno = openedBoard();
    uno.setFloat('open');
    uno.run(200, { ms: 100, action: () => uno.keepalive() });
    expect(uno.valveOpen).toBe(false);
    expect(uno.lastStatus).toMatchObject({ float: 2, latched: false });
  });

  it('counts flow-meter pulses in the interrupt', () => {
    const uno = new EmulatedUno(program).start();
    for (let i = 0; i < 37; i++) {
      uno.machine.portD.setPin(2, false);
      uno.run(1);
      uno.machine.portD.setPin(2, true);
      uno.run(1);
    }
    uno.send(0xf0, 0x04, 0xf7);
    uno.expectFrame((f) => f[0] === 0x04);
    expect(uno.lastStatus.pulses).toBe(37);
  });

  it('survives garbage on the line and never opens a latched valve', () => {
    const uno = new EmulatedUno(program);
    // A latched record (trip reason wet) as the firmware writes it: A7 01 01 check.
    uno.eeprom.memory.set([0xa7, 0x01, 0x01, 0xa7 ^ 0x01 ^ 0x01 ^ 0x5a], 0x10);
    uno.start();
    uno.arm();
    const random = mulberry32(4);
    for (let i = 0; i < 3000; i++) uno.send(Math.floor(random() * 256));
    uno.send(0xf0, 0x02); // truncated sysex...
    uno.send(0xf5, VALVE, 1); // ...then a valve request
    uno.send(0xf0, 0x04, ...Array<number>(300).fill(0x11), 0xf7); // oversized sysex
    uno.send(0xf0, 0x03, 0x00, 0x00, 0xf7); // CLEAR_LATCH with a wrong key
    uno.run(1000, { ms: 200, action: () => (uno.keepalive(), uno.requestValve(true)) });
    expect(uno.valveEdges.some((e) => e.high)).toBe(false);
    expect(uno.resetsSinceStart).toBe(0);
    // The parser still works.
    uno.send(0xf9);
    const before = uno.fromBoard.length;
    uno.run(20);
    expect(uno.fromBoard.slice(before).join(',')).toContain('249,2,5');
    uno.send(0xf0, 0x04, 0xf7);
    uno.expectFrame((f) => f[0] === 0x04);
    expect(uno.lastStatus.latched).toBe(true);
  }, 60_000);
});
