/**
 * Turns the validated pin map (hardware/pins.json) into the C header the firmware includes
 * (aq_pins.h), so firmware and host read pins and timings from one source.
 * Deterministic: same map, same text (no dates, fixed order).
 */
import type { PinMap } from '../pins.js';

/**
 * The watchdog's interrupt period for a given reset time: a hung main loop resets the chip 2-3
 * periods after its last check-in (src/selftest.cpp), so the period is a quarter of watchdogMs.
 */
const WDTO_TICK: Record<number, string> = { 250: 'WDTO_60MS', 500: 'WDTO_120MS', 1000: 'WDTO_250MS', 2000: 'WDTO_500MS' };

export function generatePinsHeader(map: PinMap): string {
  const p = map.pins;
  const s = map.safety;
  const f = map.float;
  const defs: Array<[string, string | number]> = [
    ['AQ_BAUD', `${map.baud}UL`],
    ['AQ_PIN_FLOW', p.flowMeter.pin],
    ['AQ_PIN_HOSE', p.hoseFuse.pin],
    ['AQ_PIN_VALVE', p.valve.pin],
    ['AQ_PIN_PUMP', p.drainPump.pin],
    ['AQ_PIN_LED', p.statusLed.pin],
    ['AQ_PIN_FLOAT', p.float.pin],
    ['AQ_PIN_LEVEL', p.tubLevel.pin],
    ['AQ_FLOAT_WET_MIN', f.wetMin],
    ['AQ_FLOAT_WET_MAX', f.wetMax],
    ['AQ_FLOAT_DRY_MIN', f.dryMin],
    ['AQ_FLOAT_DRY_MAX', f.dryMax],
    ['AQ_WET_DEBOUNCE_MS', `${s.wetDebounceMs}UL`],
    ['AQ_WIRE_FAULT_DEBOUNCE_MS', `${s.wireFaultDebounceMs}UL`],
    ['AQ_HOSE_DEBOUNCE_MS', `${s.hoseFuseDebounceMs}UL`],
    ['AQ_LINK_TIMEOUT_MS', `${s.linkTimeoutMs}UL`],
    ['AQ_STATUS_PERIOD_MS', `${s.statusPeriodMs}UL`],
    ['AQ_WATCHDOG_MS', `${s.watchdogMs}UL`],
    ['AQ_WDTO_TICK', WDTO_TICK[s.watchdogMs] ?? 'WDTO_120MS'],
  ];
  return [
    '// Generated from hardware/pins.json by hardware/firmware/pins-header.ts. Do not edit.',
    '#ifndef AQ_PINS_H',
    '#define AQ_PINS_H',
    ...defs.map(([name, value]) => `#define ${name} ${value}`),
    '#endif',
    '',
  ].join('\n');
}
