// The tiles: one card per device, in the order of order.js, virtualised (virtual.js): only the
// tiles in view exist, and a tile leaving the view is reused for one entering it. Only text that
// changed is written.

import { formatPercent } from './monitor-feed.js';
import { VirtualView } from './virtual.js';

/** A tile's height and the gap between tiles (px); the width follows the window. */
export const TILE = { height: 188, gap: 10, minWidth: 210 };

export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Writes text or an attribute only when it differs (no layout work for unchanged tiles). */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}
export function setData(node, key, value) {
  if (node.dataset[key] !== value) node.dataset[key] = value;
}

export function formatAge(s) {
  if (s === null) return '—';
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export const STATUS_TEXT = { online: 'online', offline: 'offline', silent: 'no heartbeat', unknown: '…' };

/** What a tile or a list row shows of a device, as text (shared by both views). */
export function deviceText(fleet, faults, monitor, d, now) {
  const code = fleet.faultCode(d);
  const def = code ? faults[code] : null;
  const s = d.state;
  return {
    code,
    status: d.status,
    statusText: STATUS_TEXT[d.status],
    breaker: s ? s.breaker : 'unknown',
    display: def ? def.display : code ? code : s ? '—' : '…',
    faultText: def ? def.text : code ? `fault ${code}` : s ? `breaker ${s.breaker}` : 'waiting for state',
    state: s ? s.state : d.hb ? d.hb.state : '…',
    valve: s ? s.valve : '…',
    valveValue: s ? s.valve : '',
    pump: s ? s.drainPump : '…',
    pumpValue: s ? s.drainPump : '',
    age: formatAge(fleet.ageS(d, now)),
    availability: availabilityText(fleet, monitor, d, now),
  };
}

/** 24 h availability from the monitor; without one, what this page has seen since it opened. */
export function availabilityText(fleet, monitor, d, now) {
  if (monitor && monitor.enabled) {
    const r = monitor.report(d.id);
    return r ? `${formatPercent(r.availability.d1)} · 24 h` : '…';
  }
  const a = fleet.availability(d, now);
  return a === null ? '…' : `${formatPercent(a)} · page`;
}

export class TileGrid {
  constructor(scroller, fleet, faults, monitor = null) {
    this.fleet = fleet;
    this.faults = faults;
    this.monitor = monitor;
    const canvas = el('div', 'canvas');
    scroller.append(canvas);
    this.view = new VirtualView(scroller, canvas, {
      rowHeight: TILE.height,
      gap: TILE.gap,
      minColumnWidth: TILE.minWidth,
      overscan: 2,
      create: () => this.create(),
      assign: (node, id) => {
        node.href = `#/device/${encodeURIComponent(id)}`;
        node.dataset.deviceId = id;
        node.parts.name.textContent = id;
        node.title = id;
      },
      render: (node, id) => this.render(node.parts, this.fleet.devices.get(id), this.fleet.now()),
    });
  }

  create() {
    const root = el('a', 'tile');
    root.style.height = `${TILE.height}px`;
    const head = el('div', 'tile-head');
    const name = el('span', 'tile-name');
    const avail = el('span', 'avail');
    head.append(name, avail);
    const display = el('div', 'display');
    const faultText = el('div', 'fault-text');
    const facts = el('dl', 'facts');
    facts.title = this.monitor && this.monitor.enabled ? '' : 'availability: as seen by this page since it opened (no monitor configured)';
    const parts = { root, name, avail, display, faultText };
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
    root.parts = parts;
    return root;
  }

  render(p, d, now) {
    if (!d) return;
    const t = deviceText(this.fleet, this.faults, this.monitor, d, now);
    setData(p.root, 'status', t.status);
    setData(p.root, 'breaker', t.breaker);
    setData(p.root, 'fault', t.code ?? '');
    setText(p.avail, t.statusText);
    setText(p.display, t.display);
    setText(p.faultText, t.faultText);
    setText(p.state, t.state);
    setText(p.valve, t.valve);
    setData(p.valve, 'value', t.valveValue);
    setText(p.pump, t.pump);
    setData(p.pump, 'value', t.pumpValue);
    setText(p.age, t.age);
    setText(p.availability, t.availability);
  }
}
