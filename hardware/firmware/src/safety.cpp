#include "safety.h"
#include "config.h"
#include "latch_store.h"
#include <Arduino.h>

static volatile uint32_t flowCount;  // FALLING edges on the flow-meter pin, counted in INT0

static uint8_t latched, tripReason, armed, linkLost, valveReq, pumpReq, resetCause;
static uint8_t floatState = FLOAT_DRY;
static uint8_t wireFault;          // float out of both ranges for AQ_WIRE_FAULT_DEBOUNCE_MS
static uint8_t notDryRunning, openRunning;
static uint8_t openInRun;          // some sample of the current not-dry run read open
static uint8_t hoseBlown;          // hose-fuse contact open for AQ_HOSE_DEBOUNCE_MS
static uint8_t hoseOpenRunning;
static uint32_t notDrySince, openSince, hoseOpenSince, lastKeepalive, lastSample;
static uint16_t floatAdc, levelAdc;

static void on_flow_pulse(void) { flowCount++; }

static uint8_t classify(uint16_t adc) {
  if (adc >= AQ_FLOAT_WET_MIN && adc <= AQ_FLOAT_WET_MAX) return FLOAT_WET;
  if (adc >= AQ_FLOAT_DRY_MIN && adc <= AQ_FLOAT_DRY_MAX) return FLOAT_DRY;
  return FLOAT_OPEN;
}

// The contact is normally closed to GND: LOW = hose intact. Open (the safety valve blew, or the
// wire broke) lets the pull-up win: HIGH. A broken wire reads blown, the safe side.
static uint8_t hose_contact_open(void) { return digitalRead(AQ_PIN_HOSE) == HIGH; }

static uint8_t pump_forced(void) { return latched && floatState != FLOAT_DRY; }

// The only place that writes the valve and pump pins.
static void apply_outputs(void) {
  uint8_t valve = valveReq && armed && !latched && !wireFault;
  uint8_t pump = pumpReq || pump_forced();
  digitalWrite(AQ_PIN_VALVE, valve ? HIGH : LOW);
  digitalWrite(AQ_PIN_PUMP, pump ? HIGH : LOW);
}

static void set_latch(uint8_t reason) {
  valveReq = 0;
  digitalWrite(AQ_PIN_VALVE, LOW);  // close before the (slow) EEPROM write
  latched = 1;
  tripReason = reason;
  latch_save(1, reason);
}

void safety_begin(uint8_t cause, uint32_t now) {
  digitalWrite(AQ_PIN_VALVE, LOW);
  pinMode(AQ_PIN_VALVE, OUTPUT);
  digitalWrite(AQ_PIN_PUMP, LOW);
  pinMode(AQ_PIN_PUMP, OUTPUT);
  digitalWrite(AQ_PIN_LED, LOW);
  pinMode(AQ_PIN_LED, OUTPUT);
  pinMode(AQ_PIN_FLOW, INPUT_PULLUP);
  pinMode(AQ_PIN_HOSE, INPUT_PULLUP);
  attachInterrupt(digitalPinToInterrupt(AQ_PIN_FLOW), on_flow_pulse, FALLING);
  resetCause = cause;
  latch_load(&latched, &tripReason);
  lastSample = now - AQ_FLOAT_SAMPLE_MS;  // sample on the first tick
  apply_outputs();
}

void safety_tick(uint32_t now) {
  if (now - lastSample >= AQ_FLOAT_SAMPLE_MS) {
    lastSample = now;
    floatAdc = analogRead(AQ_PIN_FLOAT);
    levelAdc = analogRead(AQ_PIN_LEVEL);
    floatState = classify(floatAdc);

    if (floatState == FLOAT_DRY) {
      notDryRunning = 0;
    } else if (!notDryRunning) {
      notDryRunning = 1;
      notDrySince = now;
      openInRun = 0;
    }
    if (floatState == FLOAT_OPEN) openInRun = 1;
    if (floatState == FLOAT_OPEN) {
      if (!openRunning) {
        openRunning = 1;
        openSince = now;
      }
    } else {
      openRunning = 0;
    }
    wireFault = openRunning && now - openSince >= AQ_WIRE_FAULT_DEBOUNCE_MS;

    if (hose_contact_open()) {
      if (!hoseOpenRunning) {
        hoseOpenRunning = 1;
        hoseOpenSince = now;
      }
    } else {
      hoseOpenRunning = 0;
    }
    hoseBlown = hoseOpenRunning && now - hoseOpenSince >= AQ_HOSE_DEBOUNCE_MS;
    // A one-shot valve does not come back: hold the inlet closed until a person has replaced the hose.
    if (hoseBlown && !latched) set_latch(TRIP_HOSE);
    if (!latched && notDryRunning && now - notDrySince >= AQ_WET_DEBOUNCE_MS) {
      // A float that flickers between wet and open is a wiring fault, whatever the last sample said.
      set_latch(openInRun ? TRIP_WIRE : TRIP_WET);
    }
  }
  if (armed && now - lastKeepalive >= AQ_LINK_TIMEOUT_MS) {
    armed = 0;
    linkLost = 1;
    valveReq = 0;
  }
  apply_outputs();
}

void safety_request_valve(uint8_t open) {
  // A request made while latched or disarmed is remembered but gated by apply_outputs().
  valveReq = open ? 1 : 0;
  apply_outputs();
}

void safety_request_pump(uint8_t on) {
  pumpReq = on ? 1 : 0;
  apply_outputs();
}

void safety_keepalive(uint32_t now) { lastKeepalive = now; }

void safety_arm(uint32_t now) {
  lastKeepalive = now;
  // A request made while disarmed (at boot, after a link loss) is stale: the host must ask again.
  if (!armed) valveReq = 0;
  armed = 1;
  linkLost = 0;
  apply_outputs();
}

uint8_t safety_clear_latch(uint32_t now) {
  (void)now;
  if (!latched) return RESULT_OK;
  if (tripReason > TRIP_SELFTEST_BASE && tripReason <= TRIP_SELFTEST_LAST) return RESULT_SELFTEST;
  if (hose_contact_open()) return RESULT_HOSE;
  // Judge on a fresh sample, not on one up to 10 ms old.
  floatAdc = analogRead(AQ_PIN_FLOAT);
  floatState = classify(floatAdc);
  if (floatState == FLOAT_WET) return RESULT_WET;
  if (floatState == FLOAT_OPEN) return RESULT_WIRE;
  latched = 0;
  tripReason = TRIP_NONE;
  notDryRunning = 0;
  valveReq = 0;  // requests made while latched are stale: clearing never opens the valve by itself
  latch_save(0, TRIP_NONE);
  apply_outputs();
  return RESULT_OK;
}

void safety_selftest_failed(uint8_t test) { set_latch(TRIP_SELFTEST_BASE + test); }

void safety_host_reset(void) {
  valveReq = 0;
  pumpReq = 0;
  apply_outputs();
}

void safety_summary(uint8_t *out) {
  uint8_t flags = 0;
  if (digitalRead(AQ_PIN_VALVE)) flags |= ST_VALVE;
  if (digitalRead(AQ_PIN_PUMP)) flags |= ST_PUMP;
  if (latched) flags |= ST_LATCHED;
  if (linkLost) flags |= ST_LINK_LOST;
  if (armed) flags |= ST_ARMED;
  if (valveReq) flags |= ST_VALVE_REQ;
  if (pump_forced()) flags |= ST_PUMP_FORCED;
  out[0] = flags;
  out[1] = floatState;
  out[2] = tripReason;
}

uint8_t safety_inputs(void) { return hoseBlown ? IN_HOSE_BLOWN : 0; }

void safety_status(uint8_t *out, uint32_t now) {
  safety_summary(out);

  uint8_t oldSreg = SREG;
  cli();
  uint32_t pulses = flowCount;
  SREG = oldSreg;

  for (uint8_t i = 0; i < 5; i++) out[3 + i] = (uint8_t)(pulses >> (7 * i)) & 0x7F;
  out[8] = levelAdc & 0x7F;
  out[9] = (levelAdc >> 7) & 0x7F;
  out[10] = floatAdc & 0x7F;
  out[11] = (floatAdc >> 7) & 0x7F;
  out[12] = resetCause & 0x0F;
  out[13] = 0;
  uint32_t wetMs = notDryRunning ? now - notDrySince : 0;
  out[14] = wetMs >= 127000UL ? 127 : (uint8_t)(wetMs / 1000);
  out[15] = safety_inputs();
}

// Half-periods of 128 and 512 ms (~4 Hz and ~1 Hz): a bit test, where dividing by 125 or 500
// would run a 32-bit division on every loop pass.
uint8_t safety_led(uint32_t now, uint8_t *level) {
  if (latched) {
    *level = (now >> 7) & 1;
    return 1;
  }
  if (linkLost) {
    *level = (now >> 9) & 1;
    return 1;
  }
  return 0;
}
