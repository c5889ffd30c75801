/**
 * The board's own self-tests (IEC 60730-1 Annex H, class B), by the names our firmware gives them
 * (hardware/firmware/PROTOCOL.md §3, "Self-tests"): the one vocabulary of the simulator's
 * `selfTestFail` step, of the boards that stage it and of the `selfTestFailed` reports they send.
 *
 * `when` says when the firmware runs the test: a start-up test (flash CRC, RAM march, watchdog
 * reset) only while the chip boots, a periodic one (stack canary, ADC references, tick against the
 * watchdog oscillator) all the time. `detectMs` is how long after its check breaks the firmware
 * typically reports a periodic test failed: the check's period, or two of them where it wants two
 * bad checks in a row (the emulated chip takes 0-100 ms for the canary, 1-2 s for the ADC, and two
 * bad watchdog periods, about 0.5 s with its oscillator at half speed, for the clock).
 *
 * An optional capability of a board, as link-faults.ts is: the simulator asks a board for its
 * stage and refuses a scenario that needs a self-test the board cannot make fail (a step is
 * never silently skipped).
 */
import type { Board } from './board.js';

export const SELF_TESTS = {
  flash: { when: 'start-up', checks: 'CRC of the program flash' },
  ram: { when: 'start-up', checks: 'March C- test of the RAM' },
  watchdog: { when: 'start-up', checks: 'the watchdog can reset the chip' },
  stack: { when: 'periodic', checks: 'stack canary above the static data', detectMs: 50 },
  adc: { when: 'periodic', checks: 'ADC against its bandgap and ground references', detectMs: 1_500 },
  clock: { when: 'periodic', checks: 'tick against the watchdog oscillator', detectMs: 500 },
} as const satisfies Record<string, { when: 'start-up' | 'periodic'; checks: string; detectMs?: number }>;

export type SelfTestName = keyof typeof SELF_TESTS;

/** Every name, in the firmware's order (trip reasons 4-9). */
export const SELF_TEST_NAMES = Object.keys(SELF_TESTS) as SelfTestName[];

/** The tests a running board repeats, so a scenario can make them fail mid-run. */
export const PERIODIC_SELF_TESTS: readonly SelfTestName[] = SELF_TEST_NAMES.filter((n) => SELF_TESTS[n].when === 'periodic');

export function isSelfTestName(name: unknown): name is SelfTestName {
  return typeof name === 'string' && Object.hasOwn(SELF_TESTS, name);
}

/** Typical report delay after a periodic check breaks (0 for a start-up test). */
export function selfTestDetectMs(test: SelfTestName): number {
  const t: { readonly when: string; readonly detectMs?: number } = SELF_TESTS[test];
  return t.detectMs ?? 0;
}

export interface SelfTestStage {
  /** The self-tests this board can make fail now (what it runs while running, and can break). */
  readonly stageableSelfTests: readonly SelfTestName[];
  /**
   * Breaks what `test` checks, so the board's own self-test fails: it closes the valve, holds it
   * closed and reports `selfTestFailed` with this name. A test not in `stageableSelfTests` throws.
   */
  failSelfTest(test: SelfTestName): void;
}

/** The board's self-test stage, or null when it has none. */
export function selfTestStage(board: Board): SelfTestStage | null {
  const b = board as Partial<SelfTestStage>;
  return Array.isArray(b.stageableSelfTests) && typeof b.failSelfTest === 'function' ? (b as SelfTestStage) : null;
}

/** Why a board cannot stage `test`, as the end of a one-line error. */
export function cannotStageReason(test: SelfTestName, stageable: readonly SelfTestName[]): string {
  const can = stageable.length > 0 ? `it can fail ${stageable.join(', ')}` : 'it cannot fail any';
  return SELF_TESTS[test].when === 'start-up'
    ? `"${test}" is a start-up self-test, which a running board does not repeat; ${can}`
    : `${can}`;
}
