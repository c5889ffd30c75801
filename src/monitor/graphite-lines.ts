/**
 * Graphite plaintext lines, pure: which path each figure of /metrics gets, how an id becomes a
 * path component, the bounded buffer lines wait in, and the `--graphite` URL. The pusher that
 * sends them is graphite.ts; src/monitor/README.md "Graphite" is the operator's side.
 *
 * - {@link formatGraphite}: metric families (prom-client's `getMetricsAsJSON()` shape) in, lines
 *   out, one timestamp for all of them. Paths:
 *   `aquastop_device_<name>{device=D,...}` -> `<prefix>.devices.<D>.<name>[.<label values>]`,
 *   `aquastop_monitor_<name>{...}` -> `<prefix>.monitor.<name>[...]`, any other `aquastop_<name>`
 *   -> `<prefix>.<name>[...]`; label values other than `device` follow in label-name order.
 *   Fleet sums of the per-device figures go under `<prefix>.fleet` ({@link FLEET}).
 *   Non-finite values (NaN, +-Inf) are left out: carbon would store them as numbers.
 * - {@link graphiteComponent}: letters, digits, `_` and `-` stay, every other byte of the UTF-8
 *   form is written `%XX`, so `.`, spaces, `/`, `;`, `*` can neither split a path, nor break a
 *   line, nor make a tag or a glob; and two different ids never share a path.
 * - {@link LineBuffer}: at most `limit` lines; past it the oldest are dropped and counted, so
 *   carbon gets the newest figures when it is back.
 */

export interface MetricSample {
  readonly value: number;
  readonly labels: Readonly<Record<string, string | number | undefined>>;
}

/** One metric of a prom-client registry (`registry.getMetricsAsJSON()`). */
export interface MetricFamily {
  readonly name: string;
  /** 'counter', 'gauge', ... (prom-client declares an enum but gives these strings). */
  readonly type?: unknown;
  readonly values: readonly MetricSample[];
}

export interface CarbonAddress {
  readonly host: string;
  readonly port: number;
}

/** `--graphite-prefix`: dot-separated components of letters, digits, `_` and `-`. */
export const GRAPHITE_PREFIX_PATTERN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** tcp://host:port (an IPv6 host in brackets); null for anything else. */
export function parseGraphiteUrl(text: string): CarbonAddress | null {
  if (!/^tcp:\/\/[^/?#@\s]+:\d+\/?$/i.test(text)) return null;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  const port = Number(url.port);
  if (!url.hostname || !Number.isInteger(port) || port < 1 || port > 65535) return null;
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

const SAFE = /^[A-Za-z0-9_-]+$/;

/** One Graphite path component: [A-Za-z0-9_-] kept, every other UTF-8 byte `%XX`; "" -> "%". */
export function graphiteComponent(text: string): string {
  if (SAFE.test(text)) return text;
  if (text === '') return '%';
  let out = '';
  for (const ch of text) {
    if (/^[A-Za-z0-9_-]$/.test(ch)) out += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The fleet sums pushed under `<prefix>.fleet`: how many devices there are and are up or
 * flapping, every per-device counter and every per-device 0/1 state gauge summed over the devices
 * by its other labels (`fleet.faults_raised_total.<code>`, `fleet.breaker_state.latched`).
 */
export const FLEET = {
  devices: 'devices',
  up: 'devices_up',
  flapping: 'devices_flapping',
} as const;

/** Per-device gauges that are 1 for the current state and 0 for the others: their sums count devices. */
const STATE_GAUGES = new Set(['aquastop_device_status', 'aquastop_device_breaker_state', 'aquastop_device_fault_active']);

const DEVICE = 'aquastop_device_';
const MONITOR = 'aquastop_monitor_';

function labelPath(labels: MetricSample['labels']): string {
  let path = '';
  for (const name of Object.keys(labels).sort()) {
    const v = labels[name];
    if (name === 'device' || v === undefined) continue;
    path += `.${graphiteComponent(String(v))}`;
  }
  return path;
}

/** Plaintext lines (no newline) for every finite sample, all stamped `timestampS` (whole Unix seconds). */
export function formatGraphite(families: readonly MetricFamily[], options: { readonly prefix: string; readonly timestampS: number }): string[] {
  const { prefix } = options;
  const ts = Math.floor(options.timestampS);
  const lines: string[] = [];
  const line = (path: string, value: number) => {
    if (Number.isFinite(value)) lines.push(`${prefix}.${path} ${value} ${ts}`);
  };
  const fleet = new Map<string, number>();
  const add = (path: string, value: number) => {
    if (Number.isFinite(value)) fleet.set(path, (fleet.get(path) ?? 0) + value);
  };
  for (const family of families) {
    if (family.name.startsWith(DEVICE)) {
      const name = family.name.slice(DEVICE.length);
      for (const s of family.values) {
        if (s.labels.device === undefined) continue;
        const rest = labelPath(s.labels);
        line(`devices.${graphiteComponent(String(s.labels.device))}.${name}${rest}`, s.value);
        if (family.name === 'aquastop_device_up') {
          add(FLEET.devices, 1);
          add(FLEET.up, s.value);
        } else if (family.name === 'aquastop_device_flapping') add(FLEET.flapping, s.value);
        else if (family.type === 'counter' || STATE_GAUGES.has(family.name)) add(`${name}${rest}`, s.value);
      }
    } else {
      const name = family.name.startsWith(MONITOR) ? `monitor.${family.name.slice(MONITOR.length)}` : graphiteComponent(family.name.replace(/^aquastop_/, ''));
      for (const s of family.values) line(`${name}${labelPath(s.labels)}`, s.value);
    }
  }
  // A fleet without devices still says so: 0 devices, 0 up.
  for (const key of [FLEET.devices, FLEET.up, FLEET.flapping]) if (!fleet.has(key)) fleet.set(key, 0);
  for (const [path, value] of fleet) line(`fleet.${path}`, value);
  return lines;
}

/**
 * The lines waiting for carbon, at most `limit`: adding past it drops the oldest lines
 * (a push bigger than the limit keeps only its newest lines). One string per push.
 */
export class LineBuffer {
  private readonly chunks: { text: string; lines: number }[] = [];
  private count = 0;

  constructor(readonly limit: number) {
    if (!(Number.isInteger(limit) && limit >= 1)) throw new RangeError('LineBuffer limit must be a positive integer');
  }

  /** Lines waiting. */
  get size(): number {
    return this.count;
  }

  /** Queues the lines; returns how many lines were dropped to stay within the limit. */
  add(lines: readonly string[]): number {
    if (lines.length === 0) return 0;
    let dropped = 0;
    let keep = lines;
    if (keep.length > this.limit) {
      dropped += keep.length - this.limit;
      keep = keep.slice(keep.length - this.limit);
    }
    let over = this.count + keep.length - this.limit;
    while (over > 0) {
      const oldest = this.chunks[0]!;
      if (oldest.lines <= over) {
        this.chunks.shift();
        this.count -= oldest.lines;
        dropped += oldest.lines;
        over -= oldest.lines;
      } else {
        let cut = 0;
        for (let i = 0; i < over; i++) cut = oldest.text.indexOf('\n', cut) + 1;
        oldest.text = oldest.text.slice(cut);
        oldest.lines -= over;
        this.count -= over;
        dropped += over;
        over = 0;
      }
    }
    this.chunks.push({ text: `${keep.join('\n')}\n`, lines: keep.length });
    this.count += keep.length;
    return dropped;
  }

  /** Takes the oldest waiting push (its text ends with a newline), or null. */
  take(): { readonly text: string; readonly lines: number } | null {
    const chunk = this.chunks.shift();
    if (!chunk) return null;
    this.count -= chunk.lines;
    return chunk;
  }
}
