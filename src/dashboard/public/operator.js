// The operator's own MQTT connection: opened with the credentials a person types, used only to
// publish commands on the `set` topic (and simulator injections on `inject`); the answer comes
// on `setResult` (the contract's topics, served to the page: topics.js). Each command carries a correlation `id` that the
// device echoes, so the answer is the result with that id. A result without an id (an older
// device) answers the oldest pending command with the same key ("valve", "reset", "resume"), or
// any when it names none. A refused injection also answers there, with the key "inject": never a
// command's answer.

const RESULT_TIMEOUT_MS = 10_000;

export class Operator {
  /** `topics`: the contract's topics (topics.js). */
  constructor(mqtt, wsUrl, topics, fleet) {
    this.mqtt = mqtt;
    this.wsUrl = wsUrl;
    this.topics = topics;
    this.fleet = fleet;
    this.client = null;
    this.username = null;
    /** id -> [{ resolve, timer }] waiting for a set/result */
    this.pending = new Map();
  }

  get loggedIn() {
    return this.client !== null && this.client.connected;
  }

  /**
   * Connects as the operator; rejects with the broker's reason (e.g. "Not authorized").
   * @returns {Promise<void>}
   */
  login(username, password) {
    this.logout();
    return new Promise((resolve, reject) => {
      const client = this.mqtt.connect(this.wsUrl, {
        username,
        password,
        clientId: `aquastop-operator-${Math.random().toString(16).slice(2, 10)}`,
        reconnectPeriod: 0,
        connectTimeout: 8000,
        clean: true,
      });
      const fail = (err) => {
        client.end(true);
        reject(new Error(explain(err)));
      };
      client.once('error', fail);
      client.once('close', () => {
        if (!client.connected && this.client !== client) fail(new Error('connection closed by the broker'));
      });
      client.once('connect', () => {
        client.off('error', fail);
        this.client = client;
        this.username = username;
        // Answers are read on this connection (ordered after our own publishes; works when the
        // broker lets only operators read results). The viewer connection logs them to the timeline.
        client.subscribe(this.topics.filter('setResult'), { qos: 1 });
        client.on('message', (topic, payload) => {
          const t = this.topics.parse(topic, ['setResult']);
          if (!t) return;
          try {
            const body = JSON.parse(payload.toString());
            if (body && typeof body.ok === 'boolean') this.settle(t.id, body);
          } catch {
            // not JSON: not an answer
          }
        });
        resolve();
      });
    });
  }

  logout() {
    if (this.client) this.client.end(true);
    this.client = null;
    this.username = null;
  }

  settle(id, payload) {
    const queue = this.pending.get(id);
    if (!queue) return;
    const i =
      typeof payload.id === 'string' ? queue.findIndex((e) => e.corr === payload.id) : queue.findIndex((e) => typeof payload.command !== 'string' || payload.command === e.key);
    if (i < 0) return;
    const [entry] = queue.splice(i, 1);
    clearTimeout(entry.timer);
    entry.resolve(payload);
  }

  /** Publishes a command; resolves with the device's `{ok, error?}` or a timeout explanation. */
  command(id, payload) {
    if (!this.loggedIn) return Promise.reject(new Error('not logged in as operator'));
    return new Promise((resolve, reject) => {
      const topic = this.topics.topic('set', { id });
      const queue = this.pending.get(id) ?? [];
      this.pending.set(id, queue);
      const entry = {
        key: Object.keys(payload)[0],
        corr: `web-${(this.sent = (this.sent ?? 0) + 1)}-${Math.random().toString(36).slice(2, 8)}`,
        resolve,
        timer: setTimeout(() => {
          const i = queue.indexOf(entry);
          if (i >= 0) queue.splice(i, 1);
          resolve({ ok: false, error: `no answer from ${id} within ${RESULT_TIMEOUT_MS / 1000} s (device offline, or the broker refused the publish)` });
        }, RESULT_TIMEOUT_MS),
      };
      queue.push(entry);
      this.client.publish(topic, JSON.stringify({ ...payload, id: entry.corr }), { qos: 1 }, (err) => {
        if (err) {
          clearTimeout(entry.timer);
          queue.splice(queue.indexOf(entry), 1);
          reject(new Error(explain(err)));
        }
      });
    });
  }

  /**
   * Simulator fault injection: fire and forget (the tile shows what happens).
   * @returns {Promise<void>}
   */
  inject(id, fault, viewer) {
    const client = this.loggedIn ? this.client : viewer;
    return new Promise((resolve, reject) => {
      if (!client) return reject(new Error('not connected to the broker (sign in first)'));
      client.publish(this.topics.topic('inject', { id }), JSON.stringify({ inject: fault }), { qos: 1 }, (err) => (err ? reject(new Error(explain(err))) : resolve()));
    });
  }
}

export function explain(err) {
  const msg = err && err.message ? err.message : String(err);
  if (/not authori[sz]ed|bad user ?name or password/i.test(msg)) return `login refused by the broker: ${msg.replace(/^connection refused:\s*/i, '')}`;
  return msg;
}
