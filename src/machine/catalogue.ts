/**
 * The fault catalogue: every code the controller can raise, in one place.
 *
 * Codes and displays follow AEG/Electrolux dishwashers (the display shows ",30" for i30).
 * Timings are not here: they are configuration (see config.ts), validated, with these
 * appliances' defaults. `rule` describes the detection rule in words for people and docs.
 */

/** Severities, most severe first: the order a fleet view lists faulted devices in. */
export const SEVERITIES = ['critical', 'error', 'warning'] as const;
export type Severity = (typeof SEVERITIES)[number];

/**
 * How a fault is cleared.
 * - auto: the breaker trips, cools down, then allows one probe (half-open retry).
 * - manual: the breaker latches; a person must reset it once the cause is gone.
 * - service: the breaker goes to service; no software reset (a repair is needed).
 */
export type ResetPolicy = 'auto' | 'manual' | 'service';

/**
 * What part of the appliance a fault is about, for people who want to hear of a kind of fault
 * rather than of each code (a Home Assistant device trigger per class, src/telemetry/discovery.ts):
 * - fill: water does not come in as it should (i10, i11, iF0);
 * - drain: water does not go out (i20);
 * - leak: water where it must not be, or unaccounted for (i30, iE0);
 * - valve: the inlet valve or hose itself (i13 cycling, iB0 stuck open, iH0 hose valve blown);
 * - sensor: the level sensor cannot be trusted (i41, i42);
 * - board: the controller board, its link or its memory (iC0, i80, i90).
 */
export const FAULT_CLASSES = ['leak', 'valve', 'fill', 'drain', 'sensor', 'board'] as const;
export type FaultClass = (typeof FAULT_CLASSES)[number];

export interface FaultDefinition {
  readonly code: FaultCode;
  /** What the appliance's two-digit display shows. */
  readonly display: string;
  readonly text: string;
  readonly severity: Severity;
  readonly reset: ResetPolicy;
  readonly class: FaultClass;
  /** The detection rule, in words, naming the configuration keys that time it. */
  readonly rule: string;
}

export const FAULT_CODES = ['i10', 'i11', 'i13', 'iF0', 'i20', 'i30', 'i41', 'i42', 'iB0', 'iC0', 'iE0', 'i80', 'iH0', 'i90'] as const;

export type FaultCode = (typeof FAULT_CODES)[number];

const entries: readonly FaultDefinition[] = [
  {
    code: 'i10',
    display: ',10',
    text: 'Cannot take in water: no level rise at all (tap closed?)',
    severity: 'error',
    reset: 'auto',
    class: 'fill',
    rule: 'tub level has not risen by fill.minRiseL within fill.staticTimeoutMs after the valve opens',
  },
  {
    code: 'i11',
    display: ',11',
    text: 'Fill level not reached in time (water arrives too slowly)',
    severity: 'error',
    reset: 'auto',
    class: 'fill',
    rule: 'fill target not reached within fill.dynamicTimeoutMs of valve-open time',
  },
  {
    code: 'i13',
    display: ',13',
    text: 'Inlet valve cycling too often (chattering signal or control loop)',
    severity: 'error',
    reset: 'manual',
    class: 'valve',
    rule: 'the valve would open more than valve.maxOpens times within valve.windowMs; the open is refused and the breaker latches',
  },
  {
    code: 'iF0',
    display: ',F0',
    text: 'Top-up fill failed repeatedly',
    severity: 'error',
    reset: 'manual',
    class: 'fill',
    rule: 'fill.maxFailedTopUps top-up fills in a row did not reach the level within fill.topUpTimeoutMs',
  },
  {
    code: 'i20',
    display: ',20',
    text: 'Cannot drain: tub not empty',
    severity: 'error',
    reset: 'auto',
    class: 'drain',
    rule: 'tub level not below drain.emptyL within drain.timeoutMs of drain-pump time',
  },
  {
    code: 'i30',
    display: ',30',
    text: 'Anti-flood: water in the base pan (Aquastop)',
    severity: 'critical',
    reset: 'manual',
    class: 'leak',
    rule: 'base-pan float wet for leak.wetDebounceMs without a break, or float signal lost; drain pump runs until the pan is dry; reset only after the pan is dry for leak.dryMs',
  },
  {
    code: 'i41',
    display: ',41',
    text: 'Level sensor signal lost (open circuit)',
    severity: 'error',
    reset: 'manual',
    class: 'sensor',
    rule: 'level signal missing for sensors.levelLostMs',
  },
  {
    code: 'i42',
    display: ',42',
    text: 'Level sensor implausible or too noisy',
    severity: 'error',
    reset: 'manual',
    class: 'sensor',
    rule: 'level reading outside the plausible range, or jumping more than sensors.levelMaxJumpL between samples, for sensors.levelImplausibleMs',
  },
  {
    code: 'iB0',
    display: ',B0',
    text: 'Inlet valve stuck open: water flows while the valve is closed',
    severity: 'critical',
    reset: 'manual',
    class: 'valve',
    rule: 'flow-meter pulses for valveLeak.flowMs while the valve is commanded closed',
  },
  {
    code: 'iC0',
    display: ',C0',
    text: 'Board link lost: the board heard nothing from the controller',
    severity: 'error',
    reset: 'auto',
    class: 'board',
    rule: 'the board watchdog closed the valve after link.watchdogMs without a keepalive; clears when the link returns',
  },
  {
    code: 'iE0',
    display: ',E0',
    text: 'Unaccounted water: metered inflow far above the tub level rise',
    severity: 'critical',
    reset: 'manual',
    class: 'leak',
    rule: 'during a fill, metered inflow exceeds the tub rise by more than unaccounted.minLossL and by unaccounted.ratio times the rise',
  },
  {
    code: 'i80',
    display: ',80',
    text: 'Persistent memory fault: trip latch or fault memory unreadable',
    severity: 'critical',
    reset: 'service',
    class: 'board',
    rule: 'at boot, the persisted trip latch or fault memory cannot be read',
  },
  {
    code: 'iH0',
    display: ',H0',
    text: 'Hose safety valve blown: the inlet hose must be replaced',
    severity: 'critical',
    reset: 'service',
    class: 'valve',
    rule: 'the one-shot mechanical hose safety valve reports blown (a fuse: no software reset)',
  },
  {
    code: 'i90',
    display: ',90',
    text: 'Board self-test failed: the controller board cannot be trusted (IEC 60730 class B)',
    severity: 'critical',
    reset: 'service',
    class: 'board',
    rule: 'the board firmware reports a failed self-test (program flash CRC, RAM march, watchdog, stack guard, tick against the watchdog)',
  },
];

export const FAULTS: Readonly<Record<FaultCode, FaultDefinition>> = Object.freeze(
  Object.fromEntries(entries.map((e) => [e.code, Object.freeze(e)])) as Record<FaultCode, FaultDefinition>,
);

export function isFaultCode(value: unknown): value is FaultCode {
  return (FAULT_CODES as readonly unknown[]).includes(value);
}

export function faultDefinition(code: FaultCode): FaultDefinition {
  return FAULTS[code];
}
