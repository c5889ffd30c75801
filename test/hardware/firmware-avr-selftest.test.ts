/**
 * The firmware's class B self-tests (PROTOCOL.md section 3, "Self-tests"), each shown by breaking
 * the thing it checks in the emulated chip: a flipped flash byte, a stuck RAM bit, a watchdog that
 * cannot reset, a trampled stack canary, a wrong ADC reference, a watchdog oscillator that
 * disagrees with the tick. Each failure must close the valve, latch with its own reason (in
 * EEPROM), tell the host, and refuse CLEAR_LATCH; a healthy chip must pass them all.
 */
import { execFileSync } from 'node:child_process';
import { ADCMuxInputType } from 'avr8js';
import { beforeAll, describe, expect, it } from 'vitest';
import { pins } from '../../hardware/pins.js';
import { hasTools } from '../helpers/tools.js';
import { EmulatedUno, latchRecord, VALVE, type Machine } from './firmware-avr-harness.js';
import { firmwareUnderTest, type FirmwareUnderTest } from './firmware-under-test.js';

/** STATUS trip reason = 3 + the self-test's number (safety.h / selftest.h). */
const REASON = { flash: 4, ram: 5, watchdog: 6, stack: 7, adc: 8, clock: 9 } as const;
const RESULT_SELFTEST = 4;

describe.skipIf(!hasTools('avr-gcc', 'avr-g++', 'avr-objcopy', 'avr-ar', 'avr-nm'))('firmware self-tests (pin level)', () => {
  let fw: FirmwareUnderTest;
  let heapStart: number;
  beforeAll(async () => {
    fw = await firmwareUnderTest();
    const symbols = execFileSync('avr-nm', [fw.elfPath], { encoding: 'utf8' });
    const line = symbols.split('\n').find((l) => / __heap_start$/.test(l));
    if (!line) throw new Error('no __heap_start in the firmware ELF');
    heapStart = parseInt(line.split(' ')[0]!, 16) & 0xffff;
  });

  function board(program = fw.program, onMachine?: (m: Machine) => void): EmulatedUno {
    const uno = new EmulatedUno(program, { modelSleep: true });
    uno.onMachine = onMachine ?? null;
    return uno;
  }

  /** Armed, valve asked for, keepalives flowing for `ms`: then what the board says. */
  function askForWater(uno: EmulatedUno, ms: number): void {
    uno.arm();
    uno.send(0xf4, VALVE, 1);
    uno.requestValve(true);
    uno.run(ms, { ms: 200, action: () => (uno.keepalive(), uno.requestValve(true)) });
  }

  function expectSelfTestTrip(uno: EmulatedUno, test: keyof typeof REASON): void {
    expect(uno.lastStatus, test).toMatchObject({ latched: true, reason: REASON[test], valve: false });
    expect(uno.valveOpen, test).toBe(false);
    expect(uno.latchRecord, test).toEqual(latchRecord(1, REASON[test]));
    expect(uno.notes, test).toContain(`self-test failed: ${test}`);
    uno.clearLatch(); // service only: the host cannot clear it
    expect(uno.expectFrame((f) => f[0] === 0x05 && f[1] === 0x03)[2], test).toBe(RESULT_SELFTEST);
    uno.run(20);
    expect(uno.latchRecord, test).toEqual(latchRecord(1, REASON[test]));
    // A healthy chip with this EEPROM still comes up latched for the same test: service only.
    const next = board();
    next.eeprom.memory.set(uno.eeprom.memory);
    next.start();
    expect(next.lastStatus, `${test} after a power cycle`).toMatchObject({ latched: true, reason: REASON[test] });
  }

  it('passes every self-test on a healthy chip, with one deliberate watchdog reset at power-on', () => {
    const uno = board().start();
    expect(uno.resets).toBe(1); // the watchdog check
    expect(uno.lastStatus).toMatchObject({ latched: false, reason: 0, resetCause: 0x01 }); // the cause before the check
    askForWater(uno, 3000); // long enough for every periodic check to run a few times
    expect(uno.valveOpen).toBe(true);
    expect(uno.lastStatus.latched).toBe(false);
    expect(uno.notes.filter((n) => n.startsWith('self-test'))).toEqual([]);
    expect(uno.resetsSinceStart).toBe(0);
  });

  it('flash: a flipped bit anywhere in the image (or in the stored CRC) fails the boot CRC', () => {
    const name = Array.from('AquastopFirmata', (c) => c.charCodeAt(0));
    const at = fw.image.findIndex((_, i) => name.every((b, k) => fw.image[i + k] === b));
    expect(at).toBeGreaterThan(0);
    for (const [what, address] of [
      ['a data byte', at + 1],
      ['the stored CRC', fw.image.length],
    ] as const) {
      const program = fw.program.slice();
      const bytes = new Uint8Array(program.buffer);
      bytes[address] = bytes[address]! ^ 0x04;
      const uno = board(program).start();
      askForWater(uno, 300);
      expect(uno.lastStatus.reason, what).toBe(REASON.flash);
      expectSelfTestTrip(uno, 'flash');
    }
  });

  it('ram: a stuck-at-1 bit in an unused SRAM cell fails the march test', () => {
    const cell = 0x700; // above everything the firmware uses, below its stack
    const uno = board(fw.program, (m) => {
      m.cpu.writeHooks[cell] = (value) => {
        m.cpu.data[cell] = value | 0x10;
        return true;
      };
    }).start();
    askForWater(uno, 300);
    expectSelfTestTrip(uno, 'ram');
  });

  it('watchdog: a watchdog that cannot reset the chip fails the power-on check', () => {
    const uno = board(fw.program, (m) => {
      m.cpu.reset = () => {}; // the timeout fires, nothing resets
    }).start();
    expect(uno.resets).toBe(0);
    askForWater(uno, 300);
    expectSelfTestTrip(uno, 'watchdog');
  });

  it('stack: a trampled canary above the static data fails within 100 ms', () => {
    const uno = board().start();
    askForWater(uno, 300);
    expect(uno.valveOpen).toBe(true);
    uno.machine.cpu.data[heapStart + 3] = uno.machine.cpu.data[heapStart + 3]! ^ 0x01;
    uno.run(150, { ms: 50, action: () => uno.keepalive() });
    expectSelfTestTrip(uno, 'stack');
  });

  it('adc: a bandgap reference reading out of range fails within two checks (2 s)', () => {
    const uno = board().start();
    askForWater(uno, 300);
    expect(uno.valveOpen).toBe(true);
    const adc = uno.machine.adc;
    const read = adc.onADCRead;
    adc.onADCRead = (input) => read(input.type === ADCMuxInputType.Constant && input.voltage > 1 ? { ...input, voltage: 0.6 } : input);
    uno.run(2100, { ms: 200, action: () => uno.keepalive() });
    expectSelfTestTrip(uno, 'adc');
  });

  it('clock: a tick that disagrees with the watchdog oscillator by a factor of two fails within two periods', () => {
    for (const hz of [64_000, 256_000]) {
      const uno = board().start();
      askForWater(uno, 300);
      expect(uno.valveOpen).toBe(true);
      (uno.machine.watchdog as unknown as { clockFrequency: number }).clockFrequency = hz;
      uno.run(pins.safety.watchdogMs * 2, { ms: 200, action: () => uno.keepalive() });
      expectSelfTestTrip(uno, 'clock');
    }
  });

  it('clock: a tick within the tolerance (+-20 %) passes', () => {
    for (const hz of [110_000, 150_000]) {
      const uno = board().start();
      (uno.machine.watchdog as unknown as { clockFrequency: number }).clockFrequency = hz;
      askForWater(uno, 2000);
      expect(uno.lastStatus.latched, `${hz} Hz`).toBe(false);
    }
  });
});
