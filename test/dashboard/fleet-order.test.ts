import { describe, expect, it } from 'vitest';
// The page's ordering is plain browser JavaScript without DOM access, so it runs here as is.
// @ts-expect-error: a .js module without types
import { Fleet } from '../../src/dashboard/public/fleet.js';
// @ts-expect-error: a .js module without types
import { FleetOrder } from '../../src/dashboard/public/order.js';
import { deviceState, type DeviceState } from '../helpers/device-state.js';
import { pageTopics, servedConfig as config } from './page-topics.js';

const state = (patch: Partial<DeviceState> = {}) => JSON.stringify(deviceState(patch));
const hb = (seq: number) => JSON.stringify({ seq, boot: 1, uptimeS: seq, intervalS: 10, state: 'armed.idle', fault: null, ts: 'x' });

function setup() {
  let t = 1_000_000;
  const fleet = new Fleet(pageTopics(), () => t);
  const order = new FleetOrder(fleet, { faults: config.faults, severities: config.severities });
  const feed = (id: string, tail: string, payload: string) => fleet.handle(`aquastop/${id}${tail}`, payload);
  const flush = () => {
    const dirty = fleet.dirty;
    fleet.dirty = new Set();
    return order.update(dirty) as boolean;
  };
  return { fleet, order, feed, flush, advance: (ms: number) => (t += ms) };
}

/** A fleet of every kind: healthy, down, and faulted at each severity, fed in id order. */
function mixed() {
  const s = setup();
  const online = (id: string) => s.feed(id, '/availability', '{"state":"online"}');
  for (const id of ['a-ok', 'b-ok']) {
    online(id);
    s.feed(id, '', state());
  }
  s.feed('c-down', '/availability', '{"state":"offline"}');
  s.feed('c-down', '', state());
  online('d-i10');
  s.feed('d-i10', '', state({ fault: 'i10', breaker: 'tripped', state: 'tripped' }));
  online('e-i30');
  s.feed('e-i30', '', state({ fault: 'i30', breaker: 'latched', state: 'latched', leak: true }));
  s.feed('f-i30-down', '/availability', '{"state":"offline"}');
  s.feed('f-i30-down', '', state({ fault: 'i30', breaker: 'latched', state: 'latched', leak: true }));
  online('g-i11');
  s.feed('g-i11', '', state({ fault: 'i11', breaker: 'tripped', state: 'tripped' }));
  s.flush();
  return s;
}

describe('the fleet order of the page', () => {
  it('lists faulted devices by catalogue severity (down ones first within it), then down devices, then the rest by id', () => {
    const { order } = mixed();
    expect(config.faults.i30!.severity).toBe('critical');
    expect(config.faults.i10!.severity).toBe('error');
    expect(order.ids).toEqual(['f-i30-down', 'e-i30', 'd-i10', 'g-i11', 'c-down', 'a-ok', 'b-ok']);
  });

  it('counts down, latched, tripped and each fault code for the summary bar, fault codes most severe first', () => {
    const { order } = mixed();
    expect(order.summary()).toEqual({
      down: 2,
      latched: 2,
      tripped: 2,
      probing: 0,
      service: 0,
      faults: [
        { code: 'i30', count: 2 },
        { code: 'i10', count: 1 },
        { code: 'i11', count: 1 },
      ],
    });
  });

  it('shows only the devices of a pressed figure, all of them when it is pressed again, and combines it with the text filter', () => {
    const { order } = mixed();
    order.toggleFacet('status:down');
    expect(order.ids).toEqual(['f-i30-down', 'c-down']);
    order.toggleFacet('breaker:tripped');
    expect(order.ids).toEqual(['d-i10', 'g-i11']);
    order.setText('I11');
    expect(order.ids).toEqual(['g-i11']);
    order.toggleFacet('breaker:tripped');
    order.setText(',30');
    expect(order.ids).toEqual(['f-i30-down', 'e-i30']);
    order.setText('b-');
    expect(order.ids).toEqual(['b-ok']);
    order.setText('');
    expect(order.ids).toHaveLength(7);
  });

  it('moves a device when it changes: a fault raised, a device going down, a fault cleared', () => {
    const { order, feed, flush } = mixed();
    feed('b-ok', '', state({ fault: 'iB0', breaker: 'latched', state: 'latched' }));
    expect(flush()).toBe(true);
    expect(order.ids.slice(0, 3)).toEqual(['f-i30-down', 'e-i30', 'b-ok']);
    feed('a-ok', '/availability', '{"state":"offline"}');
    flush();
    expect(order.ids.slice(-2)).toEqual(['a-ok', 'c-down']);
    expect(order.summary().down).toBe(3);
    feed('e-i30', '', state());
    flush();
    expect(order.ids.at(-1)).toBe('e-i30');
    expect(order.summary().faults).toEqual([
      { code: 'i30', count: 1 },
      { code: 'iB0', count: 1 },
      { code: 'i10', count: 1 },
      { code: 'i11', count: 1 },
    ]);
  });

  it('keeps the order on heartbeats, and turns a device that went silent down at the tick', () => {
    const { order, feed, flush, fleet, advance } = setup();
    for (const id of ['x', 'y']) feed(id, '/heartbeat', hb(1));
    flush();
    expect(order.ids).toEqual(['x', 'y']);
    feed('x', '/heartbeat', hb(2));
    expect(flush()).toBe(false);
    advance(10_000);
    feed('x', '/heartbeat', hb(3));
    advance(7_000);
    fleet.tick(); // y's last heartbeat is 17 s old: silent (down); x's 7 s
    expect(flush()).toBe(true);
    expect(order.ids).toEqual(['y', 'x']);
    expect(order.summary().down).toBe(1);
  });

  it('sorts by a column, the same column again in reverse, and back to faults first', () => {
    const { order } = mixed();
    order.sortBy('id');
    expect(order.ids).toEqual(['a-ok', 'b-ok', 'c-down', 'd-i10', 'e-i30', 'f-i30-down', 'g-i11']);
    order.sortBy('id');
    expect(order.ids).toEqual(['g-i11', 'f-i30-down', 'e-i30', 'd-i10', 'c-down', 'b-ok', 'a-ok']);
    order.sortBy('breaker', 1);
    expect(order.ids.slice(0, 4)).toEqual(['e-i30', 'f-i30-down', 'd-i10', 'g-i11']);
    order.sortBy('attention', 1);
    expect(order.ids[0]).toBe('f-i30-down');
    expect(order.sortBy('nonsense')).toBe(false);
  });
});
