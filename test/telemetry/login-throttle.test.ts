import { describe, expect, it } from 'vitest';
import { addressKey, LoginThrottle } from '../../src/telemetry/login-throttle.js';

function throttle(options: { maxEntries?: number } = {}) {
  let now = 1_000_000;
  const t = new LoginThrottle({ now: () => now, ...options });
  return { t, advance: (ms: number) => (now += ms) };
}

describe('failed-login back-off', () => {
  it('lets an address fail 5 times freely, then refuses it for 1 s, 2 s, 4 s ... from each new failure', () => {
    const { t, advance } = throttle();
    for (let i = 0; i < 5; i++) {
      expect(t.retryAfter('10.0.0.1', `user${i}`)).toBe(0);
      expect(t.failed('10.0.0.1', `user${i}`)).toBe(0);
    }
    expect(t.failed('10.0.0.1', 'user5')).toBe(1_000);
    expect(t.retryAfter('10.0.0.1', 'someone-else')).toBe(1_000);
    expect(t.retryAfter('10.0.0.2', 'someone-else')).toBe(0);
    advance(999);
    expect(t.retryAfter('10.0.0.1', 'x')).toBe(1);
    advance(1);
    expect(t.retryAfter('10.0.0.1', 'x')).toBe(0);
    expect(t.failed('10.0.0.1', 'user6')).toBe(2_000);
    advance(2_000);
    expect(t.failed('10.0.0.1', 'user7')).toBe(4_000);
  });

  it('counts a user name across addresses, whether or not the name exists', () => {
    const { t } = throttle();
    for (let i = 0; i < 5; i++) t.failed(`10.0.1.${i}`, 'operator');
    expect(t.failed('10.0.1.9', 'operator')).toBe(1_000);
    // Refused: the addresses that failed as "operator"; checked: an address that never did.
    expect(t.retryAfter('10.0.1.0', 'operator')).toBe(1_000);
    expect(t.retryAfter('10.0.2.1', 'operator')).toBe(0);
    expect(t.retryAfter('10.0.1.0', 'viewer')).toBe(0);
    for (let i = 0; i < 5; i++) t.failed(`10.0.3.${i}`, 'no-such-name');
    expect(t.failed('10.0.3.9', 'no-such-name')).toBe(1_000);
    expect(t.retryAfter('10.0.3.9', 'no-such-name')).toBe(1_000);
  });

  it('caps the back-off at 5 minutes', () => {
    const { t, advance } = throttle();
    let last = 0;
    for (let i = 0; i < 40; i++) {
      advance(last);
      last = t.failed('10.0.0.1', 'operator');
    }
    expect(last).toBe(5 * 60_000);
  });

  it('does not count or extend anything for attempts refused during the back-off', () => {
    const { t, advance } = throttle();
    for (let i = 0; i < 6; i++) t.failed('10.0.0.1', 'operator');
    // A client retrying every 100 ms is refused without a check; the window does not move.
    for (let i = 0; i < 9; i++) {
      expect(t.retryAfter('10.0.0.1', 'operator')).toBeGreaterThan(0);
      advance(100);
    }
    advance(100);
    expect(t.retryAfter('10.0.0.1', 'operator')).toBe(0);
  });

  it('clears a user name on a successful login but never the address', () => {
    const { t } = throttle();
    for (let i = 0; i < 6; i++) t.failed('10.0.0.1', 'operator');
    t.succeeded('10.0.0.2', 'operator');
    expect(t.retryAfter('10.0.0.2', 'operator')).toBe(0);
    expect(t.retryAfter('10.0.0.1', 'viewer')).toBe(1_000);
  });

  it('forgets quiet keys and keeps each map within maxEntries, evicting the least recently failed', () => {
    const { t, advance } = throttle({ maxEntries: 3 });
    for (let i = 0; i < 6; i++) t.failed('10.0.0.1', 'a');
    t.failed('10.0.0.2', 'b');
    t.failed('10.0.0.3', 'c');
    expect(t.sizes).toEqual({ addresses: 3, names: 3, pairs: 3 });
    // A fourth key evicts the oldest (10.0.0.1 / "a": its back-off is lifted early, nobody is refused for it).
    t.failed('10.0.0.4', 'd');
    expect(t.sizes).toEqual({ addresses: 3, names: 3, pairs: 3 });
    expect(t.retryAfter('10.0.0.1', 'a')).toBe(0);
    // Keys quiet for 15 minutes are swept before anything else is evicted.
    advance(15 * 60_000);
    for (let i = 0; i < 6; i++) t.failed('10.0.0.5', 'e');
    t.failed('10.0.0.6', 'f');
    expect(t.sizes).toEqual({ addresses: 2, names: 2, pairs: 2 });
    expect(t.retryAfter('10.0.0.5', 'zzz')).toBe(1_000);
  });

  it('counts IPv6 clients per /64 and an IPv4-mapped address as IPv4', () => {
    expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2::9')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey(undefined)).toBe('unknown');
    const { t } = throttle();
    for (let i = 0; i < 6; i++) t.failed(`2001:db8:1:2::${i + 1}`, `u${i}`);
    expect(t.retryAfter('2001:db8:1:2:ffff::1', 'other')).toBe(1_000);
    expect(t.retryAfter('2001:db8:1:3::1', 'other')).toBe(0);
  });
});
