/**
 * A controller's runtime events as log records, for a logger that already carries the device id
 * (log.ts `deviceLogger`): a fault carries its event id (`event`) and code; what needs a person
 * (a fault raised, a breaker tripped or latched, a board warning) is `warn`, a runtime error
 * `error`, the valve, pump and program steps `debug`, the rest `info`.
 */
import type { Logger } from 'pino';
import type { RuntimeEvent } from '../../board/runtime-types.js';

export function logRuntimeEvent(log: Logger, e: RuntimeEvent): void {
  switch (e.type) {
    case 'fault': {
      const f = e.fault;
      const fields = { event: f.id, code: f.code, display: f.display, severity: f.severity };
      if (f.event === 'raised') log.warn(fields, `fault ${f.code} "${f.display}" raised: ${f.text}${f.detail ? ` (${f.detail})` : ''}`);
      else log.info(fields, `fault ${f.code} "${f.display}" cleared`);
      return;
    }
    case 'breaker':
      log[e.breaker === 'armed' || e.breaker === 'probing' ? 'info' : 'warn']({ breaker: e.breaker, code: e.code }, `breaker ${e.breaker}${e.code ? ` (${e.code})` : ''}`);
      return;
    case 'board':
      if (e.report.type === 'warning') log.warn({ report: e.report.type }, `board: ${e.report.message}`);
      else if (e.report.type === 'error') log.error({ report: e.report.type }, `board: ${e.report.message}`);
      else log.info({ report: e.report }, `board: ${e.report.type}`);
      return;
    case 'command':
      log.info(
        { command: e.command, ok: e.result.ok, ...(e.result.ok ? {} : { error: e.result.error }) },
        `command ${e.command}: ${e.result.ok ? 'accepted' : `refused: ${e.result.error}`}`,
      );
      return;
    case 'exercise':
      log[e.result === 'failed' ? 'warn' : 'info']({ result: e.result, inflowL: e.inflowL, ...(e.code ? { code: e.code } : {}) }, `proof test ${e.result}`);
      return;
    case 'error':
      log.error(`runtime error, valve closed: ${e.message}`);
      return;
    case 'valve':
      log.debug({ valve: e.open ? 'open' : 'closed' }, `valve ${e.open ? 'open' : 'closed'}`);
      return;
    case 'pump':
      log.debug({ drainPump: e.on ? 'on' : 'off' }, `drain pump ${e.on ? 'on' : 'off'}`);
      return;
    case 'phase':
      log.debug({ done: e.done }, `${e.done} done`);
      return;
    case 'status':
      log.debug({ status: e.status }, `state ${e.status.state}`);
      return;
  }
}
