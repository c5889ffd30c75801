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
 * running chip cannot be made to fail them here.
 * The ADC and clock faults are faults of the part: they outlive a reset (EmulatedUno.addChipFault).
 */
import { ADCMuxInputType } from 'avr8js';
import type { SelfTestName } from '../../../src/board/self-tests.js';
import { dataAddress, readElfSymbols } from './elf-symbols.js';
import type { EmulatedUno } from './uno.js';

/** What the firmware image tells about where its checks look. */
export interface FirmwareLayout {
  /** SRAM address of the first stack canary byte, or null when unknown (no ELF beside the .hex). */
  readonly canaryAt: number | null;
}

export function firmwareLayout(hexPath: string): FirmwareLayout {
  const heapStart = readElfSymbols(hexPath.replace(/\.hex$/i, '.elf'))?.get('__heap_start');
  return { canaryAt: heapStart === undefined ? null : dataAddress(heapStart) };
}

/** The periodic self-tests this image can be made to fail while it runs. */
export function stageableSelfTests(layout: FirmwareLayout): SelfTestName[] {
  return layout.canaryAt === null ? ['adc', 'clock'] : ['stack', 'adc', 'clock'];
}

const BANDGAP_BROKEN_V = 0.6;
const WATCHDOG_BROKEN_HZ = 64_000;

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
