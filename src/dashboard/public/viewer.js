// The page's viewer connection (read-only: the fleet's topics). It starts anonymously, which a
// loopback-only broker allows; a broker that needs an account refuses it, either with a CONNACK
// ("Not authorized", "Bad username or password") or by closing the connection right after it
// opened. Then the connection stops retrying (retrying anonymously cannot succeed) and asks for a
// viewer or operator account. Accepted credentials are kept in sessionStorage only (this tab,
// until it closes), under a key naming the broker, so they are never sent to another broker.
// A broker that cannot be reached is not a refusal: the connection keeps retrying, and the page
// is told what was tried and what to check (`onUnreachable`).
// No DOM here: the page renders `onState`; tested in node with a fake mqtt.

import { explain } from './operator.js';

const REFUSED_CODES = new Set([4, 5, 134, 135]);
const RECONNECT_MS = 2000;
const CONNECT_TIMEOUT_MS = 8000;

/**
 * Why the page cannot reach the broker at `url`, and what to check, as text for the page.
 * `opened`: a WebSocket opened but MQTT never answered (the connect timed out).
 * `pageProtocol`: the page's own (`location.protocol`): an https page cannot open ws://.
 */
export function explainUnreachable({ url, failures, since, opened = false, pageProtocol = 'http:' }) {
  const secure = url.startsWith('wss://');
  const checks = [];
  if (pageProtocol === 'https:' && !secure) {
    checks.push(
      'This page was loaded over https://, and a browser does not open a plain ws:// connection from it: give the broker as wss://… (?ws= in the address, or --broker-ws).',
    );
  }
  if (opened) {
    checks.push(
      `Something at ${url} accepted the WebSocket but did not answer the MQTT login within ${CONNECT_TIMEOUT_MS / 1000} s: is it the broker's MQTT-over-WebSocket listener (mosquitto: a listener with "protocol websockets"), with the path it expects?`,
    );
  } else {
    checks.push(
      `Is the broker running, with a WebSocket listener on that host and port? (aquastop start prints it on its "broker" line; mosquitto needs a "listener PORT" with "protocol websockets".)`,
    );
  }
  checks.push("Is the URL right? The dashboard serves the one it was started with (--broker-ws); ?ws=… in this page's address overrides it.");
  checks.push('Can this browser reach that host? 127.0.0.1 and localhost mean the machine the browser runs on; a firewall or proxy must let WebSocket connections through.');
  if (secure) checks.push(`wss://: this browser must trust the broker's certificate (open https://${url.slice('wss://'.length).split('/')[0]}/ once to see what it says).`);
  const tries = `${failures} attempt${failures === 1 ? '' : 's'}`;
  return {
    title: `Cannot reach the broker at ${url}`,
    detail: `${tries} failed since ${new Date(since).toLocaleTimeString()}; retrying every ${RECONNECT_MS / 1000} s.`,
    checks,
  };
}

export class ViewerConnection {
  /**
   * @param mqtt mqtt.js (its `connect`)
   * @param storage sessionStorage, or anything with getItem/setItem/removeItem
   * @param handlers `{ onConnect(client), onMessage(topic, payload), onState({state, text, user}) }`
   * @param makeSocket (url, protocols) => WebSocket; injectable for tests
   */
  constructor(mqtt, wsUrl, storage, handlers, makeSocket = (url, protocols) => new WebSocket(url, protocols)) {
    this.mqtt = mqtt;
    this.wsUrl = wsUrl;
    this.storage = storage;
    this.handlers = handlers;
    this.makeSocket = makeSocket;
    this.key = `aquastop.viewer ${wsUrl}`;
    this.client = null;
    /** The account in use, or null when anonymous. */
    this.account = null;
    /** Settles a pending signIn(). @type {{ resolve: (value?: unknown) => void, reject: (err: Error) => void } | null} */
    this.waiting = null;
    /** Failed attempts since the broker was last reached, and when the first of them began. */
    this.failures = 0;
    this.failingSince = null;
    /** The page's own protocol: from an https page a browser opens no plain ws://. */
    this.pageProtocol = typeof location === 'undefined' ? 'http:' : location.protocol;
  }

  /** Connects with the account saved for this broker in this tab, else anonymously. */
  start() {
    this.open(this.saved());
  }

  /** The saved {username, password, operator} for this broker, or null. */
  saved() {
    try {
      const v = JSON.parse(this.storage.getItem(this.key) ?? 'null');
      return v && typeof v.username === 'string' && typeof v.password === 'string' ? v : null;
    } catch {
      return null;
    }
  }

  /** Connects with an account; resolves once the broker accepts it, rejects with its reason. */
  signIn(username, password, { operator = false } = {}) {
    if (this.waiting) this.waiting.reject(new Error('superseded by another sign-in'));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.open({ username, password, operator });
    });
  }

  /** Forgets the account and goes back to an anonymous connection. */
  signOut() {
    this.storage.removeItem(this.key);
    this.open(null);
  }

  open(account) {
    if (this.client) this.client.end(true);
    this.account = account;
    let attempt = { opened: false, startedAt: Date.now() };
    const client = this.mqtt.connect(this.wsUrl, {
      clientId: `aquastop-dashboard-${Math.random().toString(16).slice(2, 10)}`,
      ...(account ? { username: account.username, password: account.password } : {}),
      reconnectPeriod: RECONNECT_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // Our own socket, to tell a broker that closed an open connection from one not reachable.
      createWebsocket: (url, protocols) => {
        const socket = this.makeSocket(url, protocols);
        const seen = attempt;
        socket.addEventListener('open', () => (seen.opened = true));
        return socket;
      },
    });
    this.client = client;
    const mine =
      (fn) =>
      (...args) =>
        this.client === client && fn(...args);
    const who = account ? account.username : null;
    this.state('connecting', account ? `signing in as ${who}…` : 'connecting…');
    client.on(
      'connect',
      mine(() => {
        attempt.connected = true;
        this.failures = 0;
        this.failingSince = null;
        this.handlers.onUnreachable?.(null);
        if (account) this.storage.setItem(this.key, JSON.stringify(account));
        this.state('connected', account ? `connected as ${who}` : 'connected');
        this.handlers.onConnect(client);
        this.settle(null);
      }),
    );
    client.on(
      'message',
      mine((topic, payload) => this.handlers.onMessage(topic, payload)),
    );
    client.on(
      'reconnect',
      mine(() => {
        attempt = { opened: false, startedAt: Date.now() };
        this.state('reconnecting', 'reconnecting…');
      }),
    );
    client.on(
      'error',
      mine((err) => {
        if (REFUSED_CODES.has(err.code)) return this.refused(explain(err));
        if (err.message === 'connack timeout') attempt.timedOut = true;
        this.state('error', `broker error: ${explain(err)}`);
      }),
    );
    client.on(
      'close',
      mine(() => {
        if (attempt.opened && !attempt.connected && !attempt.timedOut) {
          this.refused('the broker closed the connection right after it opened (it needs an account)');
          return;
        }
        if (attempt.connected || attempt.counted) return;
        // Nothing answered (or not in MQTT): not a refusal, so keep retrying, and say what to check.
        attempt.counted = true;
        this.failures++;
        this.failingSince ??= attempt.startedAt;
        this.handlers.onUnreachable?.(
          explainUnreachable({ url: this.wsUrl, failures: this.failures, since: this.failingSince, opened: attempt.opened, pageProtocol: this.pageProtocol }),
        );
      }),
    );
  }

  refused(reason) {
    this.client.end(true);
    this.client = null;
    const account = this.account;
    if (account) this.storage.removeItem(this.key);
    const text = account ? `login refused for ${account.username}: ${reason.replace(/^login refused by the broker: /, '')}` : reason;
    this.state('sign-in', account ? text : 'sign-in needed');
    this.settle(new Error(text), { anonymous: !account, reason: text });
  }

  settle(err, refusal) {
    const waiting = this.waiting;
    this.waiting = null;
    if (waiting) {
      if (err) waiting.reject(err);
      else waiting.resolve();
    } else if (refusal) this.handlers.onRefused?.(refusal);
  }

  state(state, text) {
    this.handlers.onState({ state, text, user: this.account ? this.account.username : null });
  }
}
