// Which devices the fleet view shows, and in which order: the sort (by default faults and down
// devices first), the summary bar's facet ("only the latched ones") and the text filter. No DOM
// here: the tiles and the list draw `ids`; tested in node.
//
// Kept incremental for 10,000 devices: each device's facets and sort value are remembered, and
// the order is rebuilt only when one of them changed (a heartbeat changes neither).

/** The sort keys, in the order the sort menu lists them. */
export const SORTS = {
  attention: 'faults and down first',
  id: 'id',
  status: 'availability',
  breaker: 'breaker',
  fault: 'fault',
  state: 'state',
  valve: 'valve',
  pump: 'drain pump',
  age: 'heartbeat age',
  availability: 'availability %',
};

/** Sort keys whose value moves with the clock: re-sorted once a second, not on every message. */
const CLOCK_SORTS = new Set(['age', 'availability']);

const STATUS_ORDER = ['offline', 'silent', 'unknown', 'online'];
const BREAKER_ORDER = ['service', 'latched', 'tripped', 'probing', 'booting', 'armed'];
const isDown = (d) => d.status === 'offline' || d.status === 'silent';
const rankIn = (list, v) => {
  const i = list.indexOf(v);
  return i < 0 ? list.length : i;
};

export class FleetOrder {
  /**
   * @param fleet the fleet model (fleet.js)
   * @param faults the catalogue from /config.json: code -> { display, severity, ... }
   * @param severities the catalogue's severities, most severe first (/config.json)
   * @param availability (d) => ratio or null: what the tiles show as availability
   */
  constructor(fleet, { faults, severities, availability = /** @type {(d: any) => number | null} */ (() => null) }) {
    this.fleet = fleet;
    this.faults = faults;
    this.severities = severities;
    this.availability = availability;
    this.codes = Object.keys(faults);
    this.sortKey = 'attention';
    /** 1 ascending, -1 descending (for `attention`: most attention first, then the reverse). */
    this.sortDir = 1;
    /** Lower-cased filter text: ids and fault codes (or displays) containing it. */
    this.text = '';
    /** 'status:down', 'breaker:latched', 'fault:i30'... or null for every device. */
    this.facet = null;
    /** Every device id, in order. */
    this.sorted = [];
    /** The ids shown: `sorted` through the facet and the text filter. */
    this.ids = [];
    /** Facet -> number of devices with it (the summary bar). */
    this.counts = new Map();
    /** id -> facets and sort value last seen, to notice what changed. */
    this.seen = new Map();
  }

  /** The facets a device counts in: down, its breaker, its fault code. */
  facetsOf(d) {
    const out = [];
    if (isDown(d)) out.push('status:down');
    if (d.state) out.push(`breaker:${d.state.breaker}`);
    const code = this.fleet.faultCode(d);
    if (code) out.push(`fault:${code}`);
    return out;
  }

  /** Severity rank of a fault code (0 = most severe), or the number of severities for none. */
  severityRank(code) {
    const def = code ? this.faults[code] : null;
    return def ? rankIn(this.severities, def.severity) : code ? this.severities.length - 1 : this.severities.length;
  }

  /**
   * The sort value of a device, compared element by element (then by id): numbers and strings.
   * `attention`: faulted devices by severity, then down devices, then the rest; within each,
   * down before up, then the catalogue's order of codes.
   */
  sortValue(d) {
    const code = this.fleet.faultCode(d);
    switch (this.sortKey) {
      case 'attention': {
        const n = this.severities.length;
        const group = code ? this.severityRank(code) : isDown(d) ? n + 1 : n + 2;
        return [group, isDown(d) ? 0 : 1, code ? rankIn(this.codes, code) : 0];
      }
      case 'id':
        return [d.id];
      case 'status':
        return [rankIn(STATUS_ORDER, d.status)];
      case 'breaker':
        return [d.state ? rankIn(BREAKER_ORDER, d.state.breaker) : BREAKER_ORDER.length];
      case 'fault':
        return [this.severityRank(code), code ? rankIn(this.codes, code) : 0];
      case 'state':
        return [d.state ? 0 : 1, d.state ? d.state.state : d.hb ? d.hb.state : ''];
      case 'valve':
        return [d.state ? d.state.valve : '~'];
      case 'pump':
        return [d.state ? d.state.drainPump : '~'];
      case 'age': {
        const age = this.fleet.ageS(d);
        return [age === null ? 1 : 0, age ?? 0];
      }
      case 'availability': {
        const a = this.availability(d);
        return [a === null ? 1 : 0, a ?? 0];
      }
      default:
        return [];
    }
  }

  /** Sorts by `key`; the same key again reverses the direction. Returns true (the order changed). */
  sortBy(key, dir) {
    if (!(key in SORTS)) return false;
    this.sortDir = dir ?? (key === this.sortKey ? -this.sortDir : 1);
    this.sortKey = key;
    this.rebuild();
    return true;
  }

  setText(text) {
    this.text = text.trim().toLowerCase();
    this.refilter();
  }

  /** Shows only the devices with `facet`; the same facet again shows every device. */
  toggleFacet(facet) {
    this.facet = facet === null || facet === this.facet ? null : facet;
    this.refilter();
  }

  /**
   * Takes in the devices that changed; rebuilds the order when a device is new or its facets or
   * sort value changed. Returns true when `ids` may have changed.
   */
  update(dirtyIds) {
    let changed = false;
    for (const id of dirtyIds) {
      const d = this.fleet.devices.get(id);
      if (!d) continue;
      const facets = this.facetsOf(d);
      const key = `${facets.join(',')}|${CLOCK_SORTS.has(this.sortKey) ? '' : this.sortValue(d).join(',')}`;
      const before = this.seen.get(id);
      if (before && before.key === key) continue;
      if (before) for (const f of before.facets) this.counts.set(f, this.counts.get(f) - 1);
      for (const f of facets) this.counts.set(f, (this.counts.get(f) ?? 0) + 1);
      this.seen.set(id, { key, facets });
      changed = true;
    }
    if (changed) this.resort();
    return changed;
  }

  /** Once a second: the clock-driven sorts (heartbeat age, availability) move. */
  tick() {
    if (!CLOCK_SORTS.has(this.sortKey)) return false;
    this.resort();
    return true;
  }

  /** After a sort change: every device again from scratch (counts too). */
  rebuild() {
    this.counts.clear();
    this.seen.clear();
    this.update(this.fleet.devices.keys());
    this.resort();
  }

  resort() {
    const rows = [];
    for (const d of this.fleet.devices.values()) rows.push({ id: d.id, v: this.sortValue(d) });
    const dir = this.sortDir;
    rows.sort((a, b) => {
      const x = a.v;
      const y = b.v;
      for (let i = 0; i < x.length; i++) {
        if (x[i] !== y[i]) return (x[i] < y[i] ? -1 : 1) * dir;
      }
      return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    });
    this.sorted = rows.map((r) => r.id);
    this.refilter();
  }

  refilter() {
    const facet = this.facet;
    const text = this.text;
    if (!facet && !text) {
      this.ids = this.sorted;
      return;
    }
    this.ids = this.sorted.filter((id) => {
      const seen = this.seen.get(id);
      if (facet && !(seen && seen.facets.includes(facet))) return false;
      if (!text) return true;
      if (id.toLowerCase().includes(text)) return true;
      const code = this.fleet.faultCode(this.fleet.devices.get(id));
      if (!code) return false;
      const def = this.faults[code];
      return code.toLowerCase().includes(text) || (def !== undefined && def.display.includes(text));
    });
  }

  /** The summary bar's figures: [facet, count] with a count above 0, fault codes in severity order. */
  summary() {
    const n = (f) => this.counts.get(f) ?? 0;
    const codes = this.codes.filter((c) => n(`fault:${c}`) > 0).sort((a, b) => this.severityRank(a) - this.severityRank(b) || this.codes.indexOf(a) - this.codes.indexOf(b));
    return {
      down: n('status:down'),
      latched: n('breaker:latched'),
      tripped: n('breaker:tripped'),
      probing: n('breaker:probing'),
      service: n('breaker:service'),
      faults: codes.map((c) => ({ code: c, count: n(`fault:${c}`) })),
    };
  }
}
