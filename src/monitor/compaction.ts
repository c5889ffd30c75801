/**
 * Compaction of the monitor's event log: the same history in fewer lines.
 *
 * Counter snapshots are the bulk of the log (one per device and snapshot period while it sends
 * heartbeats) and each one overwrites the previous one of its device on replay, so only the
 * last one per device carries information. Everything else (start, stop, status, fault,
 * restart, alert) is kept, in order.
 *
 * One subtlety keeps replay figures identical: a run that crashed (a "start" with no "stop")
 * ends at its last line, which may be a counter snapshot that compaction drops. So every
 * crashed run gets an explicit "stop" at the time of its last line first; replay already
 * treats a stop and a crash the same way. The run still going (`liveRun`) is left open.
 */
import type { LogEntry } from './types.js';

export interface CompactOptions {
  /** True when the last "start" is the run now writing the log: it must not be closed. */
  readonly liveRun: boolean;
}

/** Returns the compacted entries; replaying them gives the same devices, figures and history. */
export function compactEntries(entries: readonly LogEntry[], options: CompactOptions): LogEntry[] {
  const closed = closeCrashedRuns(entries, options.liveRun);
  const lastCounters = new Map<string, number>();
  closed.forEach((e, i) => {
    if (e.type === 'counters') lastCounters.set(e.id, i);
  });
  return closed.filter((e, i) => e.type !== 'counters' || lastCounters.get(e.id) === i);
}

/** How many entries compaction would drop (0: not worth a rewrite). */
export function compactionSaving(entries: readonly LogEntry[]): number {
  const seen = new Set<string>();
  let superseded = 0;
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!;
    if (e.type !== 'counters') continue;
    if (seen.has(e.id)) superseded++;
    else seen.add(e.id);
  }
  return superseded;
}

function closeCrashedRuns(entries: readonly LogEntry[], liveRun: boolean): LogEntry[] {
  const out: LogEntry[] = [];
  let open = false;
  let lastT: number | null = null;
  for (const e of entries) {
    if (e.type === 'start' && open && lastT !== null) out.push({ type: 'stop', t: lastT });
    if (e.type === 'start') open = true;
    if (e.type === 'stop') open = false;
    out.push(e);
    lastT = lastT === null ? e.t : Math.max(lastT, e.t);
  }
  if (open && !liveRun && lastT !== null) out.push({ type: 'stop', t: lastT });
  return out;
}
