// firmata.h: a small Firmata 2.5 implementation (parser, pin table, reporting), written from the
// protocol description. Pins the safety module owns (valve, pump) are passed to it as requests;
// everything else is a general-purpose pin. Extension sysex ids 0x01-0x0F go to
// aq_on_extension(), which the sketch implements.
#ifndef AQ_FIRMATA_H
#define AQ_FIRMATA_H
#include <stdint.h>

// Pin table to defaults; does not write anything to the serial line.
void firmata_begin(void);
// Feed one received byte. Never blocks except to send replies; any byte sequence is safe.
void firmata_feed(uint8_t b);
// Digital change reports and analog sampling; call every loop.
void firmata_poll(uint32_t now);
// Drives the status LED pin: the firmware's blink when `owned`, else the host's value.
void firmata_led(uint8_t owned, uint8_t level);

void firmata_send_version(void);
void firmata_send_firmware(void);
void firmata_send_sysex(uint8_t id, const uint8_t *data, uint8_t len);
void firmata_send_string(const char *text);

// Implemented by the sketch: a safety extension frame arrived (data excludes id and F7).
void aq_on_extension(uint8_t id, const uint8_t *data, uint8_t len);

#endif
