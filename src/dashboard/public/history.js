// The monitor's recorded history of a device (GET /api/devices/<id>/history, items of
// HistoryItem in src/monitor/types.ts) turned into what the device view draws: entries of the
// timeline and the availability band of the chart.
//
// The page records what it sees itself from the moment it starts listening (`since`); before
// that only the monitor knows. Faults and restarts are taken from the monitor only before
// `since` (after it the page has them already); the monitor's UP/DOWN verdicts and alerts are
// its own and always shown.

const STATUS = { up: 'online', down: 'offline', unknown: 'unknown' };

/** Chart band transitions ({t, status} as in the fleet model) recorded before `since`. */
export function monitorStatusLog(items, since) {
  const out = [];
  for (const h of items) {
    const t = Date.parse(h.at);
    if (h.type === 'status' && t < since) out.push({ t, status: STATUS[h.status] ?? 'unknown' });
  }
  return out;
}

/** Timeline entries ({t, kind, text}) from the monitor's record. */
export function monitorTimeline(items, faults, since) {
  const out = [];
  for (const h of items) {
    const t = Date.parse(h.at);
    if (!Number.isFinite(t)) continue;
    if (h.type === 'status') {
      const word = h.status === 'up' ? 'UP' : h.status === 'down' ? 'DOWN' : 'not watched';
      out.push({ t, kind: h.status === 'down' ? 'down' : h.status === 'up' ? 'up' : 'availability', text: `monitor: ${word} (${h.reason})` });
    } else if (h.type === 'alert') {
      out.push({ t, kind: 'alert', text: `monitor alert sent: ${h.kind}${h.code ? ` ${h.code}` : ''}` });
    } else if (t < since && h.type === 'fault') {
      const def = faults[h.code];
      const label = def ? `${def.display} ${def.text}` : h.code;
      out.push({ t, kind: h.event === 'raised' ? 'fault' : 'cleared', text: `${h.event} ${label}` });
    } else if (t < since && h.type === 'restart') {
      out.push({ t, kind: 'restart', text: `restarted (boot ${h.boot})` });
    }
  }
  return out;
}

/** Time of day for today's entries, date and time for older ones. */
export function formatWhen(t, now = Date.now()) {
  const d = new Date(t);
  if (d.toDateString() === new Date(now).toDateString()) return d.toLocaleTimeString();
  return d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}
