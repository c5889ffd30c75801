// selftest.h: IEC 60730 Annex H class B style self-tests (PROTOCOL.md section 3, "Self-tests").
// At boot: a march test of the whole SRAM and the watchdog reset check (both in .init3, before
// the C runtime touches RAM), then a CRC of the program flash against the one the build appended.
// While running: a stack canary, the ADC against its internal references, and the millis() tick
// against the watchdog's own 128 kHz oscillator (the watchdog runs in interrupt-and-reset mode:
// its interrupt every AQ_WDT_TICK_MS measures the tick, and re-arms only if the main loop checked
// in since the last one, so a hung loop still resets the chip within AQ_WATCHDOG_MS).
// A failure closes the valve and latches with reason TRIP_SELFTEST_BASE + test (safety.h).
#ifndef AQ_SELFTEST_H
#define AQ_SELFTEST_H
#include <stdint.h>

enum SelfTest { TEST_NONE = 0, TEST_FLASH = 1, TEST_RAM = 2, TEST_WATCHDOG = 3, TEST_STACK = 4, TEST_ADC = 5, TEST_CLOCK = 6 };

// MCUSR as the firmware reports it: the cause of the reset before the watchdog check's own.
uint8_t selftest_reset_cause(void);
// Results of the early RAM and watchdog tests, then the flash CRC; first failure or TEST_NONE.
// Also lays the stack canary.
uint8_t selftest_boot(void);
// Watchdog on, interrupt-and-reset mode, period AQ_WDT_TICK_MS. Replaces wdt_enable().
void selftest_watchdog_start(void);
// The main loop checks in (replaces wdt_reset()): the next watchdog interrupt re-arms.
void selftest_loop_alive(void);
// Cheap unless a check is due (canary every 100 ms, ADC every 1 s); first failure or TEST_NONE.
uint8_t selftest_periodic(uint32_t now);
// Short name for notes ("flash", "ram", ...).
const char *selftest_name(uint8_t test);

#endif
