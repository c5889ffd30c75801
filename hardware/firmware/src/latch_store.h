// latch_store.h: the trip latch in EEPROM, so it survives a power cut or a watchdog reset.
// Record at AQ_LATCH_ADDR: A7 <latched> <reason> <A7 ^ latched ^ reason ^ 5A>.
#ifndef AQ_LATCH_STORE_H
#define AQ_LATCH_STORE_H
#include <stdint.h>

#define AQ_LATCH_ADDR 0x10

// Loads the record. Erased EEPROM (all FF) reads as unlatched; any other inconsistent record
// reads as latched with reason TRIP_EEPROM (fail-safe).
void latch_load(uint8_t *latched, uint8_t *reason);
// Writes the record (only the bytes that differ, to spare EEPROM cycles).
void latch_save(uint8_t latched, uint8_t reason);

#endif
