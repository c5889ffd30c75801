#include "selftest.h"
#include "config.h"
#include <Arduino.h>
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/pgmspace.h>
#include <avr/wdt.h>
#include <util/crc16.h>
#include <util/delay.h>

// What the early tests leave for the C++ code: .noinit survives the C runtime start-up (and a
// reset), but the march test below overwrites it, so early_init reads it into registers first.
struct EarlyResults {
  uint8_t mcusr;       // reset cause to report
  uint8_t ramBad;      // march test: OR of every bit that read back wrong
  uint8_t wdtFailed;   // the watchdog did not reset the chip when told to
  uint8_t marker0, marker1, causeBeforeTest;  // the watchdog check in progress (see below)
};
static EarlyResults early __attribute__((section(".noinit")));

#define WDT_MARKER 0x57

// March C- over all of SRAM (RAMSTART..RAMEND), solid backgrounds 00/FF:
//   up(w0) up(r0,w1) up(r1,w0) down(r0,w1) down(r1,w0) down(r0)
// Finds stuck-at, transition and address-decoder faults and coupling between cells. Inline, no
// calls and no locals in RAM: it runs with the stack empty and overwrites all of it.
static inline uint8_t march_c_minus(void) __attribute__((always_inline));
static inline uint8_t march_c_minus(void) {
  uint8_t bad = 0;
  volatile uint8_t *p;
  for (p = (volatile uint8_t *)RAMSTART; p <= (volatile uint8_t *)RAMEND; p++) *p = 0x00;
  for (p = (volatile uint8_t *)RAMSTART; p <= (volatile uint8_t *)RAMEND; p++) {
    bad |= *p;
    *p = 0xFF;
  }
  for (p = (volatile uint8_t *)RAMSTART; p <= (volatile uint8_t *)RAMEND; p++) {
    bad |= (uint8_t)~*p;
    *p = 0x00;
  }
  for (p = (volatile uint8_t *)RAMEND; p >= (volatile uint8_t *)RAMSTART; p--) {
    bad |= *p;
    *p = 0xFF;
  }
  for (p = (volatile uint8_t *)RAMEND; p >= (volatile uint8_t *)RAMSTART; p--) {
    bad |= (uint8_t)~*p;
    *p = 0x00;
  }
  for (p = (volatile uint8_t *)RAMEND; p >= (volatile uint8_t *)RAMSTART; p--) bad |= *p;
  return bad;
}

// Runs first, in .init3 (stack pointer set, C runtime not started yet).
// 1. MCUSR is read and cleared, then the watchdog disabled: after a watchdog reset the chip keeps
//    the watchdog running with WDE forced on by WDRF and a 16 ms timeout; clearing WDRF and then
//    WDE here, before anything slow, is what keeps a watchdog reset from looping.
// 2. The march test.
// 3. The watchdog check: after a power-on, external or brown-out reset, let the watchdog reset the
//    chip (16 ms) with a marker in .noinit; the boot that follows finds WDRF and the marker and
//    reports the cause from before the check. If the chip is still running 100 ms later, the
//    watchdog cannot reset it: the check fails. Optiboot clears MCUSR before the sketch starts
//    (cause 00), so there the marker alone shows the chip restarted.
extern "C" void aq_early_init(void) __attribute__((naked, used, section(".init3")));
extern "C" void aq_early_init(void) {
  uint8_t mcusr = MCUSR;
  MCUSR = 0;
  wdt_disable();
  uint8_t m0 = early.marker0, m1 = early.marker1, before = early.causeBeforeTest;
  uint8_t ramBad = march_c_minus();
  uint8_t checkDone = (mcusr & _BV(WDRF)) || mcusr == 0;
  uint8_t wasOurs = m0 == WDT_MARKER && m1 == (uint8_t)~WDT_MARKER && checkDone;
  early.ramBad = ramBad;
  early.wdtFailed = 0;
  early.mcusr = wasOurs ? before : mcusr;
  early.marker0 = 0;
  early.marker1 = 0;
  if (!checkDone) {
    early.causeBeforeTest = mcusr;
    early.marker0 = WDT_MARKER;
    early.marker1 = (uint8_t)~WDT_MARKER;
    wdt_enable(WDTO_15MS);
    _delay_ms(100);
    // Still here: the watchdog did not reset the chip.
    wdt_disable();
    early.marker0 = 0;
    early.wdtFailed = 1;
  }
}

uint8_t selftest_reset_cause(void) { return early.mcusr; }

// The build appends the CRC-16/CCITT (reflected, poly 0x8408, init FFFF, as _crc_ccitt_update)
// of flash [0, __data_load_end) as two bytes, low first, right at __data_load_end.
extern "C" char __data_load_end[];

static uint8_t flash_crc_ok(void) {
  uint16_t end = (uint16_t)__data_load_end;
  uint16_t crc = 0xFFFF;
  for (uint16_t a = 0; a < end; a++) crc = _crc_ccitt_update(crc, pgm_read_byte(a));
  return crc == pgm_read_word(end);
}

// Stack canary: the bytes right above .bss/.noinit (nothing uses the heap), where the stack
// would arrive first if it ever grew too deep.
extern "C" uint8_t __heap_start;
#define CANARY_BYTES 8
static uint8_t canary_byte(uint8_t i) { return (uint8_t)(0xA5 ^ (i * 0x1D)); }

uint8_t selftest_boot(void) {
  uint8_t *c = &__heap_start;
  for (uint8_t i = 0; i < CANARY_BYTES; i++) c[i] = canary_byte(i);
  if (early.ramBad) return TEST_RAM;
  if (early.wdtFailed) return TEST_WATCHDOG;
  if (!flash_crc_ok()) return TEST_FLASH;
  return TEST_NONE;
}

// --- watchdog as tick reference ---
// WDTO_xx n gives 2048 << n cycles of the 128 kHz oscillator = 16 << n ms.
#define WDT_TICK_MS (16UL << AQ_WDTO_TICK)
// The oscillator is not precise (the datasheet gives about 128 kHz, varying with voltage and
// temperature): accept +-30 % per period, fail after two bad periods in a row.
#define TICK_MIN_MS (WDT_TICK_MS * 7 / 10)
#define TICK_MAX_MS (WDT_TICK_MS * 13 / 10)

static volatile uint8_t loopAlive, clockBad, clockFault;
static uint32_t lastWdtAt;

void selftest_watchdog_start(void) {
  uint8_t sreg = SREG;
  cli();
  wdt_reset();
  lastWdtAt = millis();
  loopAlive = 1;
  // Timed sequence: WDCE|WDE, then within 4 cycles the new configuration.
  WDTCSR = _BV(WDCE) | _BV(WDE);
  WDTCSR = _BV(WDE) | _BV(WDIE) | (AQ_WDTO_TICK & 0x07) | ((AQ_WDTO_TICK & 0x08) ? _BV(WDP3) : 0);
  SREG = sreg;
}

void selftest_loop_alive(void) { loopAlive = 1; }

ISR(WDT_vect) {
  uint32_t now = millis();
  uint32_t took = now - lastWdtAt;
  lastWdtAt = now;
  if (took < TICK_MIN_MS || took > TICK_MAX_MS) {
    if (clockBad < 2 && ++clockBad >= 2) clockFault = 1;
  } else {
    clockBad = 0;
  }
  // The hardware cleared WDIE at the timeout: without it the next timeout resets the chip.
  if (loopAlive) {
    loopAlive = 0;
    WDTCSR |= _BV(WDIE);
  }
}

// --- ADC against its internal references (AVcc reference, as analogRead uses) ---
static uint16_t adc_read_mux(uint8_t mux) {
  ADMUX = _BV(REFS0) | mux;
  ADCSRA |= _BV(ADSC);
  while (ADCSRA & _BV(ADSC)) {
  }
  return ADC;
}

// Bandgap 1.1 V against AVcc 5 V: 225 counts; 1.0-1.2 V and 4.5-5.5 V give 186-273.
#define BANDGAP_MIN 180
#define BANDGAP_MAX 280
#define GROUND_MAX 16

static uint8_t adcBad;

static uint8_t adc_ok(void) {
  adc_read_mux(0x0E);  // the first conversion after switching to the bandgap is not settled
  uint16_t gap = adc_read_mux(0x0E);
  uint16_t gnd = adc_read_mux(0x0F);
  return gap >= BANDGAP_MIN && gap <= BANDGAP_MAX && gnd <= GROUND_MAX;
}

static uint32_t lastCanaryAt, lastAdcAt;

uint8_t selftest_periodic(uint32_t now) {
  if (clockFault) return TEST_CLOCK;
  if (now - lastCanaryAt < 100) return TEST_NONE;
  lastCanaryAt = now;
  const uint8_t *c = &__heap_start;
  for (uint8_t i = 0; i < CANARY_BYTES; i++)
    if (c[i] != canary_byte(i)) return TEST_STACK;
  if (now - lastAdcAt >= 1000) {
    lastAdcAt = now;
    if (adc_ok()) adcBad = 0;
    else if (++adcBad >= 2) return TEST_ADC;
  }
  return TEST_NONE;
}

const char *selftest_name(uint8_t test) {
  switch (test) {
    case TEST_FLASH: return "flash";
    case TEST_RAM: return "ram";
    case TEST_WATCHDOG: return "watchdog";
    case TEST_STACK: return "stack";
    case TEST_ADC: return "adc";
    case TEST_CLOCK: return "clock";
    default: return "none";
  }
}
