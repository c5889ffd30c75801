/**
 * The pieces under the emulated board, each on its own: pull-up resistors on the emulated
 * ports, the EEPROM file, the serialport binding's contract, the STATUS decoder.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PinState } from 'avr8js';
import { beforeAll, describe, expect, it } from 'vitest';
import { FileEEPROMBackend } from '../../hardware/boards/avr/eeprom-file.js';
import { CYCLES_PER_MS, EmulatedUno, EmulatorTimeoutError, loadHexProgram } from '../../hardware/boards/avr/uno.js';
import { defaultFirmwareHex } from '../../hardware/boards/emulated-board.js';
import { decodeStatus } from '../../hardware/boards/safety-sysex.js';
import { EndpointBinding } from '../../hardware/boards/serial-binding.js';
import { hasTools } from '../helpers/tools.js';

const PIND = 0x29;

describe.skipIf(!hasTools('avr-gcc', 'avr-g++', 'avr-objcopy'))('emulated Uno ports', () => {
  let uno: EmulatedUno;
  beforeAll(async () => {
    uno = new EmulatedUno({ program: loadHexProgram(await defaultFirmwareHex()) });
    uno.runMs(150); // start-up self-tests included
  }, 60_000);

  it('reads an undriven INPUT_PULLUP pin HIGH and an undriven plain input LOW', () => {
    expect(uno.pinState(2)).toBe(PinState.InputPullUp); // the firmware's flow-meter input
    expect(uno.cpu.data[PIND]! & 0x04).toBe(0x04);
    expect(uno.pinState(5)).toBe(PinState.Input); // a free pin, INPUT after the firmware's reset
    expect(uno.cpu.data[PIND]! & 0x20).toBe(0);
  });

  it('reads a pulled-up pin LOW while something drives it low, and HIGH again once released', () => {
    uno.setDigitalInput(2, false);
    expect(uno.cpu.data[PIND]! & 0x04).toBe(0);
    uno.setDigitalInput(2, null);
    expect(uno.cpu.data[PIND]! & 0x04).toBe(0x04);
  });

  it('fails loudly instead of hanging when a condition never comes', () => {
    expect(() => uno.runUntil(() => false, 2 * CYCLES_PER_MS, 'never')).toThrow(EmulatorTimeoutError);
  });
});

describe('EEPROM file backend', () => {
  it('starts erased, clears bits on write, and keeps what was written across instances', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'aq-eeprom-')), 'e.bin');
    const a = new FileEEPROMBackend(path);
    expect(a.readMemory(0x10)).toBe(0xff);
    a.writeMemory(0x10, 0xa7);
    a.writeMemory(0x11, 0x01);
    const b = new FileEEPROMBackend(path);
    expect([b.readMemory(0x10), b.readMemory(0x11), b.readMemory(0x12)]).toEqual([0xa7, 0x01, 0xff]);
    b.eraseMemory(0x10);
    expect(new FileEEPROMBackend(path).readMemory(0x10)).toBe(0xff);
    expect(readFileSync(path)).toHaveLength(1024);
  });
});

describe('endpoint serialport binding', () => {
  function endpoint() {
    const written: number[] = [];
    let listener: ((b: Uint8Array) => void) | null = null;
    return {
      written,
      emit: (bytes: number[]) => listener?.(Uint8Array.from(bytes)),
      ep: {
        write: (b: Uint8Array) => written.push(...b),
        onData: (l: (b: Uint8Array) => void) => {
          listener = l;
          return () => (listener = null);
        },
      },
    };
  }

  it('delivers the bytes a device sent in one synchronous burst to a single read', async () => {
    const e = endpoint();
    const port = await new EndpointBinding(new Map([['emu', e.ep]])).open({ path: 'emu', baudRate: 57600 });
    const reading = port.read(Buffer.alloc(16), 0, 16);
    e.emit([1, 2]);
    e.emit([3]);
    const { bytesRead, buffer } = await reading;
    expect([...buffer.subarray(0, bytesRead)]).toEqual([1, 2, 3]);
    await port.write(Buffer.from([9, 8]));
    expect(e.written).toEqual([9, 8]);
  });

  it('rejects a pending read with canceled: true when the port closes', async () => {
    const e = endpoint();
    const port = await new EndpointBinding(new Map([['emu', e.ep]])).open({ path: 'emu', baudRate: 57600 });
    const reading = port.read(Buffer.alloc(4), 0, 4);
    await port.close();
    await expect(reading).rejects.toMatchObject({ canceled: true });
    await expect(port.write(Buffer.from([1]))).rejects.toMatchObject({ canceled: true });
  });

  it('refuses to open a path it does not know', async () => {
    await expect(new EndpointBinding(new Map()).open({ path: 'nope', baudRate: 57600 })).rejects.toThrow(/no emulated port/);
  });
});

describe('STATUS decoder', () => {
  const good = [0x15, 0x00, 0x00, 0x05, 0x01, 0, 0, 0, 0x66, 0x02, 0x00, 0x04, 0x01, 0x07, 0x00, 0x00];

  it('decodes flags, float, pulses and the level in litres', () => {
    const s = decodeStatus(good)!;
    expect(s).toMatchObject({ valveOutput: true, latched: true, armed: true, linkLost: false, float: 'dry', pulses: 133, seq: 7, hoseFuseBlown: false });
    expect(s.levelAdc).toBe(0x66 | (0x02 << 7));
    expect(s.tubLevelL).not.toBeNull();
  });

  it('reads the hose fuse blown from the input bit (byte 15) or from the hose latch (trip reason 10)', () => {
    expect(decodeStatus(good.map((b, i) => (i === 15 ? 0x01 : b)))?.hoseFuseBlown).toBe(true);
    expect(decodeStatus(good.map((b, i) => (i === 2 ? 10 : b)))?.hoseFuseBlown).toBe(true);
    expect(decodeStatus(good.map((b, i) => (i === 15 ? 0x02 : b)))?.hoseFuseBlown).toBe(false);
  });

  it('refuses short, long, 8-bit and out-of-range frames instead of guessing', () => {
    expect(decodeStatus(good.slice(0, 15))).toBeNull();
    expect(decodeStatus([...good, 0])).toBeNull();
    expect(decodeStatus(good.map((b, i) => (i === 3 ? 0x80 : b)))).toBeNull();
    expect(decodeStatus(good.map((b, i) => (i === 1 ? 0x03 : b)))).toBeNull();
    expect(decodeStatus(good.map((b, i) => (i === 9 ? 0x7f : b)))).toBeNull();
  });
});
