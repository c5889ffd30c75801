import { describe, expect, it } from 'vitest';
// The page's model is plain browser JavaScript without DOM access, so it runs here as is.
// @ts-expect-error: a .js module without types
import { Fleet, READ_TOPICS } from '../../src/dashboard/public/fleet.js';
import { filterFor, parseTopic, TOPICS, topicFor, type TopicName } from '../../src/protocol/topics.js';
import { deviceState, type DeviceState } from '../helpers/device-state.js';
import { pageTopics } from './page-topics.js';

const hb = (seq: number, boot = 1, intervalS = 10) => JSON.stringify({ seq, boot, uptimeS: seq * 10, intervalS, state: 'armed.idle', fault: null, ts: '2026-01-01T00:00:00Z' });
const state = (patch: Partial<DeviceState> = {}) => JSON.stringify(deviceState(patch));

function fleetAt() {
  let t = 1_000_000;
  const fleet = new Fleet(pageTopics(), () => t);
  return { fleet, advance: (ms: number) => (t += ms) };
}

describe('the page fleet model', () => {
  it('reads the topics it subscribes to, as the contract served to it says, and ignores others', () => {
    const topics = pageTopics();
    expect(READ_TOPICS).toEqual(['state', 'availability', 'heartbeat', 'fault', 'faultMemory', 'setResult', 'bridgeState']);
    expect(topics.parse('aquastop/dw-1', READ_TOPICS)).toEqual({ name: 'state', id: 'dw-1' });
    expect(topics.parse('aquastop/dw-1/set/result', READ_TOPICS)).toEqual({ name: 'setResult', id: 'dw-1' });
    expect(topics.parse('aquastop/bridge/p1/state', READ_TOPICS)).toEqual({ name: 'bridgeState', bridge: 'p1' });
    expect(topics.parse('aquastop/bridge/state', READ_TOPICS)).toBeNull();
    expect(topics.parse('aquastop/bridge/heartbeat', READ_TOPICS)).toBeNull();
    expect(topics.parse('aquastop/dw-1/set', READ_TOPICS)).toBeNull();
    expect(topics.parse('aquastop/a+b/heartbeat', READ_TOPICS)).toBeNull();
    expect(topics.parse(`aquastop/${'x'.repeat(65)}`, READ_TOPICS)).toBeNull();
    expect(topics.parse('homeassistant/valve/dw-1/valve/config', READ_TOPICS)).toBeNull();
  });

  it('builds, filters and parses every device and bridge topic exactly as src/protocol/topics.ts does', () => {
    for (const base of ['aquastop', 'home/aq']) {
      const topics = pageTopics(base);
      const names = (Object.keys(TOPICS) as TopicName[]).filter((n) => TOPICS[n].template.startsWith('{base}/'));
      expect(names.length).toBeGreaterThanOrEqual(10);
      for (const name of names) {
        const topic = topicFor(name, { base, id: 'dw-1', bridge: 'p1' });
        expect(topics.topic(name, { id: 'dw-1', bridge: 'p1' }), name).toBe(topic);
        expect(topics.filter(name), name).toBe(filterFor(name, base));
        // The server's parser names the topics anyone subscribes to (not `exercise`); where it names one, the page agrees.
        const server = parseTopic(topic, base);
        if (server !== null || READ_TOPICS.includes(name)) expect(topics.parse(topic, names), name).toEqual(server);
      }
      expect(() => topics.topic('set', { id: 'a/b' })).toThrow(/valid id/);
    }
  });

  it('shows offline only the devices of the process whose bridge went offline', () => {
    const { fleet } = fleetAt();
    for (const [id, bridge] of [
      ['a', 'p1'],
      ['b', 'p2'],
    ]) {
      fleet.handle(`aquastop/${id}/availability`, JSON.stringify({ state: 'online', bridge }));
      fleet.handle(`aquastop/${id}/heartbeat`, hb(1));
    }
    fleet.handle('aquastop/bridge/p1/state', '{"state":"offline"}');
    expect([fleet.devices.get('a').status, fleet.devices.get('b').status]).toEqual(['offline', 'online']);
    expect(fleet.offlineBridges()).toBe(1);
  });

  it('turns a device silent after 1.5 heartbeat intervals plus a second, and online on the next heartbeat', () => {
    const { fleet, advance } = fleetAt();
    fleet.handle('aquastop/dw-1/heartbeat', hb(1));
    const d = fleet.devices.get('dw-1');
    expect(d.status).toBe('online');
    advance(15_999);
    fleet.tick();
    expect(d.status).toBe('online');
    advance(2);
    fleet.tick();
    expect(d.status).toBe('silent');
    expect(fleet.ageS(d)).toBe(16);
    fleet.handle('aquastop/dw-1/heartbeat', hb(2));
    expect(d.status).toBe('online');
  });

  it('says offline when availability says so, even with fresh heartbeats', () => {
    const { fleet } = fleetAt();
    fleet.handle('aquastop/dw-1/heartbeat', hb(1));
    fleet.handle('aquastop/dw-1/availability', '{"state":"offline"}');
    expect(fleet.devices.get('dw-1').status).toBe('offline');
  });

  it('counts lost heartbeats from seq gaps, but not across a restart', () => {
    const { fleet } = fleetAt();
    for (const s of [1, 2, 5]) fleet.handle('aquastop/dw-1/heartbeat', hb(s));
    fleet.handle('aquastop/dw-1/heartbeat', hb(1, 2));
    const d = fleet.devices.get('dw-1');
    expect(d.lostBeats).toBe(2);
    expect(d.timeline.map((e: { text: string }) => e.text)).toContain('restarted (boot 2)');
  });

  it('keeps a timeline of state, valve and fault changes', () => {
    const { fleet } = fleetAt();
    fleet.handle('aquastop/dw-1', state());
    fleet.handle('aquastop/dw-1', state({ state: 'armed.filling', valve: 'open' }));
    fleet.handle(
      'aquastop/dw-1/fault',
      JSON.stringify({ id: '1-1', event: 'raised', code: 'i30', display: ',30', text: 'Anti-flood', severity: 'critical', reset: 'manual', ts: 'x' }),
    );
    fleet.handle('aquastop/dw-1', state({ state: 'latched', breaker: 'latched', fault: 'i30', leak: true }));
    const d = fleet.devices.get('dw-1');
    expect(d.timeline.map((e: { kind: string; text: string }) => `${e.kind}: ${e.text}`)).toEqual([
      'state: state armed.idle · breaker armed',
      'state: state armed.filling · breaker armed',
      'valve: valve open',
      'fault: raised ,30 Anti-flood',
      'state: state latched · breaker latched',
      'valve: valve closed',
    ]);
    expect(fleet.faultCode(d)).toBe('i30');
    expect(fleet.summary()).toMatchObject({ total: 1, faulted: 1 });
  });

  it('drops malformed payloads without creating a device', () => {
    const { fleet } = fleetAt();
    expect(fleet.handle('aquastop/dw-1', 'not json')).toBe(false);
    expect(fleet.handle('aquastop/dw-1/heartbeat', '{"seq":"one"}')).toBe(false);
    expect(fleet.devices.size).toBe(0);
    expect(fleet.stats.invalid).toBe(2);
  });

  it('computes the availability it has watched: online time over observed time', () => {
    const { fleet, advance } = fleetAt();
    fleet.handle('aquastop/dw-1/heartbeat', hb(1)); // online
    const d = fleet.devices.get('dw-1');
    expect(fleet.availability(d)).toBe(null);
    advance(30_000);
    fleet.tick(); // silent since 16 s after the heartbeat
    expect(d.status).toBe('silent');
    advance(14_000);
    fleet.handle('aquastop/dw-1/heartbeat', hb(2)); // online again at 44 s
    advance(6_000);
    // online 0-30 s (silence is noticed at the tick; the page ticks every second) and 44-50 s, of 50 s
    expect(fleet.availability(d)).toBe(36 / 50);
  });
});
