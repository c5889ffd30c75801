/**
 * The chaos bench's bookkeeping, kept pure so the counting can be tested on hand-written
 * inputs (test/chaos/tally.test.ts): what the devices said they raised (their own `--json`
 * stdout), what a subscriber on the broker saw, what the monitor recorded, and when each part
 * was cut off. Every time is wall milliseconds (Date.now()) except a stdout line's `t`, which is
 * the device's virtual clock.
 *
 * How a delivered fault event is tied to the line that raised it:
 * - the device's log id is `<b>-<n>` (its runtime's boot in that process, the n-th fault event
 *   of that boot); on the wire the id is `<bootBefore + b>-<n>`, `bootBefore` being the boot count
 *   in the device's telemetry.json when the process was started (telemetry counts a boot each
 *   time the runtime attaches, and restarts its sequence with it);
 * - the wire `ts` is the process's telemetry anchor (its wall time at start) plus the virtual
 *   `t`, so every event of one run gives the same `ts - t`, inside that run's wall span. A run's
 *   anchor is the value most of its received events agree on; that keeps events of two runs apart
 *   even when a lost boot count makes their ids (and codes) collide.
 */

/** One device process, from spawn to exit. */
export interface DeviceRun {
  readonly device: string;
  /** Boot count in `<data-dir>/<id>/telemetry.json` before this process started (0: none). */
  readonly bootBefore: number;
  /** Spawned. */
  readonly startedAt: number;
  /** Its first stdout line (telemetry started, the simulation running); null if none came. */
  readyAt: number | null;
  /** When it was signalled to go (or exited, if first); null while it runs (the tally's `end` stands in). */
  endedAt: number | null;
  /** It was SIGKILLed (chaos), not stopped at the end. */
  killed: boolean;
  /** Parsed `--json` stdout lines, in order. */
  readonly lines: Record<string, unknown>[];
}

/** A fault event a subscriber received. */
export interface WireFault {
  readonly device: string;
  readonly id: string;
  readonly event: string;
  readonly code: string;
  readonly ts: string;
  readonly at: number;
}

/** A heartbeat a subscriber received. */
export interface WireHeartbeat {
  readonly device: string;
  readonly boot: number;
  readonly ts: string;
  readonly at: number;
}

/** A status change the monitor recorded (its history file: `{type:"status", t, id, status, reason}`). */
export interface MonitorStatus {
  readonly device: string;
  readonly status: string;
  readonly reason: string;
  readonly at: number;
}

export interface Interval {
  readonly from: number;
  /** null: not over yet (the tally's `end` stands in). */
  to: number | null;
}

export interface TallyInput {
  /** In the order they started. */
  readonly runs: readonly DeviceRun[];
  readonly faults: readonly WireFault[];
  readonly heartbeats: readonly WireHeartbeat[];
  readonly statuses: readonly MonitorStatus[];
  /** Broker (mosquitto) down. */
  readonly brokerDown: readonly Interval[];
  /** Per device: its network path to the broker cut at the proxy. */
  readonly pathDown: ReadonlyMap<string, readonly Interval[]>;
  /** Virtual seconds per wall second of the devices. */
  readonly speed: number;
  /**
   * A DOWN at T is false when, for all of [T - downWindowMs, T], the device's process was
   * running (since its first stdout line), its path and the broker were up, each for at least
   * `graceMs` already (connect, reconnect).
   */
  readonly downWindowMs: number;
  readonly graceMs: number;
  /** When the tally is taken (open intervals end here). */
  readonly end: number;
}

export interface Example {
  readonly device: string;
  readonly [k: string]: unknown;
}

export interface Tally {
  readonly faultEvents: { readonly raised: number; readonly cleared: number; readonly total: number };
  /** Fault events (raised or cleared) a subscriber received at least once. */
  readonly delivered: number;
  /** Raised (or cleared) on a device's stdout, never received. */
  readonly lost: number;
  /** Extra ids received for an event already received under another id (same device, run, code, event, ts). */
  readonly duplicatesNewId: number;
  /** Received ids that match no line any device printed. */
  readonly unmatched: number;
  /** Receptions of an id already received (QoS 1 may do this; the id lets a consumer drop them). */
  readonly redeliveredSameId: number;
  /** Instants at whose end a device's own lines show the valve open with the pan wet or the breaker neither armed nor probing. */
  readonly unsafeValveStates: number;
  readonly downs: number;
  readonly falseDowns: number;
  readonly downsByReason: Record<string, number>;
  /** Heartbeat lateness (ms) relative to the earliest one of the same device boot, outside cut-offs. */
  readonly heartbeatLagMs: { readonly samples: number; readonly p50: number; readonly p99: number; readonly max: number; readonly perDevice: Record<string, number> };
  readonly examples: { readonly lost: Example[]; readonly unmatched: Example[]; readonly duplicates: Example[]; readonly unsafe: Example[]; readonly falseDowns: Example[] };
}

const EXAMPLES = 10;

function push(list: Example[], e: Example): void {
  if (list.length < EXAMPLES) list.push(e);
}

/** The wire id a stdout fault line should carry, or null when its id is not `<b>-<n>`. */
export function wireId(logId: unknown, bootBefore: number): string | null {
  if (typeof logId !== 'string') return null;
  const m = /^(\d+)-(\d+)$/.exec(logId);
  return m ? `${bootBefore + Number(m[1])}-${m[2]}` : null;
}

function runEnd(run: DeviceRun, end: number): number {
  return run.endedAt ?? end;
}

/** Counts fault events: raised, delivered, lost, duplicates. */
function countFaults(input: TallyInput, examples: Tally['examples']) {
  let raised = 0;
  let cleared = 0;
  // Every line printed, by device and the id it should carry on the wire (ids repeat across runs when a data dir is lost).
  interface Raise {
    readonly device: string;
    readonly run: number;
    readonly wire: string;
    readonly code: unknown;
    readonly event: unknown;
    readonly t: number;
    readonly printedAt: unknown;
    delivered: boolean;
  }
  const raises = new Map<string, Raise[]>();
  input.runs.forEach((run, i) => {
    for (const line of run.lines) {
      if (line['type'] !== 'fault') continue;
      if (line['event'] === 'raised') raised++;
      else cleared++;
      const wire = wireId(line['id'], run.bootBefore) ?? `?${String(line['id'])}`;
      const key = `${run.device}|${wire}`;
      const r: Raise = { device: run.device, run: i, wire, code: line['code'], event: line['event'], t: Number(line['t']), printedAt: line['_at'], delivered: false };
      raises.set(key, [...(raises.get(key) ?? []), r]);
    }
  });

  const seenIds = new Set<string>();
  const byContent = new Map<string, string>();
  const unique: WireFault[] = [];
  let redelivered = 0;
  let duplicates = 0;
  let unmatched = 0;
  for (const f of input.faults) {
    // The same device, id and ts: a re-delivery of one publish.
    const idKey = `${f.device}|${f.id}|${f.ts}`;
    if (seenIds.has(idKey)) {
      redelivered++;
      continue;
    }
    seenIds.add(idKey);
    const content = `${f.device}|${f.event}|${f.code}|${f.ts}`;
    const firstId = byContent.get(content);
    if (firstId !== undefined && firstId !== f.id) {
      duplicates++;
      push(examples.duplicates, { device: f.device, id: f.id, sameAs: firstId, code: f.code, event: f.event, ts: f.ts });
      continue;
    }
    byContent.set(content, f.id);
    unique.push(f);
  }

  // Which run sent each received event. Every event of one run carries the same anchor
  // (ts - t, the wall time its telemetry started); an event of another run whose id, code and
  // event collide gives some other value. So: for each run, the anchor most of the received
  // events agree on (inside the run's life), the run with the most agreeing events first; an
  // event claimed by one run is not offered to another.
  interface Candidate {
    readonly f: WireFault;
    readonly r: Raise;
    readonly anchor: number;
  }
  const candidates: Candidate[] = [];
  for (const f of unique) {
    const ts = Date.parse(f.ts);
    for (const r of raises.get(`${f.device}|${f.id}`) ?? []) {
      const run = input.runs[r.run]!;
      // ts is whole milliseconds of (anchor + t): ceil undoes the truncation of a fractional t.
      const anchor = Math.ceil(ts - r.t - 1e-6);
      if (r.code === f.code && r.event === f.event && anchor >= run.startedAt && anchor <= runEnd(run, input.end)) candidates.push({ f, r, anchor });
    }
  }
  const claimed = new Set<WireFault>();
  const resolved = new Set<number>();
  for (;;) {
    const votes = new Map<string, Candidate[]>();
    for (const c of candidates) {
      if (claimed.has(c.f) || c.r.delivered || resolved.has(c.r.run)) continue;
      const key = `${c.r.run}|${c.anchor}`;
      votes.set(key, [...(votes.get(key) ?? []), c]);
    }
    let best: Candidate[] = [];
    for (const list of votes.values()) if (list.length > best.length) best = list;
    if (best.length === 0) break;
    resolved.add(best[0]!.r.run);
    for (const c of best) {
      if (claimed.has(c.f) || c.r.delivered) continue;
      claimed.add(c.f);
      c.r.delivered = true;
    }
  }
  for (const f of unique) {
    if (claimed.has(f)) continue;
    unmatched++;
    push(examples.unmatched, { device: f.device, id: f.id, code: f.code, event: f.event, ts: f.ts });
  }

  let delivered = 0;
  let lost = 0;
  for (const list of raises.values()) {
    for (const r of list) {
      if (r.delivered) delivered++;
      else {
        lost++;
        const run = input.runs[r.run]!;
        const last = run.lines.findLast((l) => l['type'] === 'fault');
        push(examples.lost, {
          device: r.device,
          id: r.wire,
          code: r.code,
          event: r.event,
          t: r.t,
          printedAt: r.printedAt,
          run: r.run,
          runKilled: run.killed,
          lastFaultOfRun: last !== undefined && wireId(last['id'], run.bootBefore) === r.wire,
        });
      }
    }
  }
  return { raised, cleared, delivered, lost, duplicates, unmatched, redelivered };
}

/** Instants (a device's lines sharing one `t`) whose end shows the valve open while it must be closed. */
function countUnsafe(input: TallyInput, examples: Tally['examples']): number {
  let unsafe = 0;
  for (const run of input.runs) {
    let valve = 'closed';
    let leak = false;
    let breaker = 'booting';
    let state = '';
    let t: number | null = null;
    const check = () => {
      if (t === null || valve !== 'open') return;
      if (leak || (breaker !== 'armed' && breaker !== 'probing')) {
        unsafe++;
        push(examples.unsafe, { device: run.device, t, valve, leak, breaker, state });
      }
    };
    for (const line of run.lines) {
      const lt = typeof line['t'] === 'number' ? line['t'] : null;
      if (lt === null || line['type'] === 'summary') continue;
      if (lt !== t) {
        check();
        t = lt;
      }
      if (line['type'] === 'valve') valve = String(line['state']);
      else if (line['type'] === 'state') {
        leak = line['leak'] === true;
        breaker = String(line['breaker']);
        state = String(line['state']);
      } else if (line['type'] === 'power' && line['event'] !== 'on') {
        // A power cut: the normally-closed valve shuts with it.
        valve = 'closed';
        breaker = 'booting';
      }
    }
    check();
  }
  return unsafe;
}

/**
 * True when [from, to] lies inside one of `ups` shrunk by `grace` at its start. An up interval
 * that ends at `to` itself does not cover it: a DOWN stamped in the very millisecond of a cut
 * (the broker and the monitor can answer within it) belongs to the cut.
 */
function coveredBy(ups: readonly Interval[], from: number, to: number, grace: number, end: number): boolean {
  return ups.some((u) => u.from + grace <= from && (u.to === null ? end >= to : u.to > to));
}

/** The complement of `downs` within [start, end]. */
function upIntervals(downs: readonly Interval[], start: number, end: number): Interval[] {
  const sorted = [...downs].sort((a, b) => a.from - b.from);
  const ups: Interval[] = [];
  let cursor = start;
  for (const d of sorted) {
    if (d.from > cursor) ups.push({ from: cursor, to: d.from });
    cursor = Math.max(cursor, d.to ?? end);
  }
  if (cursor < end) ups.push({ from: cursor, to: end });
  return ups;
}

/** Was the device reachable (process running, path and broker up, each past its grace) for all of [from, to]? */
export function reachable(input: TallyInput, device: string, from: number, to: number): boolean {
  const start = Math.min(...input.runs.map((r) => r.startedAt), from) - input.graceMs - 1;
  const processUp = input.runs.filter((r) => r.device === device && r.readyAt !== null).map((r) => ({ from: r.readyAt!, to: r.endedAt }));
  const pathUp = upIntervals(input.pathDown.get(device) ?? [], start, input.end);
  const brokerUp = upIntervals(input.brokerDown, start, input.end);
  return [processUp, pathUp, brokerUp].every((ups) => coveredBy(ups, from, to, input.graceMs, input.end));
}

function countDowns(input: TallyInput, examples: Tally['examples']) {
  const byReason: Record<string, number> = {};
  let downs = 0;
  let falseDowns = 0;
  for (const s of input.statuses) {
    if (s.status !== 'down') continue;
    downs++;
    const reason = s.reason.replace(/^bridge \S+ offline$/, 'bridge offline');
    byReason[reason] = (byReason[reason] ?? 0) + 1;
    if (reachable(input, s.device, s.at - input.downWindowMs, s.at)) {
      falseDowns++;
      push(examples.falseDowns, { device: s.device, at: new Date(s.at).toISOString(), reason: s.reason });
    }
  }
  return { downs, falseDowns, byReason };
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/**
 * How late heartbeats arrive: within one device boot of one run, a heartbeat's virtual `ts` divided by the
 * speed is when it was due (plus a constant); its lateness is measured from the earliest one.
 * Heartbeats arriving while (or just after) the device was cut off are left out: they measure
 * the outage, not the controller.
 */
function heartbeatLag(input: TallyInput): Tally['heartbeatLagMs'] {
  const groups = new Map<string, { device: string; x: number; at: number }[]>();
  for (const h of input.heartbeats) {
    // The run it came from (boots repeat when a run lost its data dir): the last one started before it arrived.
    const run = input.runs.findLastIndex((r) => r.device === h.device && r.startedAt <= h.at);
    const key = `${h.device}|${run}|${h.boot}`;
    const list = groups.get(key) ?? [];
    list.push({ device: h.device, x: h.at - Date.parse(h.ts) / input.speed, at: h.at });
    groups.set(key, list);
  }
  const all: number[] = [];
  const perDevice: Record<string, number> = {};
  for (const list of groups.values()) {
    const min = Math.min(...list.map((e) => e.x));
    for (const e of list) {
      if (!reachable(input, e.device, e.at - input.graceMs, e.at)) continue;
      const lag = e.x - min;
      all.push(lag);
      perDevice[e.device] = Math.max(perDevice[e.device] ?? 0, Math.round(lag));
    }
  }
  all.sort((a, b) => a - b);
  return { samples: all.length, p50: Math.round(quantile(all, 0.5)), p99: Math.round(quantile(all, 0.99)), max: Math.round(all.at(-1) ?? 0), perDevice };
}

export function tally(input: TallyInput): Tally {
  const examples: Tally['examples'] = { lost: [], unmatched: [], duplicates: [], unsafe: [], falseDowns: [] };
  const f = countFaults(input, examples);
  const unsafe = countUnsafe(input, examples);
  const d = countDowns(input, examples);
  return {
    faultEvents: { raised: f.raised, cleared: f.cleared, total: f.raised + f.cleared },
    delivered: f.delivered,
    lost: f.lost,
    duplicatesNewId: f.duplicates,
    unmatched: f.unmatched,
    redeliveredSameId: f.redelivered,
    unsafeValveStates: unsafe,
    downs: d.downs,
    falseDowns: d.falseDowns,
    downsByReason: d.byReason,
    heartbeatLagMs: heartbeatLag(input),
    examples,
  };
}
