/**
 * The watchdog across a watchdog reset, as the ATmega328P does it and plain avr8js does not
 * (hardware/boards/avr/watchdog-reset.ts): after the reset WDRF is set and forces WDE on with the
 * 16 ms timeout, so a program that does not clear WDRF and then WDE resets again and again.
 * Tiny hand-assembled programs on both of our emulated chips.
 */
import { AVRClock, AVRWatchdog, CPU, avrInstruction, clockConfig, watchdogConfig } from 'avr8js';
import { describe, expect, it } from 'vitest';
import { CYCLES_PER_MS, EmulatedUno as BoardUno } from '../../hardware/boards/avr/uno.js';
import { EmulatedUno as HarnessUno } from './firmware-avr-harness.js';

const ldi = (d: number, k: number) => 0xe000 | ((k & 0xf0) << 4) | ((d - 16) << 4) | (k & 0x0f);
const out = (io: number, r: number) => 0xb800 | ((io & 0x30) << 5) | (r << 4) | (io & 0x0f);
const sts = (addr: number, r: number) => [0x9200 | (r << 4), addr];
const rjmpSelf = 0xcfff;
const MCUSR_IO = 0x34;
const WDTCSR = 0x60;

/** r1 is 0 after reset. `clearWdrf`: MCUSR = 0 first; `disable`: WDCE|WDE, then 0 (the timed sequence). */
function program(opts: { clearWdrf: boolean; disable: boolean }): Uint16Array {
  const p = new Uint16Array(0x4000);
  const body = [...(opts.clearWdrf ? [out(MCUSR_IO, 1)] : []), ...(opts.disable ? [ldi(16, 0x18), ...sts(WDTCSR, 16), ...sts(WDTCSR, 1)] : []), rjmpSelf];
  p.set(body, 0);
  return p;
}

const cases = [
  { clearWdrf: true, disable: true, loops: false, what: 'clears WDRF, then disables: comes up once' },
  { clearWdrf: false, disable: true, loops: true, what: 'disables without clearing WDRF first: WDE stays forced on, resets every 16 ms' },
  { clearWdrf: true, disable: false, loops: true, what: 'clears WDRF but leaves the watchdog running: resets every 16 ms' },
];

describe('the watchdog after a watchdog reset', () => {
  it.each(cases)('emulated board: a program that $what', ({ clearWdrf, disable, loops }) => {
    const uno = new BoardUno({ program: program({ clearWdrf, disable }) });
    uno.reset('watchdog');
    uno.run(100 * CYCLES_PER_MS);
    const again = uno.resets.length - 1;
    if (loops)
      expect(again).toBeGreaterThanOrEqual(5); // 100 ms / 16 ms
    else expect(again).toBe(0);
  });

  it.each(cases)('pin-level harness: a program that $what', ({ clearWdrf, disable, loops }) => {
    const uno = new HarnessUno(program({ clearWdrf, disable })).boot(0x08);
    uno.run(100);
    if (loops) expect(uno.resets).toBeGreaterThanOrEqual(5);
    else expect(uno.resets).toBe(0);
  });

  it('plain avr8js starts every CPU with the watchdog off, so it cannot show a reset loop (the difference)', () => {
    const cpu = new CPU(program({ clearWdrf: true, disable: false }));
    new AVRWatchdog(cpu, watchdogConfig, new AVRClock(cpu, 16_000_000, clockConfig));
    cpu.data[watchdogConfig.MCUSR] = 0x08; // as after a watchdog reset
    let resets = 0;
    cpu.reset = () => resets++;
    while (cpu.cycles < 100 * CYCLES_PER_MS) {
      avrInstruction(cpu);
      cpu.tick();
    }
    expect(resets).toBe(0);
  });

  it('a power-on starts with the watchdog off', () => {
    const uno = new BoardUno({ program: program({ clearWdrf: false, disable: false }) });
    uno.run(100 * CYCLES_PER_MS);
    expect(uno.resets).toEqual([]);
  });
});
