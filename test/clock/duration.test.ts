/**
 * The one duration grammar of the commands and scenario files: a number and a unit, compound
 * forms largest unit first ("3m30s", "1h15m"), or milliseconds; at most 30 days.
 */
import { describe, expect, it } from 'vitest';
import { durationSchema, MAX_DURATION_MS, parseDuration } from '../../src/clock/duration.js';
import { aquastop } from '../helpers/cli.js';

const DURATION_MESSAGE = 'a duration like "90s", "2m", "1.5h", "3m30s" or "250ms", or a number of milliseconds';

/** The one-line messages a refused value gets (each a zod custom issue, as a schema refusing on its own terms gives). */
function refusal(value: unknown): string[] {
  const parsed = durationSchema.safeParse(value);
  if (parsed.success) return [`accepted as ${parsed.data}`];
  for (const issue of parsed.error.issues) expect(issue.code).toBe('custom');
  return parsed.error.issues.map((i) => i.message);
}

describe('durations', () => {
  it('reads each unit, decimals with any number of digits after the point, rounded to a millisecond', () => {
    const cases: [string, number][] = [
      ['90s', 90_000],
      ['2m', 120_000],
      ['1.5h', 5_400_000],
      ['250ms', 250],
      ['1.25h', 4_500_000],
      ['0.125s', 125],
      ['10.75m', 645_000],
      ['1.5ms', 2],
      ['2.4ms', 2],
      ['0s', 0],
      ['0', 0],
      ['250', 250],
      ['007', 7],
    ];
    for (const [text, ms] of cases) expect(parseDuration(text), text).toBe(ms);
  });

  it('refuses what is not a number and a unit: a point without digits, spaces, signs, exponents, other units', () => {
    for (const bad of ['', ' ', '.5s', '5.s', '1..5s', '1.5', ' 5', '5 ', ' 90s', '90s ', '-5s', '-5', '+5', '1e3', '1e3ms', '5x', '5sec', '5 s', '1d', 'h', '0x10'])
      expect(parseDuration(bad), JSON.stringify(bad)).toBeNull();
  });

  it('takes a whole number of milliseconds >= 0 as a number, and nothing else', () => {
    expect(durationSchema.parse(0)).toBe(0);
    expect(durationSchema.parse(90_000)).toBe(90_000);
    expect(durationSchema.parse(MAX_DURATION_MS)).toBe(MAX_DURATION_MS);
    for (const bad of [-1, -0.5, 1.5]) expect(refusal(bad), String(bad)).toEqual([DURATION_MESSAGE]);
  });

  it('holds every form to 30 days, and names the value it refused (the first 40 characters of it)', () => {
    expect(MAX_DURATION_MS).toBe(30 * 24 * 3_600_000);
    expect(parseDuration('720h')).toBe(MAX_DURATION_MS);
    expect(parseDuration(String(MAX_DURATION_MS))).toBe(MAX_DURATION_MS);
    expect(parseDuration(String(MAX_DURATION_MS + 1))).toBeNull();
    expect(parseDuration('43200m')).toBe(MAX_DURATION_MS);
    expect(parseDuration('43200.001m')).toBeNull();
    expect(refusal('721h')).toEqual(['at most 30 days ("720h"): got 721h']);
    expect(refusal(MAX_DURATION_MS + 1)).toEqual([`at most 30 days ("720h"): got ${MAX_DURATION_MS + 1}`]);
    expect(refusal(`${'9'.repeat(50)}h`)).toEqual([`at most 30 days ("720h"): got ${'9'.repeat(40)}`]);
    expect(refusal('5m5m')).toEqual([DURATION_MESSAGE]);
  });

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
