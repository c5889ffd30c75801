/**
 * Where our emulated USART differs from avr8js 0.21.1 (hardware/boards/avr/usart-rx-flag.ts):
 * a received byte waiting in UDR0 survives writes to UCSR0B, as on the ATmega328P. A tiny
 * hand-assembled program rewrites UCSR0B in a long interrupts-off window (as HardwareSerial does
 * for every byte it sends) while the host sends bytes; its receive interrupt counts them. Both of
 * our emulated chips (the board's and the pin-level test harness's) must count every byte; plain
 * avr8js, run the same way, loses them, which shows the program can tell.
 */
import { AVRUSART, CPU, avrInstruction, usart0Config } from 'avr8js';
import { describe, expect, it } from 'vitest';
import { EmulatedUno as BoardUno } from '../../hardware/boards/avr/uno.js';
import { EmulatedUno as HarnessUno } from './firmware-avr-harness.js';

const ldi = (d: number, k: number) => 0xe000 | ((k & 0xf0) << 4) | ((d - 16) << 4) | (k & 0x0f);
const sts = (addr: number, r: number) => [0x9200 | (r << 4), addr];
const lds = (r: number, addr: number) => [0x9000 | (r << 4), addr];
const inc = (d: number) => 0x9403 | (d << 4);
const rjmp = (from: number, to: number) => 0xc000 | ((to - from - 1) & 0xfff);
const CLI = 0x94f8;
const SEI = 0x9478;
const RETI = 0x9518;
const NOP = 0x0000;
const UCSR0A = 0xc0;
const UCSR0B = 0xc1;
const UBRR0L = 0xc4;
const UDR0 = 0xc6;
const RX_VECTOR = 0x24;
const COUNT_REG = 18;
const BYTES = 200;

/** 57600 baud (U2X, UBRR 16); RX interrupt counts bytes in r18; the main loop rewrites UCSR0B with interrupts off. */
function program(): Uint16Array {
  const p = new Uint16Array(0x4000);
  const main = 0x40;
  p[0] = rjmp(0, main);
  p.set([...lds(17, UDR0), inc(COUNT_REG), RETI], RX_VECTOR);
  const setup = [ldi(16, 16), ...sts(UBRR0L, 16), ldi(16, 0x02), ...sts(UCSR0A, 16), ldi(16, 0x98), ...sts(UCSR0B, 16)];
  p.set(setup, main);
  const loop = main + setup.length;
  const body = [CLI, ...Array.from({ length: 100 }, () => sts(UCSR0B, 16)).flat(), SEI, NOP];
  p.set([...body, rjmp(loop + body.length, loop)], loop);
  return p;
}

const bytes = Array.from({ length: BYTES }, (_, i) => i & 0xff);
const runMs = (BYTES * 1360) / 16_000 + 5;

describe('USART receive flag across UCSR0B writes', () => {
  it('plain avr8js loses bytes with this program (the test below can fail)', () => {
    const cpu = new CPU(program());
    const usart = new AVRUSART(cpu, usart0Config, 16_000_000);
    const queue = [...bytes];
    usart.onRxComplete = () => {
      if (queue.length > 0) usart.writeByte(queue.shift()!);
    };
    let started = false;
    while (cpu.cycles < runMs * 16_000) {
      if (!started && usart.writeByte(queue[0]!)) {
        queue.shift();
        started = true;
      }
      avrInstruction(cpu);
      cpu.tick();
    }
    expect(queue).toHaveLength(0);
    expect(cpu.data[COUNT_REG]).toBeLessThan(BYTES / 2);
  });

  it('the emulated board keeps every byte', () => {
    const uno = new BoardUno({ program: program() });
    uno.runMs(1);
    uno.sendSerial(bytes);
    uno.runMs(runMs);
    expect(uno.pendingRx).toBe(0);
    expect(uno.cpu.data[COUNT_REG]).toBe(BYTES);
  });

  it('the pin-level test harness keeps every byte', () => {
    const uno = new HarnessUno(program()).boot();
    uno.run(1);
    uno.send(...bytes);
    uno.run(runMs);
    expect(uno.machine.cpu.data[COUNT_REG]).toBe(BYTES);
  });
});
