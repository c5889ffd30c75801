/**
 * brokerTarget (connection.ts): a plain mqtt(s)://host:port goes to mqtt.js as options (protocol,
 * host, port), which keeps a client about 1 KB smaller; everything else as the URL, as before.
 * Each case reads back where the client would connect (its options after mqtt.js has read them).
 */
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { brokerTarget } from '../../src/telemetry/connection.js';

function whereTo(value: string) {
  const target = brokerTarget(value);
  const client = mqtt.connect(target.url, { ...target.options, manualConnect: true, log: () => undefined });
  // manualConnect: nothing is opened, so there is nothing to end.
  const o = client.options;
  return { url: target.url, protocol: o.protocol, host: o.host, port: o.port, path: o.path, username: o.username, password: o.password?.toString() };
}

describe('brokerTarget', () => {
  it('gives a plain URL as options, with the scheme default port and an IPv6 host without brackets', () => {
    expect(whereTo('mqtt://127.0.0.1:1884')).toMatchObject({ url: '', protocol: 'mqtt', host: '127.0.0.1', port: 1884 });
    expect(whereTo('mqtts://broker.example')).toMatchObject({ url: '', protocol: 'mqtts', host: 'broker.example', port: 8883 });
    expect(whereTo('mqtt://broker.example/')).toMatchObject({ url: '', protocol: 'mqtt', host: 'broker.example', port: 1883 });
    expect(whereTo('mqtt://[::1]:1883')).toMatchObject({ url: '', protocol: 'mqtt', host: '::1', port: 1883 });
  });

  it('gives a URL with a path, credentials or a query as the URL, parsed by mqtt.js', () => {
    expect(whereTo('ws://broker.example:9001/mqtt')).toMatchObject({ url: 'ws://broker.example:9001/mqtt', protocol: 'ws', host: 'broker.example', port: 9001, path: '/mqtt' });
    expect(whereTo('mqtt://fleet:secret@broker.example:1883')).toMatchObject({ url: 'mqtt://fleet:secret@broker.example:1883', username: 'fleet', password: 'secret', port: 1883 });
    expect(brokerTarget('mqtt://broker.example:1883?clientId=x').url).toBe('mqtt://broker.example:1883?clientId=x');
  });

  it('gives the nodes of a cluster as servers, the first node as the URL', () => {
    const target = brokerTarget('mqtt://a.example:1883,mqtt://b.example:1884');
    expect(target).toEqual({
      url: 'mqtt://a.example:1883',
      options: {
        servers: [
          { protocol: 'mqtt', host: 'a.example', port: 1883 },
          { protocol: 'mqtt', host: 'b.example', port: 1884 },
        ],
      },
    });
  });
});
