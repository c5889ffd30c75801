#include "firmata.h"
#include "config.h"
#include "safety.h"
#include <Arduino.h>

// Pin table: mode and the value the host last wrote (OUTPUT 0/1, PWM duty).
static uint8_t pinMode_[AQ_TOTAL_PINS];
static uint8_t pinValue[AQ_TOTAL_PINS];
static uint8_t reportAnalog;      // bit per channel
static uint8_t reportDigital;     // bit per port (0-2)
static uint8_t lastPort[3];
static uint16_t samplingMs = 19;
static uint32_t lastSampleAt;
static uint8_t ledOwned;

// Parser state.
static uint8_t cmd, need, got, args[2];
static uint8_t inSysex, sysexOverflow, sysexLen;
static uint8_t sysex[AQ_MAX_SYSEX];

// ---- capabilities ----------------------------------------------------------------------

#define CAP_IN 0x01
#define CAP_OUT 0x02
#define CAP_ANALOG 0x04
#define CAP_PWM 0x08
#define CAP_PULLUP 0x10

static uint8_t is_pwm_pin(uint8_t pin) {
  return pin == 3 || pin == 5 || pin == 6 || pin == 9 || pin == 10 || pin == 11;
}

static uint8_t caps(uint8_t pin) {
  if (pin <= 1 || pin >= AQ_TOTAL_PINS) return 0;  // D0/D1 carry the serial line
  if (pin == AQ_PIN_FLOW || pin == AQ_PIN_HOSE) return CAP_IN | CAP_PULLUP;
  if (pin == AQ_PIN_VALVE || pin == AQ_PIN_PUMP || pin == AQ_PIN_LED) return CAP_OUT;
  if (pin == AQ_PIN_FLOAT || pin == AQ_PIN_LEVEL) return CAP_ANALOG;
  uint8_t c = CAP_IN | CAP_OUT | CAP_PULLUP;
  if (pin >= 14) c |= CAP_ANALOG;
  if (is_pwm_pin(pin)) c |= CAP_PWM;
  return c;
}

static uint8_t cap_of_mode(uint8_t mode) {
  switch (mode) {
    case FM_MODE_INPUT: return CAP_IN;
    case FM_MODE_OUTPUT: return CAP_OUT;
    case FM_MODE_ANALOG: return CAP_ANALOG;
    case FM_MODE_PWM: return CAP_PWM;
    case FM_MODE_PULLUP: return CAP_PULLUP;
    default: return 0;
  }
}

// ---- sending -----------------------------------------------------------------------------

static void send3(uint8_t a, uint8_t b, uint8_t c) {
  Serial.write(a);
  Serial.write(b);
  Serial.write(c);
}

void firmata_send_version(void) { send3(FM_REPORT_VERSION, AQ_PROTOCOL_MAJOR, AQ_PROTOCOL_MINOR); }

void firmata_send_sysex(uint8_t id, const uint8_t *data, uint8_t len) {
  Serial.write(FM_START_SYSEX);
  Serial.write(id);
  for (uint8_t i = 0; i < len; i++) Serial.write(data[i] & 0x7F);
  Serial.write(FM_END_SYSEX);
}

static void send_text_body(const char *text) {
  for (; *text; text++) {
    Serial.write((uint8_t)*text & 0x7F);
    Serial.write(((uint8_t)*text >> 7) & 0x7F);
  }
}

void firmata_send_firmware(void) {
  Serial.write(FM_START_SYSEX);
  Serial.write(FM_REPORT_FIRMWARE);
  Serial.write(AQ_FIRMWARE_MAJOR);
  Serial.write(AQ_FIRMWARE_MINOR);
  send_text_body(AQ_FIRMWARE_NAME);
  Serial.write(FM_END_SYSEX);
}

void firmata_send_string(const char *text) {
  Serial.write(FM_START_SYSEX);
  Serial.write(FM_STRING_DATA);
  send_text_body(text);
  Serial.write(FM_END_SYSEX);
}

static void send_capabilities(void) {
  Serial.write(FM_START_SYSEX);
  Serial.write(FM_CAPABILITY_RESPONSE);
  for (uint8_t pin = 0; pin < AQ_TOTAL_PINS; pin++) {
    uint8_t c = caps(pin);
    if (c & CAP_IN) { Serial.write(FM_MODE_INPUT); Serial.write(1); }
    if (c & CAP_OUT) { Serial.write(FM_MODE_OUTPUT); Serial.write(1); }
    if (c & CAP_ANALOG) { Serial.write(FM_MODE_ANALOG); Serial.write(10); }
    if (c & CAP_PWM) { Serial.write(FM_MODE_PWM); Serial.write(8); }
    if (c & CAP_PULLUP) { Serial.write(FM_MODE_PULLUP); Serial.write(1); }
    Serial.write(0x7F);
  }
  Serial.write(FM_END_SYSEX);
}

static void send_analog_mapping(void) {
  Serial.write(FM_START_SYSEX);
  Serial.write(FM_ANALOG_MAPPING_RESPONSE);
  for (uint8_t pin = 0; pin < AQ_TOTAL_PINS; pin++) Serial.write(pin >= 14 ? pin - 14 : 0x7F);
  Serial.write(FM_END_SYSEX);
}

static void send_pin_state(uint8_t pin) {
  if (pin >= AQ_TOTAL_PINS) return;
  uint8_t mode = pinMode_[pin];
  Serial.write(FM_START_SYSEX);
  Serial.write(FM_PIN_STATE_RESPONSE);
  Serial.write(pin);
  Serial.write(mode);
  if (mode == FM_MODE_PWM) {
    Serial.write(pinValue[pin] & 0x7F);
    Serial.write(pinValue[pin] >> 7);
  } else {
    Serial.write(mode == FM_MODE_PULLUP ? 1 : pinValue[pin] & 0x7F);
  }
  Serial.write(FM_END_SYSEX);
}

// ---- pins --------------------------------------------------------------------------------

// Timers 1 and 2 only make PWM on pins 9/10 and 3/11 (millis() runs on timer 0), yet Arduino's
// init() starts them. They stay stopped until the host puts one of those pins in PWM mode: an
// idle firmware then sleeps through whole milliseconds, and an emulator has one timer to
// advance instead of three.
static void pwm_timers_off(void) {
  TCCR1B &= ~(_BV(CS12) | _BV(CS11) | _BV(CS10));
  TCCR2B &= ~(_BV(CS22) | _BV(CS21) | _BV(CS20));
}

static void pwm_timer_on(uint8_t pin) {
  if (pin == 9 || pin == 10) TCCR1B |= _BV(CS11) | _BV(CS10);  // clk/64, as init() sets it
  else if (pin == 3 || pin == 11) TCCR2B |= _BV(CS22);         // clk/64
}

static uint8_t read_port(uint8_t port) {
  uint8_t value = 0;
  for (uint8_t bit = 0; bit < 8; bit++) {
    uint8_t pin = port * 8 + bit;
    if (pin >= AQ_TOTAL_PINS) break;
    uint8_t m = pinMode_[pin];
    if ((m == FM_MODE_INPUT || m == FM_MODE_PULLUP) && caps(pin) && digitalRead(pin)) value |= 1 << bit;
  }
  return value;
}

static void send_port(uint8_t port) {
  uint8_t v = read_port(port);
  lastPort[port] = v;
  send3(FM_DIGITAL_MESSAGE | port, v & 0x7F, v >> 7);
}

static void write_pin(uint8_t pin, uint8_t value) {
  pinValue[pin] = value ? 1 : 0;
  if (pin == AQ_PIN_VALVE) safety_request_valve(value);
  else if (pin == AQ_PIN_PUMP) safety_request_pump(value);
  else if (pin == AQ_PIN_LED && ledOwned) return;  // remembered, shown when the firmware lets go
  else digitalWrite(pin, value ? HIGH : LOW);
}

static void set_pin_mode(uint8_t pin, uint8_t mode) {
  if (pin >= AQ_TOTAL_PINS || !(caps(pin) & cap_of_mode(mode))) return;
  // Safety-owned and sensor pins keep their hardware setup; only the recorded mode changes.
  if (pin == AQ_PIN_FLOW || pin == AQ_PIN_HOSE || pin == AQ_PIN_VALVE || pin == AQ_PIN_PUMP || pin == AQ_PIN_LED ||
      pin == AQ_PIN_FLOAT || pin == AQ_PIN_LEVEL) {
    pinMode_[pin] = mode;
    return;
  }
  digitalWrite(pin, LOW);  // also stops PWM and drops the pull-up
  pinValue[pin] = 0;
  pinMode_[pin] = mode;
  switch (mode) {
    case FM_MODE_INPUT: pinMode(pin, INPUT); break;
    case FM_MODE_PULLUP: pinMode(pin, INPUT_PULLUP); break;
    case FM_MODE_OUTPUT: pinMode(pin, OUTPUT); break;
    case FM_MODE_PWM: pwm_timer_on(pin); pinMode(pin, OUTPUT); analogWrite(pin, 0); break;
    case FM_MODE_ANALOG: pinMode(pin, INPUT); break;
  }
}

static void system_reset(void) {
  reportAnalog = 0;
  reportDigital = 0;
  samplingMs = 19;
  for (uint8_t pin = 0; pin < AQ_TOTAL_PINS; pin++) {
    uint8_t c = caps(pin);
    pinValue[pin] = 0;
    if (!c) continue;
    if (pin == AQ_PIN_FLOW || pin == AQ_PIN_HOSE) pinMode_[pin] = FM_MODE_PULLUP;
    else if (c == CAP_OUT) pinMode_[pin] = FM_MODE_OUTPUT;
    else if (c == CAP_ANALOG) pinMode_[pin] = FM_MODE_ANALOG;
    else set_pin_mode(pin, FM_MODE_INPUT);
  }
  safety_host_reset();
  if (!ledOwned) digitalWrite(AQ_PIN_LED, LOW);
}

void firmata_begin(void) {
  pwm_timers_off();
  cmd = 0;
  inSysex = 0;
  system_reset();
}

// ---- receiving ---------------------------------------------------------------------------

static void handle_sysex(uint8_t id, const uint8_t *d, uint8_t n) {
  switch (id) {
    case FM_REPORT_FIRMWARE: firmata_send_firmware(); break;
    case FM_CAPABILITY_QUERY: send_capabilities(); break;
    case FM_ANALOG_MAPPING_QUERY: send_analog_mapping(); break;
    case FM_PIN_STATE_QUERY:
      if (n >= 1) send_pin_state(d[0]);
      break;
    case FM_SAMPLING_INTERVAL:
      if (n >= 2) {
        uint16_t ms = d[0] | ((uint16_t)d[1] << 7);
        samplingMs = ms < 10 ? 10 : ms > 10000 ? 10000 : ms;
      }
      break;
    default:
      if (id >= 0x01 && id <= 0x0F) aq_on_extension(id, d, n);
      break;  // STRING_DATA from the host and unknown ids: ignored
  }
}

static void handle_command(uint8_t c, const uint8_t *a) {
  uint8_t low = c & 0x0F;
  switch (c & 0xF0) {
    case FM_DIGITAL_MESSAGE: {
      uint8_t bits = a[0] | (a[1] << 7);
      for (uint8_t bit = 0; bit < 8; bit++) {
        uint8_t pin = low * 8 + bit;
        if (pin < AQ_TOTAL_PINS && pinMode_[pin] == FM_MODE_OUTPUT && caps(pin)) write_pin(pin, (bits >> bit) & 1);
      }
      break;
    }
    case FM_ANALOG_MESSAGE:
      if (low < AQ_TOTAL_PINS && pinMode_[low] == FM_MODE_PWM) {
        uint16_t v = a[0] | ((uint16_t)a[1] << 7);
        pinValue[low] = v > 255 ? 255 : v;
        analogWrite(low, pinValue[low]);
      }
      break;
    case FM_REPORT_ANALOG:
      if (low < AQ_ANALOG_CHANNELS) {
        if (a[0]) reportAnalog |= 1 << low;
        else reportAnalog &= ~(1 << low);
      }
      break;
    case FM_REPORT_DIGITAL:
      if (low < 3) {
        if (a[0]) {
          reportDigital |= 1 << low;
          send_port(low);
        } else {
          reportDigital &= ~(1 << low);
        }
      }
      break;
    case 0xF0:
      if (c == FM_SET_PIN_MODE) set_pin_mode(a[0], a[1]);
      else if (c == FM_SET_DIGITAL_PIN_VALUE && a[0] < AQ_TOTAL_PINS) {
        uint8_t pin = a[0], m = pinMode_[pin];
        if (m == FM_MODE_OUTPUT && caps(pin)) write_pin(pin, a[1]);
        else if ((m == FM_MODE_INPUT || m == FM_MODE_PULLUP) && pin != AQ_PIN_FLOW && pin != AQ_PIN_HOSE && (caps(pin) & CAP_PULLUP))
          set_pin_mode(pin, a[1] ? FM_MODE_PULLUP : FM_MODE_INPUT);
      }
      break;
  }
}

void firmata_feed(uint8_t b) {
  if (inSysex) {
    if (b == FM_END_SYSEX) {
      inSysex = 0;
      if (!sysexOverflow && sysexLen > 0) handle_sysex(sysex[0], sysex + 1, sysexLen - 1);
      return;
    }
    if (b < 0x80) {
      if (sysexLen < AQ_MAX_SYSEX) sysex[sysexLen++] = b;
      else sysexOverflow = 1;
      return;
    }
    inSysex = 0;  // a command byte inside a sysex: the frame was truncated; drop it
  }
  if (b & 0x80) {
    cmd = 0;
    got = 0;
    uint8_t kind = b < 0xF0 ? (b & 0xF0) : b;
    switch (kind) {
      case FM_DIGITAL_MESSAGE:
      case FM_ANALOG_MESSAGE:
      case FM_SET_PIN_MODE:
      case FM_SET_DIGITAL_PIN_VALUE: cmd = b; need = 2; break;
      case FM_REPORT_ANALOG:
      case FM_REPORT_DIGITAL: cmd = b; need = 1; break;
      case FM_START_SYSEX: inSysex = 1; sysexLen = 0; sysexOverflow = 0; break;
      case FM_REPORT_VERSION: firmata_send_version(); break;
      case FM_SYSTEM_RESET: system_reset(); break;
      default: break;  // unknown command or stray F7: ignored
    }
    return;
  }
  if (!cmd) return;  // data byte without a command
  args[got++] = b;
  if (got == need) {
    uint8_t c = cmd;
    cmd = 0;
    got = 0;
    handle_command(c, args);
  }
}

// ---- polling -----------------------------------------------------------------------------

void firmata_poll(uint32_t now) {
  for (uint8_t port = 0; port < 3; port++) {
    if ((reportDigital & (1 << port)) && read_port(port) != lastPort[port]) send_port(port);
  }
  if (now - lastSampleAt >= samplingMs) {
    lastSampleAt = now;
    for (uint8_t ch = 0; ch < AQ_ANALOG_CHANNELS; ch++) {
      if (!(reportAnalog & (1 << ch))) continue;
      uint16_t v = analogRead(14 + ch);
      send3(FM_ANALOG_MESSAGE | ch, v & 0x7F, (v >> 7) & 0x7F);
    }
  }
}

void firmata_led(uint8_t owned, uint8_t level) {
  static uint8_t shown = 0xFF;
  if (owned) {
    if (level != shown || !ledOwned) digitalWrite(AQ_PIN_LED, level ? HIGH : LOW);
    shown = level;
  } else if (ledOwned) {
    digitalWrite(AQ_PIN_LED, pinValue[AQ_PIN_LED] ? HIGH : LOW);  // hand the LED back to the host
  }
  ledOwned = owned;
}
