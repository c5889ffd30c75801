// The fleet model: one record per device, fed by MQTT messages. No DOM here.
// Every change marks the device dirty; the renderer drains `dirty` once per animation frame.

const TIMELINE_MAX = 200;
const BEATS_MAX = 2000;
const HISTORY_MS = 30 * 60 * 1000;
/** Bridges (publishing processes) remembered; the one heard of longest ago is forgotten first. */
const BRIDGES_MAX = 1000;
/** Devices this page keeps; messages for more are counted (`stats.ignoredDevices`) and dropped. */
export const DEVICES_MAX = 100_000;
/** The longest fault memory kept per device (the controller keeps 16). */
const MEMORY_MAX = 64;

/** A command's refusal reason without a leading "reset refused:" of its own (the page says "refused" already). */
export function refusalReason(error) {
  if (!error) return 'no reason given';
  return error.replace(/^\s*(?:[a-z ]+ )?refused\s*:\s*/i, '') || error;
}

const isObj = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The topics the page reads, by their names in the contract (topics.js), each with a minimal
 * shape check (the broker may carry anything); a bad message is counted and dropped.
 */
const valid = {
  state: (p) => isObj(p) && typeof p.state === 'string' && (p.valve === 'open' || p.valve === 'closed') && typeof p.breaker === 'string',
  availability: (p) => isObj(p) && (p.state === 'online' || p.state === 'offline') && (p.bridge === undefined || typeof p.bridge === 'string'),
  heartbeat: (p) => isObj(p) && Number.isInteger(p.seq) && typeof p.intervalS === 'number' && p.intervalS > 0,
  fault: (p) => isObj(p) && (p.event === 'raised' || p.event === 'cleared') && typeof p.code === 'string',
  faultMemory: (p) =>
    isObj(p) && Array.isArray(p.faults) && p.faults.length <= MEMORY_MAX && p.faults.every((f) => isObj(f) && typeof f.code === 'string' && typeof f.ts === 'string'),
  setResult: (p) => isObj(p) && typeof p.ok === 'boolean',
  bridgeState: (p) => isObj(p) && (p.state === 'online' || p.state === 'offline'),
};

/** The names of the topics the page subscribes to and reads. */
export const READ_TOPICS = Object.keys(valid);

export class Fleet {
  /** `topics`: the contract's topics (topics.js) for the base topic in use. */
  constructor(topics, now = () => Date.now()) {
    this.topics = topics;
    this.now = now;
    /** When this page started listening: earlier history can only come from the monitor. */
    this.startedAt = now();
    /** @type {Map<string, any>} */
    this.devices = new Map();
    this.dirty = new Set();
    /** Each publishing process's bridge state: a device is offline when the bridge its availability names is. */
    this.bridges = new Map();
    this.stats = { messages: 0, invalid: 0, ignoredDevices: 0 };
    /** The longest device id seen (the list view sizes its id column to show every id in full). */
    this.longestId = 0;
  }

  device(id) {
    let d = this.devices.get(id);
    if (!d) {
      d = {
        id,
        state: null,
        availability: null,
        bridge: null,
        hb: null,
        hbAt: 0,
        lastSeq: null,
        lostBeats: 0,
        activeFault: null,
        lastFaultEvent: null,
        lastResult: null,
        faultMemory: null,
        timeline: [],
        beats: [],
        statusLog: [],
        status: 'unknown',
      };
      this.devices.set(id, d);
      this.longestId = Math.max(this.longestId, id.length);
    }
    return d;
  }

  log(d, kind, text, t = this.now()) {
    d.timeline.push({ t, kind, text });
    if (d.timeline.length > TIMELINE_MAX) d.timeline.splice(0, d.timeline.length - TIMELINE_MAX);
  }

  /** Feed one MQTT message; returns false when it was not ours or not valid. */
  handle(topic, payloadText) {
    const parsed = this.topics.parse(topic, READ_TOPICS);
    if (!parsed) return false;
    let p;
    try {
      p = JSON.parse(payloadText);
    } catch {
      this.stats.invalid++;
      return false;
    }
    if (!valid[parsed.name](p)) {
      this.stats.invalid++;
      return false;
    }
    this.stats.messages++;
    if (parsed.name === 'bridgeState') {
      this.bridges.delete(parsed.bridge);
      this.bridges.set(parsed.bridge, p.state);
      if (this.bridges.size > BRIDGES_MAX) this.bridges.delete(this.bridges.keys().next().value);
      const t = this.now();
      for (const d of this.devices.values()) {
        if (d.bridge !== parsed.bridge) continue;
        if (this.refreshStatus(d, t) && d.status === 'offline') this.log(d, 'availability', `publisher ${parsed.bridge} offline`, t);
        this.dirty.add(d.id);
      }
      return true;
    }
    if (!this.devices.has(parsed.id) && this.devices.size >= DEVICES_MAX) {
      this.stats.ignoredDevices++;
      return false;
    }
    const d = this.device(parsed.id);
    const t = this.now();
    switch (parsed.name) {
      case 'state': {
        const old = d.state;
        if (!old || old.state !== p.state || old.breaker !== p.breaker) this.log(d, 'state', `state ${p.state} · breaker ${p.breaker}`, t);
        if (old && old.valve !== p.valve) this.log(d, 'valve', `valve ${p.valve}`, t);
        if (old && old.drainPump !== p.drainPump) this.log(d, 'pump', `drain pump ${p.drainPump}`, t);
        d.state = p;
        break;
      }
      case 'availability':
        if (d.availability !== p.state) this.log(d, 'availability', `availability ${p.state}`, t);
        d.availability = p.state;
        if (typeof p.bridge === 'string') d.bridge = p.bridge;
        break;
      case 'heartbeat':
        if (d.hb && p.boot === d.hb.boot && p.seq > d.hb.seq + 1) d.lostBeats += p.seq - d.hb.seq - 1;
        if (d.hb && p.boot !== d.hb.boot) this.log(d, 'restart', `restarted (boot ${p.boot})`, t);
        d.hb = p;
        d.hbAt = t;
        d.beats.push(t);
        if (d.beats.length > BEATS_MAX || (d.beats[0] ?? t) < t - HISTORY_MS) {
          const cut = d.beats.findIndex((b) => b >= t - HISTORY_MS);
          d.beats.splice(0, Math.max(cut, d.beats.length - BEATS_MAX, 0));
        }
        break;
      case 'fault':
        d.lastFaultEvent = p;
        if (p.event === 'raised') d.activeFault = p;
        else if (d.activeFault && d.activeFault.code === p.code) d.activeFault = null;
        this.log(
          d,
          p.event === 'raised' ? 'fault' : 'cleared',
          `${p.event === 'raised' ? 'raised' : 'cleared'} ${p.display ?? p.code} ${p.text ?? ''}${p.detail ? ` (${p.detail})` : ''}`,
          t,
        );
        break;
      case 'faultMemory':
        // What the controller keeps across power cycles (oldest first), as the device published it.
        d.faultMemory = p;
        break;
      case 'setResult':
        d.lastResult = { ...p, t };
        this.log(d, p.ok ? 'result' : 'refused', p.ok ? 'command accepted' : `command refused: ${refusalReason(p.error)}`, t);
        break;
    }
    this.refreshStatus(d, t);
    this.dirty.add(d.id);
    return true;
  }

  /** The fault code holding the device, if any (retained state first, then the last heartbeat). */
  faultCode(d) {
    if (d.state) return d.state.fault;
    return d.hb ? d.hb.fault : null;
  }

  /** Heartbeat age in whole seconds, or null before the first heartbeat. */
  ageS(d, t = this.now()) {
    return d.hb ? Math.max(0, Math.floor((t - d.hbAt) / 1000)) : null;
  }

  /** online / offline (availability says so) / silent (heartbeats overdue: 1.5 intervals + 1 s) / unknown. */
  deriveStatus(d, t = this.now()) {
    if (d.availability === 'offline' || this.bridgeOffline(d)) return 'offline';
    if (d.hb) {
      const overdueMs = d.hb.intervalS * 1500 + 1000;
      return t - d.hbAt > overdueMs ? 'silent' : 'online';
    }
    return d.availability === 'online' ? 'online' : 'unknown';
  }

  /** The process publishing this device died (its bridge's last will said offline). */
  bridgeOffline(d) {
    return d.bridge !== null && this.bridges.get(d.bridge) === 'offline';
  }

  /** How many publishing processes are offline. */
  offlineBridges() {
    let n = 0;
    for (const s of this.bridges.values()) if (s === 'offline') n++;
    return n;
  }

  /** Recomputes a device's status; logs and returns true when it changed. */
  refreshStatus(d, t = this.now()) {
    const s = this.deriveStatus(d, t);
    if (s === d.status) return false;
    d.status = s;
    d.statusLog.push({ t, status: s });
    if (d.statusLog.length > 500) d.statusLog.shift();
    if (s === 'silent') this.log(d, 'availability', 'heartbeats overdue', t);
    return true;
  }

  /**
   * Share of the time this page has watched the device in which it was online (offline and
   * silent count against it, unknown not at all); null before anything was observed. The
   * monitor's figures, when there is a monitor, cover much longer windows.
   */
  availability(d, t = this.now()) {
    let up = 0;
    let observed = 0;
    const log = d.statusLog;
    for (let i = 0; i < log.length; i++) {
      if (log[i].status === 'unknown') continue;
      const span = (i + 1 < log.length ? log[i + 1].t : t) - log[i].t;
      observed += span;
      if (log[i].status === 'online') up += span;
    }
    return observed > 0 ? up / observed : null;
  }

  /** Called every second: overdue devices turn silent (and are marked dirty). */
  tick(t = this.now()) {
    for (const d of this.devices.values()) {
      if (this.refreshStatus(d, t)) this.dirty.add(d.id);
    }
  }

  summary(t = this.now()) {
    let online = 0;
    let down = 0;
    let faulted = 0;
    for (const d of this.devices.values()) {
      if (d.status === 'online') online++;
      else if (d.status === 'offline' || d.status === 'silent') down++;
      if (this.faultCode(d)) faulted++;
    }
    return { total: this.devices.size, online, down, faulted, t };
  }
}
