import { setFlagsFromString } from 'node:v8';
import { runInThisContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { Connection } from '../../src/telemetry/connection.js';

// V8's own answer to "is this object a dictionary?" (a dictionary options object costs each
// connection of a per-device fleet 0.7 KB, test/bench/fleet-heap.ts).
setFlagsFromString('--allow-natives-syntax');
const hasFastProperties = runInThisContext('(o) => %HasFastProperties(o)') as (o: object) => boolean;

describe("a connection's mqtt.js options", () => {
  // A node list goes to mqtt.js as a URL, which it parses into a new object and deletes from: a dictionary still.
  it('stay an object with fast properties after mqtt.js has filled in its defaults (a plain mqtt(s)://host:port)', () => {
    for (const url of ['mqtt://127.0.0.1:1', 'mqtts://127.0.0.1:1']) {
      // Not opened (mqtt.js connects only when asked): no socket, no timer.
      const c = new Connection({ url, base: 'aquastop', bridgeId: 'memory-test', log: () => undefined });
      expect(c.client.options.keepalive).toBe(60); // mqtt.js's default, put in where it found undefined
      expect(c.client.options.protocolId).toBe('MQTT');
      expect(hasFastProperties(c.client.options), url).toBe(true);
    }
  });

  it("open() settles through the connection's own listeners: it adds none to mqtt.js (added and taken off, they leave its arrays grown)", async () => {
    // Nothing listens on port 1: open() resolves once mqtt.js reports the broker unreachable.
    const c = new Connection({ url: 'mqtt://127.0.0.1:1', base: 'aquastop', bridgeId: 'memory-test', log: () => undefined });
    const counts = () => (['connect', 'offline', 'error', 'close'] as const).map((e) => c.client.listenerCount(e));
    const before = counts();
    const opened = c.open();
    expect(counts()).toEqual(before);
    await opened;
    expect(counts()).toEqual(before);
    await c.end(500);
  });
});
