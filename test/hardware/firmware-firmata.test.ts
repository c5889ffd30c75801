/**
 * The Firmata subset our firmware speaks beyond the handshake (PROTOCOL.md section 1): analog and
 * digital reporting, the sampling interval, pin modes and PIN_STATE, STRING_DATA and
 * SYSTEM_RESET. Pin level, on the bare emulated chip, with raw bytes as a host would send them.
 */
import { PinState } from 'avr8js';
import { beforeAll, describe, expect, it } from 'vitest';
import { levelVolts, pins } from '../../hardware/pins.js';
import { hasTools } from '../helpers/tools.js';
import { EmulatedUno } from './firmware-avr-harness.js';
import { firmwareUnderTest } from './firmware-under-test.js';

interface Message {
  readonly command: number;
  readonly channel: number;
  readonly value: number;
}

/** The 3-byte DIGITAL (0x9p) and ANALOG (0xEc) messages in what the board sent, sysex skipped. */
function messages(bytes: readonly number[], from = 0): Message[] {
  const out: Message[] = [];
  for (let i = from; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0xf0) {
      while (i < bytes.length && bytes[i] !== 0xf7) i++;
    } else if ((b & 0xf0) === 0x90 || (b & 0xf0) === 0xe0) {
      if (i + 2 >= bytes.length) break;
      out.push({ command: b & 0xf0, channel: b & 0x0f, value: bytes[i + 1]! | (bytes[i + 2]! << 7) });
      i += 2;
    }
  }
  return out;
}

const text = (frame: readonly number[]) => String.fromCharCode(...frame.slice(1).filter((_, i) => i % 2 === 0));

describe.skipIf(!hasTools('avr-gcc', 'avr-g++', 'avr-objcopy', 'avr-ar'))('firmware: the Firmata subset', () => {
  let program: Uint16Array;
  beforeAll(async () => {
    ({ program } = await firmwareUnderTest());
  });

  function booted(): EmulatedUno {
    return new EmulatedUno(program).start();
  }

  it('reports an analog channel at the sampling interval the host sets, and stops on SYSTEM_RESET', () => {
    const uno = booted();
    const channel = pins.pins.tubLevel.analogChannel;
    uno.send(0xf0, 0x7a, 100, 0, 0xf7); // SAMPLING_INTERVAL 100 ms
    uno.send(0xc0 | channel, 1); // REPORT_ANALOG on
    const from = uno.fromBoard.length;
    uno.run(1_000);
    const reports = messages(uno.fromBoard, from).filter((m) => m.command === 0xe0 && m.channel === channel);
    expect(reports.length).toBeGreaterThanOrEqual(9);
    expect(reports.length).toBeLessThanOrEqual(11);
    const expected = Math.round((levelVolts(2) / 5) * 1023);
    for (const r of reports) expect(Math.abs(r.value - expected)).toBeLessThanOrEqual(2);
    uno.send(0xff); // SYSTEM_RESET: reporting off
    uno.run(10);
    const after = uno.fromBoard.length;
    uno.run(500);
    expect(messages(uno.fromBoard, after).filter((m) => m.command === 0xe0)).toEqual([]);
  });

  it('reports a digital port when reporting is turned on, and again whenever an input of it changes', () => {
    const uno = booted();
    uno.send(0xf4, 5, 0x00); // pin 5 INPUT
    uno.run(5);
    const from = uno.fromBoard.length;
    uno.send(0xd0, 1); // REPORT_DIGITAL port 0
    uno.run(10);
    const first = messages(uno.fromBoard, from).filter((m) => m.command === 0x90 && m.channel === 0);
    expect(first).toHaveLength(1);
    expect(first[0]!.value & 0x20).toBe(0);
    uno.machine.portD.setPin(5, true);
    uno.run(10);
    const changed = messages(uno.fromBoard, from).filter((m) => m.command === 0x90 && m.channel === 0);
    expect(changed).toHaveLength(2);
    expect(changed[1]!.value & 0x20).toBe(0x20);
    uno.run(100); // no change, no message
    expect(messages(uno.fromBoard, from).filter((m) => m.command === 0x90)).toHaveLength(2);
  });

  it('sets a general pin as OUTPUT, drives it, and answers PIN_STATE_QUERY with mode and value', () => {
    const uno = booted();
    uno.send(0xf4, 12, 0x01, 0xf5, 12, 1); // pin 12 OUTPUT, HIGH
    uno.run(5);
    expect(uno.machine.portB.pinState(12 - 8)).toBe(PinState.High);
    uno.send(0xf0, 0x6d, 12, 0xf7);
    expect(uno.expectFrame((f) => f[0] === 0x6e)).toEqual([0x6e, 12, 0x01, 1]);
    uno.send(0xf4, 12, 0x0b); // PULLUP
    uno.send(0xf0, 0x6d, 12, 0xf7);
    expect(uno.expectFrame((f) => f[0] === 0x6e && f[2] === 0x0b)).toEqual([0x6e, 12, 0x0b, 1]);
    uno.send(0xf4, pins.pins.valve.pin, 0x00); // the valve pin stays an output whatever the host asks
    uno.send(0xf0, 0x6d, pins.pins.valve.pin, 0xf7);
    expect(uno.expectFrame((f) => f[0] === 0x6e && f[1] === pins.pins.valve.pin)[2]).toBe(0x01);
  });

  it('says why it booted in a STRING_DATA message', () => {
    const uno = new EmulatedUno(program).start(0x01);
    const note = uno.frames.find((f) => f[0] === 0x71);
    expect(note && text(note)).toBe('boot: reset cause P---');
    const afterWatchdog = new EmulatedUno(program).start(0x08);
    const w = afterWatchdog.frames.find((f) => f[0] === 0x71);
    expect(w && text(w)).toBe('boot: reset cause ---W');
  });
});
