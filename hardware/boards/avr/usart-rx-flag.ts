/**
 * Where our emulated USART differs from avr8js 0.21.1, and why.
 *
 * avr8js clears a pending receive-complete flag (RXC0) on every write to UCSR0B that leaves the
 * receiver enabled. The ATmega328P does not: RXC0 is cleared only by reading UDR0 or by turning
 * the receiver off (RXEN0 = 0 flushes the receive buffer). HardwareSerial writes UCSR0B for every
 * byte it sends (UDRIE0 on in write(), off in the data-register-empty interrupt), so in plain
 * avr8js a host byte that arrives while the firmware transmits is lost or kept depending on where
 * the compiler happened to put those writes. `keepRxFlagOnControlWrites` wraps avr8js's UCSR0B
 * write hook so a pending byte survives, as on the chip. Pinned by test/hardware/emulator-usart.test.ts.
 */
import type { AVRUSART, CPU, usart0Config } from 'avr8js';

type USARTConfig = typeof usart0Config;
type InterruptConfig = Parameters<CPU['setInterruptFlag']>[0];

const UCSRA_RXC = 0x80;
const UCSRB_RXEN = 0x10;

/** Call once per USART, right after constructing it. */
export function keepRxFlagOnControlWrites(cpu: CPU, usart: AVRUSART, config: USARTConfig): void {
  const avr8jsHook = cpu.writeHooks[config.UCSRB];
  if (!avr8jsHook) throw new Error('avr8js USART installed no UCSRB write hook (avr8js changed?)');
  // avr8js keeps the receive-complete interrupt descriptor private; it is the one we must re-raise.
  const rxc = (usart as unknown as { RXC: InterruptConfig }).RXC;
  cpu.writeHooks[config.UCSRB] = (value, oldValue, addr, mask) => {
    const pending = (cpu.data[config.UCSRA]! & UCSRA_RXC) !== 0;
    const handled = avr8jsHook(value, oldValue, addr, mask);
    // Receiver still on: the byte is still in UDR0, so its flag (and interrupt, if enabled) stays.
    if (pending && (value & UCSRB_RXEN) !== 0 && (cpu.data[config.UCSRA]! & UCSRA_RXC) === 0) cpu.setInterruptFlag(rxc);
    return handled;
  };
}
