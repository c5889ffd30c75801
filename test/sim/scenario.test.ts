/**
 * The scenario file format: its schema, its documentation, and how expectations are judged.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../../sim/engine.js';
import { evaluate } from '../../sim/expectations.js';
import { clearable, loadScenarioFile, MAX_DURATION_MS, parseDuration, parseScenario, ScenarioError, timelineStepSchema, type Expectation } from '../../sim/scenario.js';
import { builtinScenarioNames, loadBuiltinScenario, SCENARIO_DIR } from '../../sim/scenarios/index.js';

const base = { name: 'x', description: 'd', duration: '1m' };

describe('scenario files', () => {
  it('reads durations in ms, s, m, h and plain milliseconds, and nothing else', () => {
    expect([parseDuration('250ms'), parseDuration('90s'), parseDuration('2m'), parseDuration('1.5h'), parseDuration('1200')]).toEqual([250, 90_000, 120_000, 5_400_000, 1_200]);
    for (const bad of ['soon', '5 s', '-1s', '1d', '']) expect(parseDuration(bad), bad).toBeNull();
  });

  it('bounds every duration at 30 days, in string and in numeric form', () => {
    expect(parseDuration('720h')).toBe(MAX_DURATION_MS);
    expect(parseDuration(String(MAX_DURATION_MS))).toBe(MAX_DURATION_MS);
    for (const tooLong of ['720.001h', '8760h', '99999999999999999999999h', String(MAX_DURATION_MS + 1), '1e400']) {
      expect(parseDuration(tooLong), tooLong).toBeNull();
    }
    expect(() => parseScenario({ name: 'x', description: 'd', duration: '8760h' }, 'f.json')).toThrow(/^f\.json: duration: at most 30 days/);
    expect(() => parseScenario({ name: 'x', description: 'd', duration: 1e300 }, 'f.json')).toThrow(/at most 30 days/);
  });

  it('reads a file that starts with a UTF-8 byte order mark, and says anything else wrong in one printable line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aquastop-scenario-'));
    const write = (name: string, bytes: string | Buffer) => {
      const file = join(dir, name);
      writeFileSync(file, bytes);
      return file;
    };
    const bom = write('bom.json', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"name":"bom","description":"d","duration":"1m"}')]));
    expect(loadScenarioFile(bom).name).toBe('bom');
    const cases = [
      write('junk.json', Buffer.from('abc\ndef\r\n\u0000\u0001{{{\u2028' + 'x'.repeat(5000))),
      write('value.json', '{"name":"x","description":"d","duration":"1m\\n\\u2028\\r2h"}'),
      write('empty.json', ''),
    ];
    for (const file of cases) {
      let message = '';
      try {
        loadScenarioFile(file);
      } catch (err) {
        expect(err).toBeInstanceOf(ScenarioError);
        message = (err as Error).message;
      }
      expect(message, file).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
      expect(message, file).not.toMatch(/[\u0000-\u001f\u2028\u2029]/);
      expect(message.length, file).toBeLessThan(file.length + 300);
    }
  });

  it('fills in defaults: seed 1, the program started once, no timeline, no expectations', () => {
    const s = parseScenario(base, 'test');
    expect(s).toMatchObject({ seed: 1, duration: 60_000, program: { start: true, loop: false }, timeline: [], expect: [] });
  });

  it('names the file, the path and the problem in one line', () => {
    const cases: [unknown, RegExp][] = [
      [{ ...base, timeline: [{ at: '5s', inject: 'meteor' }] }, /^f\.json: timeline\.0\.inject: /],
      [{ ...base, timeline: [{ at: '5s', press: 'reset', extra: 1 }] }, /^f\.json: timeline\.0: .*extra/],
      [{ ...base, expect: [{ valve: 'ajar', at: 'end' }] }, /^f\.json: expect\.0\.valve: /],
      [{ ...base, controller: { leak: { wetDebounceMs: -5 } } }, /^f\.json: controller\.leak\.wetDebounceMs: /],
      [{ ...base, name: 'Bad Name' }, /^f\.json: name: lower-case/],
      [{ description: 'd', duration: '1m' }, /^f\.json: name: /],
      [{ ...base, timeline: [{ at: '5s', inject: 'leak' }] }, /^f\.json: timeline\.0\.ml: /],
      [{ ...base, timeline: [{ at: '5s', inject: 'levelNoise' }] }, /^f\.json: timeline\.0\.amplitude: /],
      [{ ...base, timeline: [{ at: '5s', inject: 'levelNoise', amplitude: 50 }] }, /^f\.json: timeline\.0\.amplitude: .*20/],
      [{ ...base, timeline: [{ at: '5s', inject: 'internalLeak', leakFraction: 1.5 }] }, /^f\.json: timeline\.0\.leakFraction: /],
      [{ ...base, timeline: [{ at: '5s', inject: 'internalLeak' }] }, /^f\.json: timeline\.0\.leakFraction: /],
      [{ ...base, timeline: [{ at: '5s', inject: 'siphon', lpm: 0 }] }, /^f\.json: timeline\.0\.lpm: /],
      [{ ...base, timeline: [{ at: '5s', inject: 'selfTestFail' }] }, /^f\.json: timeline\.0\.test: /],
      [{ ...base, timeline: [{ at: '5s', inject: 'selfTestFail', test: '' }] }, /^f\.json: timeline\.0\.test: /],
      [
        { ...base, timeline: [{ at: '5s', inject: 'selfTestFail', test: 'flash CRC' }] },
        /^f\.json: timeline\.0\.test: unknown self-test "flash CRC": one of flash, ram, watchdog, stack, adc, clock$/,
      ],
      [{ ...base, timeline: [{ at: '5s', inject: 'selfTestFail', test: 7 }] }, /^f\.json: timeline\.0\.test: unknown self-test 7: /],
      [{ ...base, timeline: [{ at: '5s', inject: 'memoryCorrupt', bytes: 3 }] }, /^f\.json: timeline\.0: .*bytes/],
      [{ ...base, timeline: [{ at: '5s', clear: 'memoryCorrupt' }] }, /^f\.json: timeline\.0\.clear: /],
    ];
    for (const [json, message] of cases) {
      let error: unknown;
      try {
        parseScenario(json, 'f.json');
      } catch (err) {
        error = err;
      }
      expect(error, JSON.stringify(json)).toBeInstanceOf(ScenarioError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain('\n');
    }
  });

  it('has every built-in scenario valid, named after its file, with at least one expectation', () => {
    for (const name of builtinScenarioNames()) {
      const s = loadBuiltinScenario(name)!;
      expect(s.name).toBe(name);
      expect(s.expect.length, name).toBeGreaterThan(0);
    }
  });

  it('is documented: the README names every step, fault and expectation the schema accepts', () => {
    const readme = readFileSync(join(SCENARIO_DIR, 'README.md'), 'utf8');
    const injected = timelineStepSchema.options.flatMap((step) => {
      const inject = (step.shape as { inject?: { options?: string[]; values?: Set<string> } }).inject;
      return inject ? (inject.options ?? [...(inject.values ?? [])]) : [];
    });
    expect(injected).toContain('memoryCorrupt');
    const words = [
      ...injected.map((f) => `"${f}"`),
      ...clearable.options.map((f) => `"${f}"`),
      '"leak"',
      '"clear"',
      '"press"',
      '"power"',
      '"dryPan"',
      ...['"fault"', '"within"', '"after"', '"raised"', '"noFault"', '"valve"', '"pump"', '"breaker"', '"valveStaysClosedAfter"'],
      ...['"command"', '"because"', '"programCompleted"', '"loop"'],
      ...['`name`', '`description`', '`duration`', '`seed`', '`program`', '`physics`', '`controller`', '`timeline`', '`expect`'],
    ];
    for (const word of words) expect(readme, word).toContain(word);
  });
});

describe('expectations', () => {
  const log: LogEntry[] = [
    { t: 90_000, type: 'fault', event: 'raised', code: 'i10' },
    { t: 90_000, type: 'valve', state: 'closed' },
    { t: 150_000, type: 'command', command: 'reset', ok: false, error: 'the base pan is wet: reset refused until it is dry' },
    { t: 200_000, type: 'valve', state: 'open' },
    { t: 300_000, type: 'fault', event: 'raised', code: 'i30' },
  ];
  const final = {
    status: { state: 'latched', breaker: 'latched', valve: 'closed', drainPump: 'on', leak: true, fault: 'i30', tripCount: 2, uptimeS: 300, tubLevelL: 0 },
    programCompleted: false,
  } as const;
  const judge = (e: Expectation) => evaluate([e], log, final)[0]!;

  it('judges a fault by code, time window, and absence', () => {
    expect(judge({ fault: 'i10', raised: true, within: 90_000 }).passed).toBe(true);
    expect(judge({ fault: 'i10', raised: true, within: 89_999 }).passed).toBe(false);
    expect(judge({ fault: ['i11', 'i30'], raised: true, after: 100_000 }).passed).toBe(true);
    expect(judge({ fault: 'i10', raised: true, after: 100_000 }).passed).toBe(false);
    expect(judge({ fault: 'i20', raised: false }).passed).toBe(true);
    expect(judge({ fault: 'i30', raised: false }).passed).toBe(false);
    expect(judge({ noFault: true }).passed).toBe(false);
  });

  it('judges the end state and whether the valve reopened after a fault', () => {
    expect(judge({ valve: 'closed', at: 'end' }).passed).toBe(true);
    expect(judge({ pump: 'off', at: 'end' }).passed).toBe(false);
    expect(judge({ breaker: 'latched', at: 'end' }).passed).toBe(true);
    expect(judge({ valveStaysClosedAfter: 'i30' }).passed).toBe(true);
    expect(judge({ valveStaysClosedAfter: 'i10' })).toMatchObject({ passed: false, actual: 'valve opened at 200.0 s' });
    expect(judge({ programCompleted: true }).passed).toBe(false);
  });

  it('judges a command by its answer and, when asked, the reason of a refusal', () => {
    expect(judge({ command: 'reset', result: 'refused' }).passed).toBe(true);
    expect(judge({ command: 'reset', result: 'refused', because: 'wet' }).passed).toBe(true);
    expect(judge({ command: 'reset', result: 'refused', because: 'link' }).passed).toBe(false);
    expect(judge({ command: 'reset', result: 'accepted' }).passed).toBe(false);
  });
});
