// The monitor's figures for the page: polls GET /api/devices (our server proxies it to the
// monitor) and, for the open device view, GET /api/devices/<id>/history. Without a monitor
// (`api` null) everything here answers null and the page shows only what MQTT tells it.

const POLL_MS = 5000;

export function formatPercent(ratio) {
  if (ratio === null || ratio === undefined) return '—';
  const p = ratio * 100;
  if (p === 100) return '100 %';
  // 99.95 % must not read "100 %": round down, with digits enough for the gap to 100 to show.
  const digits = p >= 99.99 && p < 100 ? 3 : p >= 99 && p < 100 ? 2 : 1;
  const f = 10 ** digits;
  return `${String((Math.sign(p) * Math.floor(Math.abs(p) * f + 1e-9)) / f)} %`;
}

export function formatDuration(s) {
  if (s === null || s === undefined) return '—';
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.round((s % 86400) / 3600)} h`;
}

export class MonitorFeed {
  /**
   * `onChange(ids)` is called with the devices whose figures changed after a poll.
   * @param {string | null} api
   * @param {(ids: Set<string>) => void} [onChange]
   */
  constructor(api, onChange = () => {}) {
    this.api = api;
    this.onChange = onChange;
    /** id -> DeviceReport (src/monitor/types.ts) */
    this.byId = new Map();
    /** id -> HistoryItem[] for devices whose history was asked for */
    this.histories = new Map();
    this.error = null;
    if (api) {
      this.poll();
      setInterval(() => this.poll(), POLL_MS);
    }
  }

  get enabled() {
    return this.api !== null;
  }

  async poll() {
    try {
      const res = await fetch(`${this.api}/devices`);
      const body = await res.json();
      if (!res.ok || !Array.isArray(body)) throw new Error(body && body.error ? body.error : `HTTP ${res.status}`);
      const changed = new Set();
      for (const r of body) {
        const before = this.byId.get(r.id);
        if (!before || before.availability.d1 !== r.availability.d1 || before.status !== r.status) changed.add(r.id);
        this.byId.set(r.id, r);
      }
      this.error = null;
      for (const id of this.histories.keys()) await this.loadHistory(id);
      if (changed.size > 0) this.onChange(changed);
    } catch (err) {
      // monitor unreachable: keep the last figures, say so in the device view
      this.error = /** @type {Error} */ (err).message;
    }
  }

  /** Fetches the recorded events of a device (the device view asks when it opens). */
  async loadHistory(id) {
    if (!this.api) return null;
    try {
      const res = await fetch(`${this.api}/devices/${encodeURIComponent(id)}/history?limit=500`);
      if (res.status === 404) return null;
      const body = await res.json();
      if (res.ok && Array.isArray(body.items)) this.histories.set(id, body.items);
    } catch {
      // keep what we had
    }
    return this.histories.get(id) ?? null;
  }

  report(id) {
    return this.byId.get(id) ?? null;
  }

  history(id) {
    return this.histories.get(id) ?? null;
  }

  /** [label, value] pairs for the device view, or null without a report. */
  facts(id) {
    const r = this.byId.get(id);
    if (!r) return null;
    const a = r.availability;
    return [
      ['monitor says', r.status === 'up' ? 'UP' : r.status === 'down' ? 'DOWN' : 'unknown'],
      ['availability', `${formatPercent(a.h1)} 1 h · ${formatPercent(a.d1)} 24 h · ${formatPercent(a.d30)} 30 d`],
      ['MTBF / MTTR', `${formatDuration(r.mtbfS)} / ${formatDuration(r.mttrS)}`],
      [`SLO ${formatPercent(r.sloTarget)}`, `error budget left ${formatPercent(r.errorBudgetLeft)} · burn rate ${r.burnRate === null ? '—' : `${r.burnRate.toFixed(1)}×`}`],
      ['heartbeats', `${r.heartbeatsReceived} received · ${r.heartbeatsLost} lost · ${r.restarts} restarts`],
    ];
  }
}
