// AquastopFirmata: the Uno sketch. Firmata for the host (firmata.cpp), the board's own
// interlock (safety.cpp), the latch in EEPROM (latch_store.cpp), the hardware watchdog and the
// class B self-tests (selftest.cpp, which also holds the early start-up code in .init3).
// Protocol and rules: ../PROTOCOL.md. Pins and timings: ../../pins.json (generated aq_pins.h).
#include <Arduino.h>
#include <avr/sleep.h>
#include "config.h"
#include "firmata.h"
#include "safety.h"
#include "selftest.h"

static uint8_t statusSeq;
static uint8_t lastSent[4] = {0xFF, 0xFF, 0xFF, 0xFF};
static uint32_t lastStatusAt;

static void send_status(uint32_t now) {
  uint8_t s[AQ_STATUS_BYTES];
  safety_status(s, now);
  s[13] = statusSeq;
  statusSeq = (statusSeq + 1) & 0x7F;
  lastSent[0] = s[0];
  lastSent[1] = s[1];
  lastSent[2] = s[2];
  lastSent[3] = s[15];
  lastStatusAt = now;
  firmata_send_sysex(AQ_STATUS, s, AQ_STATUS_BYTES);
}

static void send_result(uint8_t command, uint8_t code) {
  uint8_t r[2] = {command, code};
  firmata_send_sysex(AQ_RESULT, r, 2);
}

void aq_on_extension(uint8_t id, const uint8_t *d, uint8_t n) {
  uint32_t now = millis();
  switch (id) {
    case AQ_KEEPALIVE:
      safety_keepalive(now);
      break;
    case AQ_ARM:
      safety_arm(now);
      send_result(AQ_ARM, RESULT_OK);
      send_status(now);
      break;
    case AQ_CLEAR_LATCH: {
      uint8_t keyOk = n >= 2 && d[0] == AQ_CLEAR_KEY0 && d[1] == AQ_CLEAR_KEY1;
      send_result(AQ_CLEAR_LATCH, keyOk ? safety_clear_latch(now) : (uint8_t)RESULT_BAD_KEY);
      send_status(now);
      break;
    }
    case AQ_STATUS:
      send_status(now);
      break;
    case AQ_SAFETY_VERSION: {
      uint16_t wet = AQ_WET_DEBOUNCE_MS / 100, link = AQ_LINK_TIMEOUT_MS / 100;
      uint8_t v[7] = {AQ_SAFETY_MAJOR, AQ_SAFETY_MINOR, (uint8_t)(wet & 0x7F), (uint8_t)(wet >> 7),
                      (uint8_t)(link & 0x7F), (uint8_t)(link >> 7), (uint8_t)(AQ_STATUS_PERIOD_MS / 10)};
      firmata_send_sysex(AQ_SAFETY_VERSION, v, 7);
      break;
    }
#ifdef AQ_TEST_IMAGE
    // Test images only (buildFirmware({ testImage: true })): the image a board is flashed with
    // has no command that stops it on purpose, so TEST_HANG falls to the default and is ignored.
    case AQ_TEST_HANG:
      if (n >= 2 && d[0] == AQ_HANG_KEY0 && d[1] == AQ_HANG_KEY1) {
        for (;;) {
          // Deliberately hung: the watchdog must reset us.
        }
      }
      break;
#endif
    default:
      break;
  }
}

static void boot_note(uint8_t cause) {
  char text[] = "boot: reset cause ----";
  // One letter per MCUSR flag: P(ower-on) E(xternal) B(rown-out) W(atchdog).
  const char letters[4] = {'P', 'E', 'B', 'W'};
  for (uint8_t i = 0; i < 4; i++)
    if (cause & (1 << i)) text[18 + i] = letters[i];
  firmata_send_string(text);
}

// Idle sleep until the next interrupt: a received byte, a flow pulse, or at the latest timer0's
// overflow (every 1.024 ms, which also keeps millis() and the watchdog feed going). Timers, the
// USART and the ADC run on in idle mode, so nothing the loop does waits longer than that 1 ms;
// the emulator skips the sleeping cycles instead of executing a spinning loop. The check and
// the SLEEP run with interrupts off (the instruction after SEI always executes), so a byte that
// arrives in between wakes us at once instead of waiting for the next tick.
static void idle_until_interrupt(void) {
  set_sleep_mode(SLEEP_MODE_IDLE);
  cli();
  if (Serial.available() == 0) {
    sleep_enable();
    sei();
    sleep_cpu();
    sleep_disable();
  }
  sei();
}

static uint8_t selfTestFailed;

static void self_test_failed(uint8_t test) {
  selfTestFailed = test;
  safety_selftest_failed(test);
  char text[28] = "self-test failed: ";
  const char *name = selftest_name(test);
  for (uint8_t i = 0; name[i] && i < 9; i++) text[18 + i] = name[i];
  firmata_send_string(text);
}

void setup() {
  // The flash CRC alone takes longer than the 16 ms a watchdog reset leaves running: the early
  // disable (selftest.cpp, .init3) is what lets it finish instead of looping.
  uint8_t failed = selftest_boot();
  uint32_t now = millis();
  safety_begin(selftest_reset_cause(), now);
  selftest_watchdog_start();
  Serial.begin(AQ_BAUD);
  firmata_begin();
  firmata_send_version();
  firmata_send_firmware();
  boot_note(selftest_reset_cause());
  if (failed) self_test_failed(failed);
  send_status(now);
}

void loop() {
  selftest_loop_alive();
  // Bounded so a flood of bytes (each may ask for a ~130-byte reply) cannot starve the interlock
  // below or the watchdog: 16 bytes in => at most ~120 ms of replies out.
  // Each byte handled checks in with the watchdog too: a pass of 16 queries that each ask for a
  // long reply can outlast one watchdog period; a parser stuck on one byte cannot.
  for (uint8_t i = 0; i < 16 && Serial.available() > 0; i++) {
    firmata_feed((uint8_t)Serial.read());
    selftest_loop_alive();
  }
  uint32_t now = millis();
  if (!selfTestFailed) {
    uint8_t failed = selftest_periodic(now);
    if (failed) self_test_failed(failed);
  }
  safety_tick(now);
  uint8_t level = 0;
  uint8_t owned = safety_led(now, &level);
  firmata_led(owned, level);
  firmata_poll(now);
  uint8_t s[3];
  safety_summary(s);
  uint8_t changed = s[0] != lastSent[0] || s[1] != lastSent[1] || s[2] != lastSent[2] || safety_inputs() != lastSent[3];
  // Changes go out at once, but at most every 20 ms (a float at a range boundary may flicker).
  if ((changed && now - lastStatusAt >= 20) || now - lastStatusAt >= AQ_STATUS_PERIOD_MS) send_status(now);
  idle_until_interrupt();
}
