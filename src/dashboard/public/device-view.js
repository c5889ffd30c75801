// The device view (#/device/<id>): facts, the fault memory the device keeps, timeline,
// heartbeat/availability chart, operator commands (close valve, reset trip, resume) and, for
// simulated appliances, fault injection.

import { drawChart } from './chart.js';
import { formatAge } from './device-cells.js';
import { refusalReason } from './fleet.js';
import { formatWhen, monitorStatusLog, monitorTimeline } from './history.js';

const COMMANDS = [
  ['closeValve', 'Close valve', { valve: 'CLOSE' }],
  ['reset', 'Reset trip', { reset: 'trip' }],
  ['resume', 'Resume', { resume: true }],
];

export class DeviceView {
  constructor(root, { fleet, faults, injections = [], operator, viewer, askCredentials, monitor }) {
    // The simulator's injection buttons, [{ name, label }], from the config (the server has them from sim/injections.ts).
    this.injections = injections;
    this.root = root;
    this.fleet = fleet;
    this.faults = faults;
    this.operator = operator;
    this.viewer = viewer;
    this.askCredentials = askCredentials;
    this.monitor = monitor;
    this.id = null;
    this.renderedTimeline = '';
    root.addEventListener('click', (e) => this.onClick(e));
  }

  open(id) {
    this.id = id;
    this.renderedTimeline = '';
    this.renderedMemory = undefined;
    this.injectedAt = null;
    this.root.hidden = false;
    this.root.innerHTML = `
      <header class="dv-head">
        <h2><span class="dv-id"></span> <span class="avail"></span></h2>
        <a class="dv-close" href="#/" aria-label="back to the fleet">✕</a>
      </header>
      <div class="dv-top">
        <div class="display big"></div>
        <div class="dv-fault"></div>
      </div>
      <dl class="facts dv-facts"></dl>
      <section class="dv-memory"><h3>Fault memory <span class="memory-note">kept by the device across power cycles, newest first</span></h3><ol class="memory"></ol><p class="memory-empty"></p></section>
      <section class="dv-actions">
        <h3>Operator commands</h3>
        <div class="buttons">${COMMANDS.map(([k, label]) => `<button type="button" data-command="${k}">${label}</button>`).join('')}</div>
        <div class="operator-line"></div>
        <output class="command-result" aria-live="polite"></output>
      </section>
      <section class="dv-inject" hidden>
        <h3>Simulator: inject a fault</h3>
        <div class="buttons">${this.injections.map(({ name, label }) => `<button type="button" class="inject" data-inject="${esc(name)}">${esc(label)}</button>`).join('')}</div>
        <output class="inject-result" aria-live="polite"></output>
      </section>
      <section><h3>Availability and heartbeats (last 10 min)</h3><canvas class="chart" height="160"></canvas></section>
      <section class="dv-monitor" hidden><h3>Monitor</h3><dl class="facts monitor-facts"></dl></section>
      <section><h3>Timeline</h3><ol class="timeline"></ol></section>`;
    this.q('.dv-id').textContent = id;
    this.update();
    if (this.monitor.enabled) this.monitor.loadHistory(id).then(() => this.id === id && this.update());
  }

  close() {
    this.id = null;
    this.root.hidden = true;
    this.root.innerHTML = '';
  }

  q(sel) {
    return this.root.querySelector(sel);
  }

  /** Re-renders the open device (called from the frame flush when it changed, and every second). */
  update() {
    if (!this.id) return;
    const d = this.fleet.device(this.id);
    const now = this.fleet.now();
    const code = this.fleet.faultCode(d);
    const def = code ? this.faults[code] : null;
    const s = d.state;
    this.root.dataset.status = d.status;
    this.root.dataset.fault = code ?? '';
    this.q('.avail').textContent = d.status === 'silent' ? 'no heartbeat' : d.status;
    this.q('.display').textContent = def ? def.display : s ? '—' : '…';
    const faultLine = def ? `${code}: ${def.text}` : code ? `fault ${code}` : 'no active fault';
    const detail = d.activeFault && d.activeFault.code === code && d.activeFault.detail ? ` — ${d.activeFault.detail}` : '';
    this.q('.dv-fault').textContent = faultLine + detail;
    const facts = [
      ['state', s ? s.state : '…'],
      ['breaker', s ? s.breaker : '…'],
      ['valve', s ? s.valve : '…'],
      ['drain pump', s ? s.drainPump : '…'],
      ['base pan', s ? (s.leak ? 'wet' : 'dry') : '…'],
      ['tub level', s && s.tubLevelL !== null ? `${s.tubLevelL.toFixed(1)} L` : '—'],
      ['trips', s ? String(s.tripCount) : '…'],
      ['board / fw', s ? `${s.board} / ${s.fw}` : '…'],
      ['heartbeat', d.hb ? `${formatAge(this.fleet.ageS(d, now))} ago · seq ${d.hb.seq} · boot ${d.hb.boot} · every ${d.hb.intervalS} s` : 'none since this page opened'],
      ['lost beats', String(d.lostBeats)],
    ];
    this.fillFacts(this.q('.dv-facts'), facts);
    if (this.renderedMemory !== d.faultMemory) this.renderMemory(d.faultMemory);
    this.q('.dv-inject').hidden = !(s && s.board === 'simulated') || this.injections.length === 0;
    // The device answers an injection only when it refuses it (not simulated, retained, malformed).
    const r = d.lastResult;
    if (r && r.command === 'inject' && !r.ok && this.injectedAt !== null && r.t >= this.injectedAt) {
      this.showResult(this.q('.inject-result'), false, `injection refused: ${refusalReason(r.error)}`);
      this.injectedAt = null;
    }
    this.q('.operator-line').textContent = this.operator.loggedIn ? `operator: ${this.operator.username}` : 'commands ask for operator credentials';
    const recorded = this.monitor.history(this.id);
    const statusLog = recorded ? [...monitorStatusLog(recorded, this.fleet.startedAt), ...d.statusLog] : d.statusLog;
    drawChart(this.q('.chart'), { ...d, statusLog }, now);
    const timeline = recorded ? [...monitorTimeline(recorded, this.faults, this.fleet.startedAt), ...d.timeline].sort((a, b) => a.t - b.t) : d.timeline;
    const key = `${timeline.length}:${timeline.at(-1)?.t ?? 0}`;
    if (this.renderedTimeline !== key) this.renderTimeline(timeline, key);
    const m = this.monitor.facts(this.id);
    this.q('.dv-monitor').hidden = !this.monitor.enabled;
    if (m) this.fillFacts(this.q('.monitor-facts'), m);
    else if (this.monitor.enabled)
      this.fillFacts(this.q('.monitor-facts'), [['monitor', this.monitor.error ? `unreachable: ${this.monitor.error}` : 'no record of this device yet']]);
  }

  fillFacts(dl, pairs) {
    const html = pairs.map(([k, v]) => `<dt>${esc(k)}</dt><dd data-key="${esc(k)}">${esc(v)}</dd>`).join('');
    if (dl.innerHTML !== html) dl.innerHTML = html;
  }

  /** The device's fault memory (retained on <base>/<id>/fault-memory): code, display, text, when. */
  renderMemory(memory) {
    this.renderedMemory = memory;
    const faults = memory ? [...memory.faults].reverse() : [];
    this.q('.memory').innerHTML = faults
      .map((f) => {
        const def = this.faults[f.code];
        const t = Date.parse(f.ts);
        const when = Number.isFinite(t) ? formatWhen(t) : f.ts;
        return `<li data-code="${esc(f.code)}"><time datetime="${esc(f.ts)}">${esc(when)}</time> <span class="code-display">${esc(def ? def.display : f.code)}</span> <b>${esc(f.code)}</b> ${esc(def ? def.text : '')}${f.detail ? ` <i>(${esc(f.detail)})</i>` : ''}</li>`;
      })
      .join('');
    this.q('.memory-empty').textContent = !memory
      ? 'not published by this device (yet): its fault memory comes with its next start or fault'
      : faults.length === 0
        ? 'empty: the device remembers no fault'
        : '';
  }

  renderTimeline(timeline, key) {
    this.renderedTimeline = key;
    const ol = this.q('.timeline');
    ol.innerHTML = timeline
      .slice(-300)
      .reverse()
      .map((e) => `<li data-kind="${e.kind}"><time>${formatWhen(e.t)}</time> ${esc(e.text)}</li>`)
      .join('');
  }

  async onClick(e) {
    const btn = e.target.closest('button');
    if (!btn || !this.id) return;
    const id = this.id;
    if (btn.dataset.command) {
      // The buttons are rendered from COMMANDS: a command button's name is one of them.
      const [, label, payload] = /** @type {(typeof COMMANDS)[number]} */ (COMMANDS.find(([k]) => k === btn.dataset.command));
      const out = this.q('.command-result');
      if (!this.operator.loggedIn) {
        try {
          await this.askCredentials();
        } catch (err) {
          this.showResult(out, false, `${label}: ${/** @type {Error} */ (err).message}`);
          return;
        }
      }
      this.showResult(out, null, `${label}: sent, waiting for ${id}…`);
      try {
        const r = await this.operator.command(id, payload);
        if (this.id !== id) return;
        this.showResult(out, r.ok, r.ok ? `${label}: ok` : `${label} refused: ${refusalReason(r.error)}`);
      } catch (err) {
        this.showResult(out, false, `${label}: ${/** @type {Error} */ (err).message}`);
      }
    } else if (btn.dataset.inject) {
      const out = this.q('.inject-result');
      try {
        this.injectedAt = this.fleet.now();
        await this.operator.inject(id, btn.dataset.inject, this.viewer());
        // unless the device's refusal came first
        if (this.injectedAt !== null) this.showResult(out, true, `injected ${btn.textContent.toLowerCase()}: watch the breaker`);
      } catch (err) {
        this.showResult(out, false, `injection failed: ${/** @type {Error} */ (err).message}`);
      }
    }
  }

  showResult(out, ok, text) {
    out.textContent = text;
    out.dataset.ok = ok === null ? 'pending' : String(ok);
  }
}

function esc(v) {
  return String(v).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
}
