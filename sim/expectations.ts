/**
 * Checks a scenario's expectations against a run's event log and final state.
 */
import type { DeviceStatus } from '../src/board/runtime-types.js';
import type { LogEntry } from './engine.js';
import type { Expectation } from './scenario.js';

export interface ExpectationResult {
  readonly expect: string;
  readonly passed: boolean;
  readonly actual: string;
}

export interface FinalState {
  readonly status: DeviceStatus | null;
  readonly programCompleted: boolean;
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function describeExpectation(e: Expectation): string {
  if ('fault' in e) {
    const codes = Array.isArray(e.fault) ? e.fault.join(' or ') : e.fault;
    if (!e.raised) return `fault ${codes} never raised`;
    const after = e.after !== undefined ? ` after ${fmt(e.after)}` : '';
    return `fault ${codes} raised${after}${e.within !== undefined ? ` within ${fmt(e.within)}` : ''}`;
  }
  if ('noFault' in e) return 'no fault raised';
  if ('valve' in e) return `valve ${e.valve} at end`;
  if ('pump' in e) return `drain pump ${e.pump} at end`;
  if ('breaker' in e) return `breaker ${e.breaker} at end`;
  if ('valveStaysClosedAfter' in e) return `valve stays closed after ${e.valveStaysClosedAfter}`;
  if ('command' in e) return `${e.command} ${e.result}${e.because ? ` because "${e.because}"` : ''}`;
  return e.programCompleted ? 'program completed' : 'program not completed';
}

export function evaluate(expectations: readonly Expectation[], log: readonly LogEntry[], final: FinalState): ExpectationResult[] {
  const raised = log.filter((e) => e.type === 'fault' && e.event === 'raised');
  return expectations.map((e) => {
    const expect = describeExpectation(e);
    if ('fault' in e) {
      const codes: string[] = Array.isArray(e.fault) ? e.fault : [e.fault];
      const hit = raised.find((r) => codes.includes(r.code as string) && (e.after === undefined || r.t >= e.after));
      if (!e.raised) return { expect, passed: !hit, actual: hit ? `raised at ${fmt(hit.t)}` : 'never raised' };
      const inTime = hit !== undefined && (e.within === undefined || hit.t <= e.within);
      return { expect, passed: inTime, actual: hit ? `${String(hit.code)} raised at ${fmt(hit.t)}` : 'not raised' };
    }
    if ('noFault' in e) {
      return { expect, passed: raised.length === 0, actual: raised.length ? `raised ${raised.map((r) => r.code).join(', ')}` : 'none' };
    }
    if ('valve' in e) {
      const actual = final.status?.valve ?? 'closed';
      return { expect, passed: actual === e.valve, actual };
    }
    if ('pump' in e) {
      const actual = final.status?.drainPump ?? 'off';
      return { expect, passed: actual === e.pump, actual };
    }
    if ('breaker' in e) {
      const actual = final.status?.breaker ?? 'no power';
      return { expect, passed: actual === e.breaker, actual };
    }
    if ('valveStaysClosedAfter' in e) {
      const first = raised.find((r) => r.code === e.valveStaysClosedAfter);
      if (!first) return { expect, passed: false, actual: `${e.valveStaysClosedAfter} never raised` };
      const opened = log.find((l) => l.t >= first.t && l.type === 'valve' && l.state === 'open' && log.indexOf(l) > log.indexOf(first));
      return { expect, passed: !opened, actual: opened ? `valve opened at ${fmt(opened.t)}` : 'stayed closed' };
    }
    if ('command' in e) {
      const want = e.result === 'accepted';
      // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a command record's error is a string or absent
      const hit = log.find((l) => l.type === 'command' && l.command === e.command && l.ok === want && (e.because === undefined || String(l.error ?? '').includes(e.because)));
      return { expect, passed: Boolean(hit), actual: hit ? `at ${fmt(hit.t)}` : `no ${e.command} ${e.result}` };
    }
    return { expect, passed: final.programCompleted === e.programCompleted, actual: final.programCompleted ? 'completed' : 'not completed' };
  });
}
