import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
// The page's operator module is plain browser JavaScript with its MQTT client injected.
// @ts-expect-error: a .js module without types
import { Operator } from '../../src/dashboard/public/operator.js';
import { pageTopics } from './page-topics.js';

/** Just enough of an mqtt.js client: connects at once, records publishes, delivers messages. */
class FakeClient extends EventEmitter {
  connected = false;
  readonly published: Array<{ topic: string; payload: string }> = [];
  constructor() {
    super();
    queueMicrotask(() => {
      this.connected = true;
      this.emit('connect');
    });
  }
  subscribe() {}
  end() {}
  publish(topic: string, payload: string, _opts: unknown, cb: (err?: Error) => void) {
    this.published.push({ topic, payload });
    cb();
  }
  deliver(topic: string, body: unknown) {
    this.emit('message', topic, Buffer.from(JSON.stringify(body)));
  }
}

async function loggedIn() {
  let client!: FakeClient;
  const mqtt = { connect: () => (client = new FakeClient()) };
  const op = new Operator(mqtt, 'ws://x', pageTopics(), null);
  await op.login('operator', 'pw');
  return { op, client: () => client };
}

describe('operator commands', () => {
  it('sends a correlation id with each command and takes the result carrying it as the answer', async () => {
    const { op, client } = await loggedIn();
    const reset = op.command('dw-1', { reset: 'trip' });
    const close = op.command('dw-1', { valve: 'CLOSE' });
    const sent = client().published.map((p) => JSON.parse(p.payload) as { id: string });
    expect(sent.map((p) => Object.keys(p).sort())).toEqual([
      ['id', 'reset'],
      ['id', 'valve'],
    ]);
    expect(sent[0]!.id).not.toBe(sent[1]!.id);
    // Answers out of order, and one for a command this page never sent.
    client().deliver('aquastop/dw-1/set/result', { ok: true, command: 'valve', id: 'someone-else' });
    client().deliver('aquastop/dw-1/set/result', { ok: true, command: 'valve', id: sent[1]!.id });
    client().deliver('aquastop/dw-1/set/result', { ok: false, error: 'wet', command: 'reset', id: sent[0]!.id });
    expect(await close).toEqual({ ok: true, command: 'valve', id: sent[1]!.id });
    expect(await reset).toEqual({ ok: false, error: 'wet', command: 'reset', id: sent[0]!.id });
  });

  it("takes as a command's answer the result naming that command, not a refused injection", async () => {
    const { op, client } = await loggedIn();
    const answer = op.command('dw-1', { valve: 'CLOSE' });
    expect(client().published).toEqual([{ topic: 'aquastop/dw-1/set', payload: expect.stringMatching(/^\{"valve":"CLOSE","id":"web-1-[a-z0-9]+"\}$/) }]);
    client().deliver('aquastop/dw-1/set/result', { ok: false, error: 'powered off: nothing to inject', command: 'inject' });
    client().deliver('aquastop/dw-2/set/result', { ok: false, error: 'another device', command: 'valve' });
    client().deliver('aquastop/dw-1/set/result', { ok: true, command: 'valve' });
    expect(await answer).toEqual({ ok: true, command: 'valve' });
  });

  it('pairs results without a command key with the oldest pending command', async () => {
    const { op, client } = await loggedIn();
    const first = op.command('dw-1', { reset: 'trip' });
    const second = op.command('dw-1', { valve: 'CLOSE' });
    client().deliver('aquastop/dw-1/set/result', { ok: false, error: 'the base pan is still wet' });
    client().deliver('aquastop/dw-1/set/result', { ok: true });
    expect(await first).toEqual({ ok: false, error: 'the base pan is still wet' });
    expect(await second).toEqual({ ok: true });
  });
});
