// safety.h: the board's own interlock. It owns the valve and drain-pump pins and decides what
// they do; the host only *requests*. Rules (PROTOCOL.md section 3):
//  - valve pin HIGH only while requested && armed && !latched && !float wire fault;
//  - float not dry for AQ_WET_DEBOUNCE_MS without a dry sample => latched (EEPROM first), with
//    the wire-fault reason if any sample of that run read open;
//  - hose-fuse contact open (the hose's safety valve blew, or its wire broke) for
//    AQ_HOSE_DEBOUNCE_MS => latched with TRIP_HOSE (EEPROM first);
//  - armed and no keepalive for AQ_LINK_TIMEOUT_MS => disarmed, link lost, request dropped;
//  - only clear_latch while dry and the hose-fuse contact closed clears the latch.
#ifndef AQ_SAFETY_H
#define AQ_SAFETY_H
#include <stdint.h>

enum FloatState { FLOAT_DRY = 0, FLOAT_WET = 1, FLOAT_OPEN = 2 };
// TRIP_SELFTEST_BASE + a SelfTest (selftest.h): 4 flash, 5 ram, 6 watchdog, 7 stack, 8 adc, 9 clock.
// TRIP_HOSE: the hose's safety valve blew (10).
enum TripReason {
  TRIP_NONE = 0, TRIP_WET = 1, TRIP_WIRE = 2, TRIP_EEPROM = 3, TRIP_SELFTEST_BASE = 3, TRIP_SELFTEST_LAST = 9,
  TRIP_HOSE = 10, TRIP_MAX = 10
};
enum Result { RESULT_OK = 0, RESULT_WET = 1, RESULT_WIRE = 2, RESULT_BAD_KEY = 3, RESULT_SELFTEST = 4, RESULT_HOSE = 5 };

// Status flag bits (STATUS byte 0).
#define ST_VALVE 0x01
#define ST_PUMP 0x02
#define ST_LATCHED 0x04
#define ST_LINK_LOST 0x08
#define ST_ARMED 0x10
#define ST_VALVE_REQ 0x20
#define ST_PUMP_FORCED 0x40
// Input flag bits (STATUS byte 15).
#define IN_HOSE_BLOWN 0x01

// Pins safe, flow counter on, latch loaded from EEPROM. resetCause = MCUSR at boot.
void safety_begin(uint8_t resetCause, uint32_t now);
// Samples the float and level every AQ_FLOAT_SAMPLE_MS, runs the timers, drives the outputs.
void safety_tick(uint32_t now);

void safety_request_valve(uint8_t open);
void safety_request_pump(uint8_t on);
void safety_keepalive(uint32_t now);
void safety_arm(uint32_t now);
// RESULT_OK, or why not (RESULT_WET / RESULT_WIRE; RESULT_HOSE: the hose-fuse contact reads
// open; RESULT_SELFTEST: a self-test latch is service-only, never cleared from the host).
uint8_t safety_clear_latch(uint32_t now);
// A self-test failed: valve closed, latched with reason TRIP_SELFTEST_BASE + test.
void safety_selftest_failed(uint8_t test);
// SYSTEM_RESET from the host: drop both requests (the valve closes). Latch and arm unchanged.
void safety_host_reset(void);

// Fills the AQ_STATUS_BYTES data bytes of a STATUS report (seq left 0 for the caller).
void safety_status(uint8_t *out, uint32_t now);
// Fills only STATUS bytes 0-2 (flags, float, trip reason): what the loop watches for changes,
// without the 32-bit shifts and the division the full report costs on every pass.
void safety_summary(uint8_t *out);
// STATUS byte 15: the input flags (IN_HOSE_BLOWN), also watched for changes.
uint8_t safety_inputs(void);
// True while the firmware blinks the status LED itself; *level is the LED level to drive.
uint8_t safety_led(uint32_t now, uint8_t *level);

#endif
