/**
 * The watchdog across a watchdog reset, as the ATmega328P does it (datasheet, "WDTCSR" and
 * "MCUSR"): after a watchdog reset WDRF is set in MCUSR, and while WDRF is set WDE is forced on,
 * so the watchdog keeps running with its reset prescaler (WDP = 0: 2048 cycles of the 128 kHz
 * oscillator, 16 ms). Firmware must clear WDRF and then WDE early in start-up, or the chip resets
 * again every 16 ms: a reset loop. avr8js starts every CPU with the watchdog off and lets WDE be
 * cleared whatever MCUSR says; these two functions add the chip's behaviour.
 */
import type { CPU, WatchdogConfig } from 'avr8js';

const MCUSR_WDRF = 0x08;
const WDTCSR_WDCE = 0x10;
const WDTCSR_WDE = 0x08;

/** While MCUSR.WDRF is set, WDE reads (and acts) as 1 whatever the firmware writes. */
export function forceWdeWhileWdrf(cpu: CPU, config: WatchdogConfig): void {
  const avr8jsHook = cpu.writeHooks[config.WDTCSR];
  if (!avr8jsHook) throw new Error('avr8js watchdog installed no WDTCSR write hook (avr8js changed?)');
  cpu.writeHooks[config.WDTCSR] = (value, oldValue, addr, mask) => {
    const handled = avr8jsHook(value, oldValue, addr, mask);
    if ((cpu.data[config.MCUSR]! & MCUSR_WDRF) !== 0 && (cpu.data[config.WDTCSR]! & WDTCSR_WDE) === 0) {
      // Put WDE back through avr8js's own timed sequence, keeping the prescaler just written.
      const prescaler = cpu.data[config.WDTCSR]! & 0x27;
      avr8jsHook(WDTCSR_WDCE | WDTCSR_WDE, cpu.data[config.WDTCSR]!, addr, mask);
      avr8jsHook(WDTCSR_WDE | prescaler, cpu.data[config.WDTCSR]!, addr, mask);
    }
    return handled;
  };
}

/**
 * The state right after a watchdog reset: MCUSR = WDRF, watchdog running in system-reset mode with
 * the 16 ms timeout. Call on a freshly built CPU (cycle 0), after `forceWdeWhileWdrf`.
 */
export function startAfterWatchdogReset(cpu: CPU, config: WatchdogConfig): void {
  cpu.data[config.MCUSR] = cpu.data[config.MCUSR]! | MCUSR_WDRF;
  cpu.writeData(config.WDTCSR, WDTCSR_WDCE | WDTCSR_WDE);
  cpu.writeData(config.WDTCSR, WDTCSR_WDE);
}
