/**
 * The one duration grammar of the commands and scenario files: a number and a unit, compound
 * forms largest unit first ("3m30s", "1h15m"), or milliseconds; at most 30 days.
 */
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/clock/duration.js';
import { aquastop } from '../helpers/cli.js';

describe('durations', () => {
  it('reads compound forms, largest unit first', () => {
    expect(parseDuration('3m30s')).toBe(210_000);
    expect(parseDuration('1h15m')).toBe(4_500_000);
    expect(parseDuration('1h0m30s500ms')).toBe(3_630_500);
    expect(parseDuration('1h1.5m')).toBe(3_690_000);
    expect(parseDuration('719h59m59s999ms')).toBe(720 * 3_600_000 - 1);
  });

  it('refuses units out of order or twice, spaces, and a compound over 30 days', () => {
    for (const bad of ['30s3m', '1m1m', '1m 30s', '1ms1s', '3m30', 'm30s', '720h1ms']) expect(parseDuration(bad), bad).toBeNull();
  });

  it('a compound duration works on the command line, and a bad one names the flag', async () => {
    const [good, bad] = await Promise.all([
      aquastop(['sim', '--scenario', 'normal-cycle', '--no-mqtt', '--json', '--duration', '1m30s']),
      aquastop(['monitor', '--flap-window', '5m5m']),
    ]);
    // The run is cut short of the scenario's expectations (exit 1), but ran for 90 virtual seconds.
    expect(good.code, good.stderr).not.toBe(2);
    expect(JSON.parse(good.stdout.trim().split('\n').at(-1)!)).toMatchObject({ type: 'summary', t: 90_000 });
    expect([bad.code, bad.stderr]).toEqual([
      2,
      'aquastop: --flap-window must be a duration like "90s", "2m", "1.5h", "3m30s" or "250ms", or a number of milliseconds (got "5m5m")\n',
    ]);
  });
});
