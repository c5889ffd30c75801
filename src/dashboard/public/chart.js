// Heartbeat / availability chart on a canvas: the last `windowMs` of one device.
// Top band: availability (green online, red offline or overdue, grey unknown).
// Below: one dot per heartbeat at the height of the gap since the previous one (seconds),
// with the expected interval drawn as a dashed line, so lost beats show as tall dots.

const COLORS = { online: '#1f9d55', offline: '#d64545', silent: '#d64545', unknown: '#9aa5b1' };

export function drawChart(canvas, device, now, windowMs = 10 * 60 * 1000) {
  const dpr = window.devicePixelRatio || 1;
  const cssW = canvas.clientWidth || 600;
  const cssH = canvas.clientHeight || 160;
  if (canvas.width !== cssW * dpr || canvas.height !== cssH * dpr) {
    canvas.width = cssW * dpr;
    canvas.height = cssH * dpr;
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, cssW, cssH);
  const left = 36;
  const right = cssW - 8;
  const t0 = now - windowMs;
  const x = (t) => left + ((t - t0) / windowMs) * (right - left);

  // Availability band.
  const bandY = 4;
  const bandH = 14;
  ctx.fillStyle = COLORS.unknown;
  ctx.fillRect(left, bandY, right - left, bandH);
  const log = device.statusLog;
  for (let i = 0; i < log.length; i++) {
    const from = Math.max(log[i].t, t0);
    const to = i + 1 < log.length ? log[i + 1].t : now;
    if (to < t0) continue;
    ctx.fillStyle = COLORS[log[i].status] ?? COLORS.unknown;
    ctx.fillRect(x(from), bandY, Math.max(1, x(to) - x(from)), bandH);
  }

  // Heartbeat gaps.
  const plotTop = bandY + bandH + 10;
  const plotBottom = cssH - 18;
  const interval = device.hb ? device.hb.intervalS : 10;
  const maxGap = Math.max(interval * 3, 1);
  const y = (gapS) => plotBottom - (Math.min(gapS, maxGap) / maxGap) * (plotBottom - plotTop);
  ctx.strokeStyle = '#cbd2d9';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(left, plotBottom);
  ctx.lineTo(right, plotBottom);
  ctx.stroke();
  ctx.setLineDash([4, 4]);
  ctx.strokeStyle = '#7b8794';
  ctx.beginPath();
  ctx.moveTo(left, y(interval));
  ctx.lineTo(right, y(interval));
  ctx.stroke();
  ctx.setLineDash([]);

  ctx.fillStyle = '#2563eb';
  const beats = device.beats;
  for (let i = 1; i < beats.length; i++) {
    if (beats[i] < t0) continue;
    const gap = (beats[i] - beats[i - 1]) / 1000;
    ctx.fillStyle = gap > interval * 1.5 ? '#d64545' : '#2563eb';
    ctx.beginPath();
    ctx.arc(x(beats[i]), y(gap), 3, 0, Math.PI * 2);
    ctx.fill();
  }

  // Labels.
  ctx.fillStyle = '#52606d';
  ctx.font = '11px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  ctx.fillText('up', 4, bandY + bandH / 2);
  ctx.fillText(`${interval}s`, 4, y(interval));
  ctx.fillText('gap', 4, plotTop + 4);
  ctx.textBaseline = 'alphabetic';
  ctx.fillText(`-${Math.round(windowMs / 60000)} min`, left, cssH - 4);
  ctx.textAlign = 'right';
  ctx.fillText('now', right, cssH - 4);
  ctx.textAlign = 'left';
}
