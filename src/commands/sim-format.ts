/**
 * The human timeline of `aquastop sim`: one line per event, virtual time first.
 */
type Entry = { readonly t: number; readonly type: string } & Record<string, unknown>;

export function formatTime(ms: number): string {
  const total = Math.floor(ms / 100);
  const tenths = total % 10;
  const s = Math.floor(total / 10);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mmss = `${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}.${tenths}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}

export function formatLogLine(e: Entry): string {
  const at = formatTime(e.t).padStart(10);
  switch (e.type) {
    case 'fault': {
      const what = e.event === 'raised' ? 'FAULT' : 'cleared';
      return `${at}  ${what} ${e.code} "${e.display}"  ${e.text}${e.detail ? ` (${e.detail})` : ''}`;
    }
    case 'state':
      return `${at}  breaker ${e.breaker}  state ${e.state}${e.fault ? `  fault ${e.fault}` : ''}${e.leak ? '  LEAK' : ''}`;
    case 'valve':
      return `${at}  valve ${e.state}`;
    case 'pump':
      return `${at}  drain pump ${e.state}`;
    case 'program':
      return e.event === 'done' ? `${at}  program finished (cycle ${e.cycle})` : `${at}  program: ${e.name}`;
    case 'command':
      return `${at}  ${e.command}: ${e.ok ? 'accepted' : `refused, ${e.error}`}`;
    case 'inject': {
      const { t: _t, type: _type, fault, ...rest } = e;
      const params = Object.entries(rest)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      return `${at}  inject ${fault}${params ? ` (${params})` : ''}`;
    }
    case 'clear':
      return `${at}  clear ${e.fault}`;
    case 'power':
      return `${at}  power ${e.event}${e.boot !== undefined ? ` (boot ${e.boot})` : ''}`;
    case 'dryPan':
      return `${at}  base pan mopped dry`;
    case 'board':
      return `${at}  board: ${e.report}${e.message ? ` ${e.message}` : ''}${e.reason ? ` ${e.reason}` : ''}`;
    case 'error':
      return `${at}  ERROR ${e.message} (valve held closed)`;
    case 'sim':
      return `${at}  simulation ${e.event}`;
    default:
      return `${at}  ${e.type} ${JSON.stringify(e)}`;
  }
}

interface Summary {
  t: number;
  passed: boolean;
  faults: readonly string[];
  valve: string;
  breaker: string;
  drainPump: string;
  programCycles: number;
  expectations: readonly { expect: string; passed: boolean; actual: string }[];
}

function endState(s: Summary): string {
  return `faults raised: ${s.faults.length ? s.faults.join(', ') : 'none'}; breaker ${s.breaker}, valve ${s.valve}, drain pump ${s.drainPump}; programs completed: ${s.programCycles}`;
}

export function formatSummary(s: Summary): string {
  const lines = [
    '',
    `result: ${s.passed ? 'PASSED' : 'FAILED'} (${s.expectations.filter((e) => e.passed).length}/${s.expectations.length} expectations)`,
    `  ${endState(s)}`,
    ...s.expectations.map((e) => `  ${e.passed ? 'ok  ' : 'FAIL'} ${e.expect} (${e.actual})`),
  ];
  return lines.join('\n');
}

/** The end of an interactive run: it has no expectations to pass or fail. */
export function formatStopped(s: Summary): string {
  return `\nstopped after ${formatTime(s.t)} virtual\n  ${endState(s)}`;
}
