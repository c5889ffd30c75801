// Keyed tiles: one element per device, created once, then only the text that changed is written.
// `TileGrid.update(ids)` is called from the animation-frame flush with the devices that changed.

import { formatPercent } from './monitor-feed.js';

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Writes text or an attribute only when it differs (no layout work for unchanged tiles). */
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}
function setData(node, key, value) {
  if (node.dataset[key] !== value) node.dataset[key] = value;
}

export function formatAge(s) {
  if (s === null) return '—';
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

const STATUS_TEXT = { online: 'online', offline: 'offline', silent: 'no heartbeat', unknown: '…' };

export class TileGrid {
  constructor(container, fleet, faults, monitor = null) {
    this.container = container;
    this.fleet = fleet;
    this.faults = faults;
    this.monitor = monitor;
    /** Lower-cased filter text: tiles whose id and fault code do not contain it are hidden. */
    this.filter = '';
    /** @type {Map<string, any>} id -> { root, parts } */
    this.tiles = new Map();
    this.sortedIds = [];
  }

  create(id) {
    const root = el('a', 'tile');
    root.href = `#/device/${encodeURIComponent(id)}`;
    root.dataset.deviceId = id;
    const head = el('div', 'tile-head');
    const name = el('span', 'tile-name', id);
    name.title = id;
    const avail = el('span', 'avail');
    head.append(name, avail);
    const display = el('div', 'display');
    const faultText = el('div', 'fault-text');
    const facts = el('dl', 'facts');
    facts.title = this.monitor && this.monitor.enabled ? '' : 'availability: as seen by this page since it opened (no monitor configured)';
    const parts = { root, avail, display, faultText };
    for (const [key, label] of [
      ['state', 'state'],
      ['valve', 'valve'],
      ['pump', 'drain pump'],
      ['age', 'heartbeat'],
      ['availability', 'availability'],
    ]) {
      const dt = el('dt', '', label);
      const dd = el('dd', key);
      facts.append(dt, dd);
      parts[key] = dd;
    }
    root.append(head, display, faultText, facts);
    const tile = { root, parts };
    this.tiles.set(id, tile);
    // Keep tiles sorted by id: binary search for the insertion point.
    let lo = 0;
    let hi = this.sortedIds.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sortedIds[mid] < id) lo = mid + 1;
      else hi = mid;
    }
    const before = this.sortedIds[lo];
    this.sortedIds.splice(lo, 0, id);
    this.container.insertBefore(root, before === undefined ? null : this.tiles.get(before).root);
    return tile;
  }

  /** Renders the given devices' tiles (creating missing ones). */
  update(ids) {
    const now = this.fleet.now();
    for (const id of ids) {
      const d = this.fleet.devices.get(id);
      if (!d) continue;
      const tile = this.tiles.get(id) ?? this.create(id);
      this.render(tile.parts, d, now);
      this.applyFilter(id, tile);
    }
  }

  setFilter(text) {
    this.filter = text.trim().toLowerCase();
    for (const [id, tile] of this.tiles) this.applyFilter(id, tile);
  }

  applyFilter(id, tile) {
    const f = this.filter;
    const hide = f !== '' && !id.toLowerCase().includes(f) && !(tile.root.dataset.fault || '').toLowerCase().includes(f);
    if (tile.root.hidden !== hide) tile.root.hidden = hide;
  }

  /** The once-a-second tick: ages and availability only. */
  tick() {
    const now = this.fleet.now();
    for (const [id, tile] of this.tiles) {
      const d = this.fleet.devices.get(id);
      setText(tile.parts.age, formatAge(this.fleet.ageS(d, now)));
      setData(tile.parts.root, 'status', d.status);
      setText(tile.parts.avail, STATUS_TEXT[d.status]);
      this.renderAvailability(tile.parts, d, now);
    }
  }

  render(p, d, now) {
    const code = this.fleet.faultCode(d);
    const def = code ? this.faults[code] : null;
    const s = d.state;
    setData(p.root, 'status', d.status);
    setData(p.root, 'breaker', s ? s.breaker : 'unknown');
    setData(p.root, 'fault', code ?? '');
    setText(p.avail, STATUS_TEXT[d.status]);
    setText(p.display, def ? def.display : code ? code : s ? '—' : '…');
    setText(p.faultText, def ? def.text : code ? `fault ${code}` : s ? `breaker ${s.breaker}` : 'waiting for state');
    setText(p.state, s ? s.state : d.hb ? d.hb.state : '…');
    setText(p.valve, s ? s.valve : '…');
    setData(p.valve, 'value', s ? s.valve : '');
    setText(p.pump, s ? s.drainPump : '…');
    setData(p.pump, 'value', s ? s.drainPump : '');
    setText(p.age, formatAge(this.fleet.ageS(d, now)));
    this.renderAvailability(p, d, now);
  }

  /** 24 h availability from the monitor; without one, what this page has seen since it opened. */
  renderAvailability(p, d, now) {
    if (this.monitor && this.monitor.enabled) {
      const r = this.monitor.report(d.id);
      setText(p.availability, r ? `${formatPercent(r.availability.d1)} · 24 h` : '…');
      return;
    }
    const a = this.fleet.availability(d, now);
    setText(p.availability, a === null ? '…' : `${formatPercent(a)} · page`);
  }
}
