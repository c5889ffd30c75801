import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
// The page's viewer connection is plain browser JavaScript with mqtt.js and the socket injected.
// @ts-expect-error: a .js module without types
import { ViewerConnection, explainUnreachable } from '../../src/dashboard/public/viewer.js';

type Outcome = 'accept' | 'refuse' | 'close' | 'unreachable';
interface Opts {
  username?: string;
  password?: string;
  createWebsocket: (url: string, protocols: string[]) => EventTarget;
}

/** An mqtt.js client whose broker answers as `decide` says: CONNACK ok, CONNACK 4, a close after open, or no socket at all. */
class FakeClient extends EventEmitter {
  connected = false;
  ended = false;
  readonly subscribed: unknown[] = [];
  constructor(
    readonly opts: Opts,
    decide: (o: Opts) => Outcome,
  ) {
    super();
    const socket = opts.createWebsocket('ws://broker', ['mqtt']);
    queueMicrotask(() => {
      const outcome = decide(opts);
      if (outcome !== 'unreachable') socket.dispatchEvent(new Event('open'));
      if (outcome === 'accept') {
        this.connected = true;
        this.emit('connect');
      } else if (outcome === 'refuse') {
        this.emit('error', Object.assign(new Error('Connection refused: Bad username or password'), { code: 4 }));
        this.emit('close');
      } else {
        this.emit('close');
        if (outcome === 'unreachable' && !this.ended) this.emit('reconnect');
      }
    });
  }
  subscribe(topics: unknown) {
    this.subscribed.push(topics);
  }
  end() {
    this.ended = true;
  }
}

const ACCOUNTS: Record<string, string> = { viewer: 'change-me-viewer' };
const needsAccount = (o: Opts): Outcome => (o.username !== undefined && ACCOUNTS[o.username] === o.password ? 'accept' : 'refuse');

function setup(decide: (o: Opts) => Outcome = needsAccount, stored: Record<string, string> = {}) {
  const clients: FakeClient[] = [];
  const mqtt = {
    connect: (_url: string, opts: Opts) => {
      const c = new FakeClient(opts, decide);
      clients.push(c);
      return c;
    },
  };
  const items = new Map(Object.entries(stored));
  const storage = { getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => void items.set(k, v), removeItem: (k: string) => void items.delete(k) };
  const states: Array<{ state: string; text: string; user: string | null }> = [];
  const refusals: Array<{ anonymous: boolean; reason: string }> = [];
  const problems: Array<{ title: string; detail: string; checks: string[] } | null> = [];
  const connected: FakeClient[] = [];
  const viewer = new ViewerConnection(
    mqtt,
    'ws://127.0.0.1:9001',
    storage,
    {
      onConnect: (c: FakeClient) => connected.push(c),
      onMessage: () => undefined,
      onState: (s: (typeof states)[number]) => states.push(s),
      onRefused: (r: (typeof refusals)[number]) => refusals.push(r),
      onUnreachable: (p: (typeof problems)[number]) => problems.push(p),
    },
    () => new EventTarget(),
  );
  // The fake answers in a microtask: one turn of the event loop lets every answer land.
  const settled = () => new Promise((r) => setImmediate(r));
  return { viewer, clients, items, states, refusals, problems, connected, settled };
}

const KEY = 'aquastop.viewer ws://127.0.0.1:9001';

describe('the viewer connection', () => {
  it('connects anonymously first, and subscribes nothing itself', async () => {
    const t = setup(() => 'accept');
    t.viewer.start();
    await t.settled();
    expect(t.clients[0]!.opts.username).toBeUndefined();
    expect(t.connected).toEqual([t.clients[0]]);
    expect(t.states.at(-1)).toEqual({ state: 'connected', text: 'connected', user: null });
  });

  it('asks for an account when the broker refuses the anonymous viewer, and stops retrying anonymously', async () => {
    const t = setup();
    t.viewer.start();
    await t.settled();
    expect(t.refusals).toEqual([{ anonymous: true, reason: 'login refused by the broker: Bad username or password' }]);
    expect(t.states.at(-1)).toEqual({ state: 'sign-in', text: 'sign-in needed', user: null });
    expect(t.clients).toHaveLength(1);
    expect(t.clients[0]!.ended).toBe(true);
    expect(t.viewer.client).toBeNull();
  });

  it('signs in with an account the broker accepts and keeps it in the session storage', async () => {
    const t = setup();
    t.viewer.start();
    await t.settled();
    await t.viewer.signIn('viewer', 'change-me-viewer');
    expect(t.clients.at(-1)!.opts).toMatchObject({ username: 'viewer', password: 'change-me-viewer' });
    expect(t.connected).toEqual([t.clients.at(-1)]);
    expect(t.states.at(-1)).toEqual({ state: 'connected', text: 'connected as viewer', user: 'viewer' });
    expect(JSON.parse(t.items.get(KEY)!)).toEqual({ username: 'viewer', password: 'change-me-viewer', operator: false });
  });

  it("rejects a refused account with the broker's reason and does not keep it", async () => {
    const t = setup();
    t.viewer.start();
    await t.settled();
    await expect(t.viewer.signIn('viewer', 'wrong')).rejects.toThrow('login refused for viewer: Bad username or password');
    expect(t.items.size).toBe(0);
    expect(t.connected).toEqual([]);
    expect(t.refusals).toHaveLength(1); // only the anonymous one: the form shows the rejection itself
    expect(t.states.at(-1)!.state).toBe('sign-in');
  });

  it('takes a connection the broker closes right after it opened as a refusal', async () => {
    const t = setup((o) => (o.username ? 'accept' : 'close'));
    t.viewer.start();
    await t.settled();
    expect(t.refusals).toEqual([{ anonymous: true, reason: expect.stringMatching(/closed the connection right after it opened/) }]);
    expect(t.clients[0]!.ended).toBe(true);
  });

  it('does not take an unreachable broker for a refusal: it keeps reconnecting', async () => {
    const t = setup(() => 'unreachable');
    t.viewer.start();
    await t.settled();
    expect(t.refusals).toEqual([]);
    expect(t.states.at(-1)!.state).toBe('reconnecting');
    expect(t.clients[0]!.ended).toBe(false);
  });

  it('says which broker URL it cannot reach and what to check, and stops saying so once connected', async () => {
    let reachable = false;
    const t = setup(() => (reachable ? 'accept' : 'unreachable'));
    t.viewer.start();
    await t.settled();
    const p = t.problems.at(-1)!;
    expect(p.title).toBe('Cannot reach the broker at ws://127.0.0.1:9001');
    expect(p.detail).toMatch(/^1 attempt failed since .+; retrying every 2 s\.$/);
    expect(p.checks.join('\n')).toMatch(/WebSocket listener on that host and port/);
    expect(p.checks.join('\n')).toMatch(/--broker-ws.*\?ws=/);
    reachable = true;
    t.viewer.start();
    await t.settled();
    expect(t.problems.at(-1)).toBeNull();
    expect(t.refusals).toEqual([]);
  });

  it('explains a broker that took the WebSocket but never answered in MQTT, a ws:// URL from an https page, and wss:// certificates', () => {
    const silent = explainUnreachable({ url: 'ws://10.0.0.5:9001', failures: 3, since: 0, opened: true });
    expect(silent.detail).toMatch(/^3 attempts failed since/);
    expect(silent.checks[0]).toMatch(/accepted the WebSocket but did not answer the MQTT login within 8 s/);
    const mixed = explainUnreachable({ url: 'ws://10.0.0.5:9001', failures: 1, since: 0, pageProtocol: 'https:' });
    expect(mixed.checks[0]).toMatch(/loaded over https:\/\/.*wss:\/\//);
    const tls = explainUnreachable({ url: 'wss://broker.lan:8884/mqtt', failures: 1, since: 0, pageProtocol: 'https:' });
    expect(tls.checks.at(-1)).toMatch(/trust the broker's certificate \(open https:\/\/broker\.lan:8884\/ once/);
    expect(tls.checks.join('\n')).not.toMatch(/loaded over https/);
  });

  it('uses the account saved for this broker at start, and forgets it when the broker refuses it', async () => {
    const t = setup(needsAccount, { [KEY]: JSON.stringify({ username: 'viewer', password: 'old', operator: false }) });
    t.viewer.start();
    await t.settled();
    expect(t.clients[0]!.opts).toMatchObject({ username: 'viewer', password: 'old' });
    expect(t.refusals).toEqual([{ anonymous: false, reason: 'login refused for viewer: Bad username or password' }]);
    expect(t.items.has(KEY)).toBe(false);
  });

  it('never sends an account saved for another broker', async () => {
    const t = setup(needsAccount, { 'aquastop.viewer ws://elsewhere:9001': JSON.stringify({ username: 'viewer', password: 'change-me-viewer' }) });
    t.viewer.start();
    await t.settled();
    expect(t.clients[0]!.opts.username).toBeUndefined();
  });

  it('signs out: forgets the account and connects anonymously again', async () => {
    const t = setup();
    t.viewer.start();
    await t.settled();
    await t.viewer.signIn('viewer', 'change-me-viewer');
    t.viewer.signOut();
    await t.settled();
    expect(t.items.size).toBe(0);
    expect(t.clients.at(-2)!.ended).toBe(true);
    expect(t.clients.at(-1)!.opts.username).toBeUndefined();
    expect(t.refusals).toHaveLength(2);
  });
});
