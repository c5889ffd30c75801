/**
 * The emulated Uno on a byte stream (hardware/boards/avr/serial-stdio.ts, served by `aquastop
 * emulate`): the firmware answers on `output` what the host sends on `input`, and when `input`
 * ends the emulation stops and leaves no timer behind (the process can exit). On a
 * VirtualClock, so emulated time costs no waiting.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { serveUnoOnStreams } from '../../hardware/boards/avr/serial-stdio.js';
import { buildFirmware } from '../../hardware/firmware/build.js';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { hasTools } from '../helpers/tools.js';

const T = 120_000;

describe.skipIf(!hasTools('avr-gcc', 'avr-g++', 'avr-objcopy', 'avr-ar'))('the emulated Uno on a byte stream', () => {
  it(
    'answers a Firmata firmware query on output, and stops with no timer left when input ends',
    async () => {
      const { hexPath } = await buildFirmware();
      const clock = new VirtualClock();
      const input = new PassThrough();
      const output = new PassThrough();
      const received: number[] = [];
      output.on('data', (d: Buffer) => received.push(...d));
      const served = serveUnoOnStreams({ hexPath, float: 'dry', input, output, clock });
      const names = () => String.fromCharCode(...received.filter((b) => b >= 0x20 && b < 0x7f)).split('AquastopFirmata').length - 1;
      clock.advance(1_000); // boot, self-tests
      await new Promise<void>((r) => setImmediate(r));
      const before = names();
      input.write(Buffer.from([0xf0, 0x79, 0xf7])); // REPORT_FIRMWARE: its name, once more
      for (let i = 0; i < 20 && names() === before; i++) {
        await new Promise<void>((r) => setImmediate(r));
        clock.advance(50);
      }
      await new Promise<void>((r) => setImmediate(r));
      expect(names()).toBe(before + 1);
      expect(clock.pending).toBeGreaterThan(0);
      input.end();
      await served.ended;
      expect(clock.pending).toBe(0);
    },
    T,
  );
});
