// What a tile and a list row both show of a device, written once: the text of each fact, and
// the writes into a tile's or a row's parts (only text that changed is written).

import { formatPercent } from './monitor-feed.js';

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

/** A tile or row now stands for device `id`: it links to the device's view. */
export function linkTo(node, id) {
  node.href = `#/device/${encodeURIComponent(id)}`;
  node.dataset.deviceId = id;
}

/**
 * Writes device `d` into `parts` (a tile's or a row's: root, state, valve, pump, age,
 * availability) and returns its text for what the view shows besides; null without a device.
 */
export function showDevice(parts, fleet, faults, monitor, d, now) {
  if (!d) return null;
  const t = deviceText(fleet, faults, monitor, d, now);
  setData(parts.root, 'status', t.status);
  setData(parts.root, 'breaker', t.breaker);
  setData(parts.root, 'fault', t.code ?? '');
  setText(parts.state, t.state);
  setText(parts.valve, t.valve);
  setData(parts.valve, 'value', t.valveValue);
  setText(parts.pump, t.pump);
  setData(parts.pump, 'value', t.pumpValue);
  setText(parts.age, t.age);
  setText(parts.availability, t.availability);
  return t;
}
