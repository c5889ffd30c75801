/**
 * Compaction of the monitor's event log: the same live state in fewer lines.
 *
 * What it drops (everything it supersedes):
 * - counter snapshots but the last one per device (each one overwrites the previous on replay;
 *   they are the bulk of the log: one per event and per snapshot period while heartbeats come);
 * - with a retention: every line older than `now - retentionMs`. What those lines left behind
 *   is kept as one "baseline" per device at the cut-off (status, fault, alert and flapping
 *   state, restart and fault totals, last heard) and a "start" at the cut-off if a run was
 *   going then; so figures over windows inside the retention replay exactly as before;
 * - everything about a device before its "forget" (and the forget itself);
 * - "cap" entries but the last.
 * Events inside the retention (start, stop, status, fault, restart, alert, flap) are kept, in order.
 *
 * One subtlety keeps replay figures identical: a run that crashed (a "start" with no "stop")
 * ends at its last line, which may be a counter snapshot that compaction drops. So every
 * crashed run gets an explicit "stop" at the time of its last line first; replay already
 * treats a stop and a crash the same way. The run still going (`liveRun`) is left open.
 */
import { emptyReplay, replayInto } from './replay.js';
import type { LogEntry } from './types.js';

export interface CompactOptions {
  /** True when the last "start" is the run now writing the log: it must not be closed. */
  readonly liveRun: boolean;
  /** With `retentionMs`: lines older than now - retentionMs are folded into baselines. */
  readonly now?: number;
  readonly retentionMs?: number;
}

export interface Compaction {
  readonly entries: LogEntry[];
  /** True when the rewrite saves something (fewer lines, or history past the retention folded). */
  readonly worthIt: boolean;
}

/** Returns the compacted entries; replaying them gives the same devices, figures and history (inside the retention). */
export function compactEntries(entries: readonly LogEntry[], options: CompactOptions): LogEntry[] {
  return compactLog(entries, options).entries;
}

export function compactLog(entries: readonly LogEntry[], options: CompactOptions): Compaction {
  const closed = closeCrashedRuns(entries, options.liveRun);
  const cutoff = options.now !== undefined && options.retentionMs !== undefined ? options.now - options.retentionMs : -Infinity;
  let split = closed.findIndex((e) => e.t >= cutoff);
  if (split < 0) split = closed.length;
  const head = closed.slice(0, split);
  // Baselines and counters in the head are state, not history past the retention.
  const expired = head.some((e) => e.type !== 'counters' && e.type !== 'baseline');
  const block: LogEntry[] = [];
  if (head.length > 0) {
    const state = replayInto(emptyReplay(), head);
    if (state.open) block.push({ type: 'start', t: cutoff });
    if (state.capReached) block.push({ type: 'cap', t: cutoff, event: 'reached' });
    for (const d of state.devices.values()) {
      block.push(d.baseline(cutoff));
      const c = state.lastCounters.get(d.id);
      if (c) block.push(c);
    }
  }
  const seq = [...block, ...closed.slice(split)];
  const keep = new Array<boolean>(seq.length).fill(true);
  const forgotten = new Set<string>();
  const counted = new Set<string>();
  let capSeen = false;
  for (let i = seq.length - 1; i >= 0; i--) {
    const e = seq[i]!;
    if (e.type === 'forget') {
      forgotten.add(e.id);
      keep[i] = false;
    } else if ('id' in e && forgotten.has(e.id)) {
      keep[i] = false;
    } else if (e.type === 'counters') {
      keep[i] = !counted.has(e.id);
      counted.add(e.id);
    } else if (e.type === 'cap') {
      keep[i] = !capSeen;
      capSeen = true;
    }
  }
  const out = seq.filter((_, i) => keep[i]);
  return { entries: out, worthIt: expired || out.length < entries.length };
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
