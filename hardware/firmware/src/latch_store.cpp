#include "latch_store.h"
#include "safety.h"
#include <avr/eeprom.h>

static const uint8_t MAGIC = 0xA7;

static uint8_t check_of(uint8_t latched, uint8_t reason) { return MAGIC ^ latched ^ reason ^ 0x5A; }

void latch_load(uint8_t *latched, uint8_t *reason) {
  uint8_t *base = (uint8_t *)AQ_LATCH_ADDR;
  uint8_t m = eeprom_read_byte(base), l = eeprom_read_byte(base + 1), r = eeprom_read_byte(base + 2),
          c = eeprom_read_byte(base + 3);
  if (m == 0xFF && l == 0xFF && r == 0xFF && c == 0xFF) {
    *latched = 0;
    *reason = TRIP_NONE;
    latch_save(0, TRIP_NONE);
    return;
  }
  if (m == MAGIC && (l == 0 || l == 1) && r <= TRIP_MAX && c == check_of(l, r)) {
    *latched = l;
    *reason = r;
    return;
  }
  *latched = 1;
  *reason = TRIP_EEPROM;
}

void latch_save(uint8_t latched, uint8_t reason) {
  uint8_t *base = (uint8_t *)AQ_LATCH_ADDR;
  // Invalidate first so a reset mid-write leaves an inconsistent (= latched) record, never a
  // stale "unlatched" one.
  eeprom_update_byte(base, 0x00);
  eeprom_update_byte(base + 1, latched);
  eeprom_update_byte(base + 2, reason);
  eeprom_update_byte(base + 3, check_of(latched, reason));
  eeprom_update_byte(base, MAGIC);
}
