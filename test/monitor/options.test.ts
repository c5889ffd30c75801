import { describe, expect, it } from 'vitest';
import { MonitorError, parseMonitorOptions } from '../../src/monitor/options.js';

const parse = (extra: Record<string, unknown>) => parseMonitorOptions({ dataDir: '/tmp/x', ...extra });
const message = (extra: Record<string, unknown>) => {
  try {
    parse(extra);
  } catch (err) {
    expect(err).toBeInstanceOf(MonitorError);
    return (err as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(extra)}`);
};

describe('monitor bounds options', () => {
  it('defaults to 30 days of retention, 10,000 devices, flapping at 6 changes in 10 min with 15 quiet min', () => {
    expect(parse({})).toMatchObject({ retentionMs: 720 * 3_600_000, maxDevices: 10_000, flapChanges: 6, flapWindowMs: 600_000, flapQuietMs: 900_000 });
  });

  it('detects DOWN with the fixed multiple by default; phi and its threshold on request', () => {
    expect(parse({})).toMatchObject({ detector: 'fixed', phiThreshold: 8, downAfter: 1.5 });
    expect(parse({ detector: 'phi', phiThreshold: '12' })).toMatchObject({ detector: 'phi', phiThreshold: 12 });
  });

  it('reads durations in the project grammar, from a flag string or a number of ms', () => {
    expect(parse({ retentionMs: '1.5h', flapWindowMs: '90s', flapQuietMs: '3600000' })).toMatchObject({ retentionMs: 5_400_000, flapWindowMs: 90_000, flapQuietMs: 3_600_000 });
    expect(parse({ retentionMs: '720h' }).retentionMs).toBe(720 * 3_600_000);
  });

  it.each([
    [{ retentionMs: '30d' }, '--retention must be a duration like "90s", "2m", "1.5h", "3m30s" or "250ms", or a number of milliseconds (got "30d")'],
    [{ retentionMs: '720.5h' }, '--retention must be at most 30 days ("720h"): got 720.5h'],
    [{ retentionMs: '99999999999999999999h' }, '--retention must be at most 30 days ("720h")'],
    [{ retentionMs: '59m' }, '--retention must be at least 1h (got "59m")'],
    [{ maxDevices: '1e9' }, '--max-devices must be at most 1000000'],
    [{ maxDevices: 'lots' }, '--max-devices must be an integer'],
    [{ flapChanges: '1' }, '--flap-changes must be at least 2'],
    [{ flapChanges: '101' }, '--flap-changes must be at most 100'],
    [{ flapWindowMs: '25h' }, '--flap-window must be at most 24h (got "25h")'],
    [{ flapQuietMs: '0' }, '--flap-quiet must be at least 1s (got "0")'],
    [{ detector: 'accrual' }, '--detector must be fixed or phi'],
    [{ phiThreshold: 'high' }, '--phi-threshold must be a number'],
    [{ phiThreshold: '21' }, '--phi-threshold must be at most 20'],
  ])('rejects %j with one line naming the flag', (extra, expected) => {
    const m = message(extra);
    expect(m).toContain(expected);
    expect(m).not.toContain('\n');
  });
});
