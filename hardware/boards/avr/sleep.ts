/**
 * Runs an avr8js CPU with the SLEEP instruction modelled. avr8js executes SLEEP as a no-op, so a
 * firmware that idles in sleep would spin through its loop instead; here a sleeping CPU executes
 * nothing and time jumps from one scheduled clock event (timer count, USART, ADC, watchdog) to
 * the next until an enabled interrupt is pending, as on the chip.
 *
 * - Every sleep mode is treated as idle (timers, USART, ADC and the pins keep running): the
 *   firmware only uses idle, and the other modes would need the clock system modelled.
 * - Waking takes 4 cycles before the interrupt is entered (ATmega328P datasheet, "Sleep Modes").
 * - With interrupts disabled the chip sleeps until something resets it (the watchdog), exactly as
 *   a real one would.
 * - The CPU may still be asleep when `stop` is reached; the caller keeps the flag for the next run.
 */
import { avrInstruction, type CPU } from 'avr8js';

const SLEEP_OPCODE = 0x9588;
/** SMCR: sleep mode control register (data address); bit 0 = SE, sleep enable. */
const SMCR = 0x53;
const SE = 0x01;
const WAKE_CYCLES = 4;

/** avr8js keeps its event queue private; the head's due cycle is all we read. */
interface ClockEventQueue {
  readonly nextClockEvent: { readonly cycles: number } | null;
}

export interface CpuRunState {
  /** True while the CPU sleeps (kept across calls). */
  asleep: boolean;
  /** Set (by a reset hook) to stop the run after the current instruction or clock event. */
  halted: boolean;
  /** Cycles spent asleep, for measurements. */
  sleptCycles: number;
  /** False: SLEEP stays the no-op avr8js makes it (to measure the bare instruction rate). */
  readonly modelSleep: boolean;
}

export function newCpuRunState(modelSleep = true): CpuRunState {
  return { asleep: false, halted: false, sleptCycles: 0, modelSleep };
}

/**
 * Runs `cpu` until `cpu.cycles >= stop` or `state.halted` (checked after every clock event and
 * instruction). `state.asleep` says whether the CPU sleeps at the end.
 */
export function runCpu(cpu: CPU, stop: number, state: CpuRunState): void {
  const progMem = cpu.progMem;
  const data = cpu.data;
  while (cpu.cycles < stop && !state.halted) {
    if (state.asleep) {
      sleepUntilInterrupt(cpu, stop, state);
      continue;
    }
    const sleeping = progMem[cpu.pc] === SLEEP_OPCODE && (data[SMCR]! & SE) !== 0 && state.modelSleep;
    avrInstruction(cpu);
    const next = cpu.pc;
    cpu.tick();
    // An interrupt that became due with the SLEEP itself is entered at once: the chip never sleeps.
    if (sleeping && cpu.pc === next) state.asleep = true;
  }
}

function sleepUntilInterrupt(cpu: CPU, stop: number, state: CpuRunState): void {
  const queue = cpu as unknown as ClockEventQueue;
  while (!state.halted) {
    if (cpu.interruptsEnabled && cpu.nextInterrupt >= 0) {
      state.asleep = false;
      cpu.cycles += WAKE_CYCLES;
      state.sleptCycles += WAKE_CYCLES;
      cpu.tick(); // enters the interrupt
      return;
    }
    const due = queue.nextClockEvent?.cycles ?? Infinity;
    if (due >= stop) {
      state.sleptCycles += stop - cpu.cycles;
      cpu.cycles = stop;
      return;
    }
    if (due > cpu.cycles) {
      state.sleptCycles += due - cpu.cycles;
      cpu.cycles = due;
    }
    const pc = cpu.pc;
    cpu.tick(); // one clock event; it may raise (and enter) an interrupt
    if (cpu.pc !== pc) {
      state.asleep = false;
      cpu.cycles += WAKE_CYCLES;
      state.sleptCycles += WAKE_CYCLES;
      return;
    }
  }
}
