/**
 * Makes one of the firmware's periodic self-tests fail on the emulated chip by really breaking
 * what it checks (hardware/firmware/PROTOCOL.md §3, "Self-tests"; the pin-level proofs are in
 * test/hardware/firmware-avr-selftest.test.ts):
 * - `stack`: one of the canary bytes right above the static data (`__heap_start`, read from the
 *   firmware's ELF) is trampled, as a stack grown too deep would; the next check (every 100 ms)
 *   fails. Without the ELF the address is unknown and `stack` cannot be staged.
 * - `adc`: the bandgap reference reads 0.6 V instead of 1.1 V from now on (a drifting reference
 *   or a bad AVcc); two checks a second apart fail.
 * - `clock`: the watchdog's 128 kHz oscillator runs at half speed against the crystal's tick;
 *   two watchdog periods in a row fail.
 * The start-up tests (flash CRC, RAM march, watchdog reset) run only while the chip boots, so a
 * running chip cannot be made to fail them; `breakForBoot` breaks them on a chip that has not run
 * yet (the power is just back), and its boot finds them:
 * - `flash`: one bit of the program image flips (in the jump of an interrupt vector the firmware
 *   never enables, so only the CRC can notice), not in the CRC stored after it.
 * - `ram`: one SRAM cell above the static data and below the stack has a bit stuck at 1.
 * - `watchdog`: the watchdog times out but cannot reset the chip.
 * Every fault here is a fault of the part: it outlives a reset (EmulatedUno.addChipFault; the
 * flash bit stays flipped in the image).
 */
import { ADCMuxInputType } from 'avr8js';
import type { SelfTestName } from '../../../src/board/self-tests.js';
import { dataAddress, readElfSymbols } from './elf-symbols.js';
import type { EmulatedUno } from './uno.js';

/** What the firmware image tells about where its checks look. */
export interface FirmwareLayout {
  /** SRAM address of the first stack canary byte, or null when unknown (no ELF beside the .hex). */
  readonly canaryAt: number | null;
  /** Byte address of an unused interrupt vector's jump target in flash, or null when none is found (or no image given). */
  readonly unusedVectorAt: number | null;
}

/** The layout of the image at `hexPath`; `program` (its loaded image) lets `flash` be staged. */
export function firmwareLayout(hexPath: string, program?: Uint16Array): FirmwareLayout {
  const heapStart = readElfSymbols(hexPath.replace(/\.hex$/i, '.elf'))?.get('__heap_start');
  return { canaryAt: heapStart === undefined ? null : dataAddress(heapStart), unusedVectorAt: program ? unusedVector(program) : null };
}

const JMP = 0x940c;
const VECTORS = 26; // ATmega328P: reset + 25 interrupts, one 2-word JMP each

/**
 * avr-gcc points every interrupt the firmware does not handle at one `__bad_interrupt`: the most
 * common JMP target of the table (used at least twice). The last vector jumping there is one
 * whose interrupt the firmware never enables (SPM ready, on the ATmega328P).
 */
function unusedVector(program: Uint16Array): number | null {
  const targets: number[] = [];
  for (let v = 1; v < VECTORS; v++) targets.push(program[2 * v] === JMP ? program[2 * v + 1]! : -1);
  const counts = new Map<number, number>();
  for (const t of targets) if (t >= 0) counts.set(t, (counts.get(t) ?? 0) + 1);
  const [bad, n] = [...counts].sort((a, b) => b[1] - a[1])[0] ?? [-1, 0];
  if (n < 2) return null;
  const v = targets.lastIndexOf(bad) + 1;
  return (2 * v + 1) * 2; // the low byte of the jump's target word
}

/** The periodic self-tests this image can be made to fail while it runs. */
export function stageableSelfTests(layout: FirmwareLayout): SelfTestName[] {
  return layout.canaryAt === null ? ['adc', 'clock'] : ['stack', 'adc', 'clock'];
}

/** The start-up self-tests this image can be made to fail at its next boot, in the firmware's boot order. */
export function bootStageableSelfTests(layout: FirmwareLayout): SelfTestName[] {
  const ramFree = layout.canaryAt === null || layout.canaryAt + 8 <= STUCK_CELL;
  return [...(ramFree ? (['ram'] as const) : []), 'watchdog', ...(layout.unusedVectorAt === null ? [] : (['flash'] as const))];
}

const BANDGAP_BROKEN_V = 0.6;
const WATCHDOG_BROKEN_HZ = 64_000;
/** Above the static data and the canaries (0x30c-0x314 in today's image), well below the stack. */
const STUCK_CELL = 0x700;
const STUCK_BIT = 0x10;

/** Breaks what start-up test `test` checks on a chip that has not run yet, so its boot fails it. */
export function breakForBoot(uno: EmulatedUno, test: SelfTestName, layout: FirmwareLayout): void {
  if (!bootStageableSelfTests(layout).includes(test)) throw new Error(`the emulated chip cannot fail the "${test}" self-test at its boot`);
  if (uno.cycles > 0) throw new Error(`the emulated chip has booted: "${test}" can fail only at its next boot`);
  if (test === 'flash') {
    const bytes = new Uint8Array(uno.program.buffer, uno.program.byteOffset, uno.program.byteLength);
    bytes[layout.unusedVectorAt!] = bytes[layout.unusedVectorAt!]! ^ 0x01;
  } else if (test === 'ram') {
    uno.addChipFault(({ cpu }) => {
      cpu.writeHooks[STUCK_CELL] = (value) => {
        cpu.data[STUCK_CELL] = value | STUCK_BIT;
        return true;
      };
    });
  } else {
    uno.addChipFault(({ cpu }) => {
      cpu.reset = () => {}; // the timeout fires; nothing resets
    });
  }
}

export function breakSelfTest(uno: EmulatedUno, test: SelfTestName, layout: FirmwareLayout): void {
  if (!stageableSelfTests(layout).includes(test)) throw new Error(`the emulated chip cannot fail the "${test}" self-test while running`);
  if (test === 'stack') {
    const at = layout.canaryAt! + 3;
    uno.cpu.data[at] = uno.cpu.data[at]! ^ 0x01;
  } else if (test === 'adc') {
    uno.addChipFault(({ adc }) => {
      const read = adc.onADCRead;
      // The internal references are constant inputs; only the bandgap (1.1 V) is above 1 V.
      adc.onADCRead = (input) => read(input.type === ADCMuxInputType.Constant && input.voltage > 1 ? { ...input, voltage: BANDGAP_BROKEN_V } : input);
    });
  } else {
    uno.addChipFault(({ watchdog }) => {
      (watchdog as unknown as { clockFrequency: number }).clockFrequency = WATCHDOG_BROKEN_HZ;
    });
  }
}
