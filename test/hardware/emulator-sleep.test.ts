/**
 * The SLEEP instruction in the emulated Uno (hardware/boards/avr/sleep.ts): first on tiny
 * hand-assembled programs, then on our firmware, which idles in sleep and starts timers 1 and 2
 * only for PWM. These are what make the emulated scenarios fast, so they are pinned down here.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CYCLES_PER_MS, EmulatedUno, loadHexProgram } from '../../hardware/boards/avr/uno.js';
import { defaultFirmwareHex } from '../../hardware/boards/emulated-board.js';
import { floatVolts, levelVolts, pins } from '../../hardware/pins.js';
import { hasTools } from '../helpers/tools.js';

// A few AVR instructions, encoded as the datasheet's instruction set summary gives them.
const ldi = (d: number, k: number) => 0xe000 | ((k & 0xf0) << 4) | ((d - 16) << 4) | (k & 0x0f);
const out = (io: number, r: number) => 0xb800 | ((io & 0x30) << 5) | (r << 4) | (io & 0x0f);
const sts = (addr: number, r: number) => [0x9200 | (r << 4), addr];
const inc = (d: number) => 0x9403 | (d << 4);
const rjmp = (from: number, to: number) => 0xc000 | ((to - from - 1) & 0xfff);
const dec = (d: number) => 0x940a | (d << 4);
const brne = (from: number, to: number) => 0xf401 | (((to - from - 1) & 0x7f) << 3);
const lds = (r: number, addr: number) => [0x9000 | (r << 4), addr];
const SEI = 0x9478;
const CLI = 0x94f8;
const SLEEP = 0x9588;
const RETI = 0x9518;
const SMCR_IO = 0x33;
const TCCR0B_IO = 0x25;
const TIMSK0 = 0x6e;
const TIMER0_OVF_VECTOR = 0x20;
const OVERFLOW_CYCLES = 256 * 64; // timer 0 at clk/64

/** Timer 0 overflows every 16,384 cycles; its ISR counts in r18, the main loop counts wake-ups in r17. */
function program(opts: { sleepEnable: boolean; interrupts: boolean }): Uint16Array {
  const p = new Uint16Array(0x4000);
  const main = 0x40;
  p[0] = rjmp(0, main);
  p.set([inc(18), RETI], TIMER0_OVF_VECTOR);
  const body = [
    ldi(16, opts.sleepEnable ? 1 : 0),
    out(SMCR_IO, 16), // idle mode, SE
    ldi(16, 3),
    out(TCCR0B_IO, 16), // clk/64
    ldi(16, 1),
    ...sts(TIMSK0, 16), // overflow interrupt on
    opts.interrupts ? SEI : CLI,
  ];
  p.set(body, main);
  const loop = main + body.length;
  p.set([SLEEP, inc(17), rjmp(loop + 2, loop)], loop);
  return p;
}

/**
 * Receives bytes in the RX interrupt (count in r18); the main loop busy-waits `spin` x 3 cycles
 * plus `pad` NOPs, then sleeps. Sweeping both puts a byte's arrival on the very cycle of a SLEEP.
 */
function rxProgram(spin: number, pad: number): Uint16Array {
  const p = new Uint16Array(0x4000);
  const main = 0x40;
  const USART_RX_VECTOR = 0x24;
  p[0] = rjmp(0, main);
  p.set([...lds(16, 0xc6), inc(18), RETI], USART_RX_VECTOR);
  const setup = [ldi(16, 1), out(SMCR_IO, 16), ldi(16, 3), ...sts(0xc4, 16), ldi(16, 0x90), ...sts(0xc1, 16), SEI];
  p.set(setup, main);
  const loop = main + setup.length;
  const body = [ldi(20, spin), dec(20), 0, ...Array<number>(pad).fill(0), SLEEP, 0];
  body[2] = brne(loop + 2, loop + 1);
  body[body.length - 1] = rjmp(loop + body.length - 1, loop);
  p.set(body, loop);
  return p;
}

describe('SLEEP in the emulated CPU', () => {
  it('does not fall asleep inside an interrupt that became due on the cycle of the SLEEP', () => {
    for (let spin = 190; spin <= 215; spin++) {
      for (let pad = 0; pad < 3; pad++) {
        const uno = new EmulatedUno({ program: rxProgram(spin, pad) });
        uno.run(200);
        uno.sendSerial([1, 2, 3]);
        uno.run(4 * 640);
        expect(uno.cpu.data[18], `spin ${spin}, pad ${pad}: bytes received`).toBe(3);
        expect(uno.asleep && !uno.cpu.interruptsEnabled, `spin ${spin}, pad ${pad}: stuck asleep in an ISR`).toBe(false);
      }
    }
  });

  it('executes nothing while asleep and wakes into each timer interrupt', () => {
    const uno = new EmulatedUno({ program: program({ sleepEnable: true, interrupts: true }) });
    uno.run(10 * OVERFLOW_CYCLES + 100);
    expect(uno.cpu.data[18]).toBe(10); // ISR entries
    expect(uno.cpu.data[17]).toBe(10); // one loop pass per wake-up, then back to sleep
    expect(uno.sleptCycles / uno.cycles).toBeGreaterThan(0.99);
    expect(uno.asleep).toBe(true);
  });

  it('treats SLEEP as a no-op while the sleep-enable bit is clear', () => {
    const uno = new EmulatedUno({ program: program({ sleepEnable: false, interrupts: true }) });
    uno.run(3 * OVERFLOW_CYCLES + 100);
    expect(uno.cpu.data[18]).toBe(3);
    expect(uno.sleptCycles).toBe(0);
    expect(uno.cpu.data[17]).not.toBe(3); // the loop spun (r17 wraps at 256)
  });

  it('never wakes with interrupts disabled, even with a timer overflow pending', () => {
    const uno = new EmulatedUno({ program: program({ sleepEnable: true, interrupts: false }) });
    uno.run(5 * OVERFLOW_CYCLES);
    expect(uno.asleep).toBe(true);
    expect([uno.cpu.data[17], uno.cpu.data[18]]).toEqual([0, 0]);
  });

  it('stays asleep across run() calls: many short runs end where one long run does', () => {
    const sliced = new EmulatedUno({ program: program({ sleepEnable: true, interrupts: true }) });
    const whole = new EmulatedUno({ program: program({ sleepEnable: true, interrupts: true }) });
    for (let i = 0; i < 700; i++) sliced.run(100);
    whole.run(70_000);
    expect(sliced.cpu.data[18]).toBe(4);
    expect(sliced.cpu.data[17]).toBe(4);
    // A run ends after the instruction that crosses its end, so slices may overshoot by a cycle or two.
    expect(sliced.cpu.pc).toBe(whole.cpu.pc);
    expect(Math.abs(sliced.cycles - whole.cycles)).toBeLessThanOrEqual(4);
    expect(Math.abs(sliced.sleptCycles - whole.sleptCycles)).toBeLessThanOrEqual(4);
  });
});

describe.skipIf(!hasTools('avr-gcc', 'avr-g++', 'avr-objcopy'))('our firmware idles in sleep', () => {
  let hex: string;
  beforeAll(async () => {
    hex = await defaultFirmwareHex();
  }, 60_000);

  function bootedUno(): EmulatedUno {
    const uno = new EmulatedUno({ program: loadHexProgram(hex) });
    uno.setDigitalInput(pins.pins.hoseFuse.pin, false); // the hose-fuse contact closed (or the jumper to GND)
    uno.setAnalogVolts(pins.pins.float.analogChannel, floatVolts('dry'));
    uno.setAnalogVolts(pins.pins.tubLevel.analogChannel, levelVolts(2));
    uno.runMs(150); // start-up self-tests included
    return uno;
  }

  it('sleeps most of the time when nothing happens', () => {
    const uno = bootedUno();
    const slept = uno.sleptCycles;
    const start = uno.cycles;
    uno.runMs(500);
    expect((uno.sleptCycles - slept) / (uno.cycles - start)).toBeGreaterThan(0.85);
  });

  it('spins through SLEEP when sleep modelling is off, and still answers the host', () => {
    const spinning = new EmulatedUno({ program: loadHexProgram(hex), modelSleep: false });
    spinning.runMs(300);
    expect(spinning.sleptCycles).toBe(0);
    const got: number[] = [];
    spinning.onSerialByte = (b) => got.push(b);
    spinning.sendSerial([0xf0, 0x04, 0xf7]); // STATUS query: the reply carries the board's view
    spinning.runUntil(() => got.includes(0xf7), 10 * CYCLES_PER_MS, 'status reply');
    expect(got[0]).toBe(0xf0);
    expect(got[1]).toBe(0x04);
  });

  it('wakes for a received byte and answers REPORT_VERSION within 2 ms', () => {
    const uno = bootedUno();
    const got: number[] = [];
    uno.onSerialByte = (b) => got.push(b);
    uno.runUntil(() => uno.asleep, CYCLES_PER_MS, 'asleep');
    uno.sendSerial([0xf9]);
    const cycles = uno.runUntil(() => got.length >= 3, 10 * CYCLES_PER_MS, 'version reply', 16);
    expect(got).toEqual([0xf9, 2, 5]);
    expect(cycles / CYCLES_PER_MS).toBeLessThan(2);
  });

  it('keeps timers 1 and 2 stopped until a pin needs PWM, then drives PWM on pins 9 and 3', () => {
    const uno = bootedUno();
    const TCCR1B = 0x81;
    const TCCR2B = 0xb1;
    expect(uno.cpu.data[TCCR1B]! & 0x07).toBe(0);
    expect(uno.cpu.data[TCCR2B]! & 0x07).toBe(0);
    // SET_PIN_MODE PWM, then ANALOG_MESSAGE duty 64 (pin 9) and 192 (pin 3).
    uno.sendSerial([0xf4, 9, 0x03, 0xe9, 64, 0, 0xf4, 3, 0x03, 0xe3, 192 & 0x7f, 192 >> 7]);
    uno.runMs(5);
    expect(uno.cpu.data[TCCR1B]! & 0x07).toBe(0x03);
    expect(uno.cpu.data[TCCR2B]! & 0x07).toBe(0x04);
    const high = { 9: 0, 3: 0 };
    const samples = 2040; // four PWM periods (510 x 64 cycles each) sampled every 64 cycles
    for (let i = 0; i < samples; i++) {
      uno.run(64);
      if (uno.outputHigh(9)) high[9]++;
      if (uno.outputHigh(3)) high[3]++;
    }
    expect(high[9] / samples).toBeCloseTo(64 / 255, 1);
    expect(high[3] / samples).toBeCloseTo(192 / 255, 1);
  });
});
