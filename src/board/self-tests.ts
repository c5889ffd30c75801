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
 * never silently skipped). A periodic test is staged while the board runs; a start-up test while
 * it has no power, by breaking what the test checks so that the next boot finds it (a flipped
 * flash byte, a stuck RAM cell, a watchdog that cannot reset), so every name can fail somewhere.
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

/**
 * The tests a board runs only while it boots, in the order its boot reports them when several
 * fail (the firmware checks the RAM and the watchdog before the C runtime starts, then the flash).
 */
export const START_UP_SELF_TESTS: readonly SelfTestName[] = ['ram', 'watchdog', 'flash'];

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
  /** The start-up self-tests this board can be made to fail at its boot (staged while it has no power). */
  readonly bootStageableSelfTests: readonly SelfTestName[];
  /**
   * Called on a board that is made but not yet opened (the power is just back): breaks what `test`
   * checks, so the boot fails it: the board comes up with the valve closed, held closed, and
   * reports `selfTestFailed` with this name. A test not in `bootStageableSelfTests` throws.
   */
  failSelfTestAtBoot(test: SelfTestName): void;
}

/** The board's self-test stage, or null when it has none. */
export function selfTestStage(board: Board): SelfTestStage | null {
  const b = board as Partial<SelfTestStage>;
  return Array.isArray(b.stageableSelfTests) && typeof b.failSelfTest === 'function' && Array.isArray(b.bootStageableSelfTests) && typeof b.failSelfTestAtBoot === 'function'
    ? (b as SelfTestStage)
    : null;
}

/**
 * Why a board cannot stage `test` now, as the end of a one-line error: `powered` says whether the
 * step comes while the board runs (periodic tests) or while its power is off (start-up tests, for
 * its next boot).
 */
export function cannotStageReason(test: SelfTestName, powered: boolean, stage: Pick<SelfTestStage, 'stageableSelfTests' | 'bootStageableSelfTests'> | null): string {
  const list = (names: readonly SelfTestName[] | undefined) => (names && names.length > 0 ? names.join(', ') : 'none');
  const can = `it can fail ${list(stage?.stageableSelfTests)} while running and ${list(stage?.bootStageableSelfTests)} at its next boot (staged while the power is off)`;
  const when = SELF_TESTS[test].when;
  if (powered && when === 'start-up') return `"${test}" is a start-up self-test, which a running board does not repeat: put the step between a power cut and its restore; ${can}`;
  if (!powered && when === 'periodic') return `"${test}" is a periodic self-test, which a board without power does not run: put the step where the power is on; ${can}`;
  return can;
}
