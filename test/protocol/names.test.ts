/**
 * The names in a topic (src/protocol/names.ts), each defined once: what a device id, a bridge id
 * and a base topic may be, and that every flag and option reading one uses that rule with its
 * own name in the one-line message.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { baseTopicRule, bridgeIdSchema, deviceIdRule, deviceIdSchema } from '../../src/protocol/names.js';
import { topicFor } from '../../src/protocol/topics.js';
import { parseSimFlags } from '../../src/commands/sim.js';
import { parseRunOptions } from '../../src/commands/run.js';
import { parseDashboardFlags } from '../../src/commands/dashboard.js';
import { monitorOptionsSchema } from '../../src/monitor/options.js';
import { dashboardOptionsSchema } from '../../src/dashboard/server.js';

const NOT_ONE_LEVEL = ['', 'x'.repeat(65), 'a/b', 'a+b', 'a#', 'a b', 'a\nb', 'a.b', 'é'];

/** The first message of a failed parse, or null when it passed. */
function problem(run: () => unknown): string | null {
  try {
    run();
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

describe('a device id', () => {
  it('is one topic level of 1 to 64 letters, digits, "_" or "-"', () => {
    for (const id of ['dishwasher-1', 'A_b-9', 'x'.repeat(64)]) expect(deviceIdSchema.safeParse(id).success, id).toBe(true);
    for (const id of NOT_ONE_LEVEL) expect(deviceIdSchema.safeParse(id).success, JSON.stringify(id)).toBe(false);
  });

  it('is never "bridge" (the bridge topics) nor starts with "_" (the bridge ids of multi-device processes)', () => {
    expect(deviceIdSchema.safeParse('bridge').success).toBe(false);
    expect(deviceIdSchema.safeParse('bridges').success).toBe(true);
    expect(deviceIdSchema.safeParse('_start').success).toBe(false);
    expect(deviceIdSchema.safeParse('a_').success).toBe(true);
  });

  it('is refused by the topic builder as by the schema', () => {
    expect(topicFor('state', { base: 'aquastop', id: 'dw-1' })).toBe('aquastop/dw-1');
    for (const id of ['bridge', '_start', 'a/b', 'x'.repeat(65)]) expect(() => topicFor('state', { base: 'aquastop', id }), id).toThrow();
  });
});

describe('a bridge id', () => {
  it('is one topic level like a device id, and may start with "_"', () => {
    for (const id of ['_start', 'dishwasher-1', 'x'.repeat(64)]) expect(bridgeIdSchema.safeParse(id).success, id).toBe(true);
    for (const id of NOT_ONE_LEVEL) expect(bridgeIdSchema.safeParse(id).success, JSON.stringify(id)).toBe(false);
  });
});

describe('a base topic', () => {
  it('is levels of letters, digits, "_" and "-" separated by "/", without wildcards', () => {
    const base = baseTopicRule();
    for (const b of ['aquastop', 'home/aquastop', 'a/b-c/d_e']) expect(base.safeParse(b).success, b).toBe(true);
    for (const b of ['', '#', '+', 'a/#', 'a/+/b', '/a', 'a/', 'a//b', 'a b']) expect(base.safeParse(b).success, b).toBe(false);
    expect(() => topicFor('state', { base: 'a/#', id: 'dw-1' })).toThrow(/invalid base topic/);
  });
});

describe('every flag and option reading one uses the rule, naming itself', () => {
  it('sim --id and --base-topic', () => {
    expect(problem(() => parseSimFlags({ id: 'bridge' }))).toBe('--id "bridge" is reserved for the bridge topics');
    expect(problem(() => parseSimFlags({ id: '_x' }))).toMatch(/^--id may not start with "_"/);
    expect(problem(() => parseSimFlags({ id: 'a/b' }))).toBe('--id must be 1 to 64 letters, digits, "_" or "-"');
    expect(problem(() => parseSimFlags({ baseTopic: 'a/#' }))).toMatch(/^--base-topic must be topic levels/);
    expect(parseSimFlags({})).toMatchObject({ id: 'dishwasher-1', baseTopic: 'aquastop' });
  });

  it('run --id', () => {
    const flags = { port: '/dev/ttyACM0', dataDir: 'd', mqtt: true, mqttPort: '1883', allowRemoteReset: false, json: false, handshakeTimeout: '10s' };
    expect(parseRunOptions({ ...flags, id: 'uno-1' }).id).toBe('uno-1');
    expect(problem(() => parseRunOptions({ ...flags, id: 'bridge' }))).toBe('--id "bridge" is reserved for the bridge topics');
    expect(problem(() => parseRunOptions({ ...flags, id: 'x'.repeat(65) }))).toBe('--id must be 1 to 64 letters, digits, "_" or "-"');
  });

  it('monitor --base-topic, dashboard --base and the dashboard server', () => {
    expect(monitorOptionsSchema.shape.baseTopic.safeParse('a/#').error?.issues[0]?.message).toMatch(/^--base-topic must be topic levels/);
    expect(monitorOptionsSchema.shape.baseTopic.parse(undefined)).toBe('aquastop');
    expect(problem(() => parseDashboardFlags({ host: '127.0.0.1', port: '0', brokerWs: 'ws://x/mqtt', base: 'a/+' }))).toMatch(/--base must be topic levels/);
    expect(dashboardOptionsSchema.safeParse({ port: 0, wsUrl: 'ws://x', baseTopic: 'a/#' }).error?.issues[0]?.message).toMatch(/^base topic must be topic levels/);
    expect(dashboardOptionsSchema.parse({ port: 0, wsUrl: 'ws://x' }).baseTopic).toBe('aquastop');
  });

  it('names the flag it was made for', () => {
    expect(deviceIdRule('--device').safeParse('bridge').error?.issues[0]?.message).toBe('--device "bridge" is reserved for the bridge topics');
  });
});

/** The program files (not tests): what ships. */
function programFiles(): string[] {
  return execFileSync('git', ['ls-files', '-co', '--exclude-standard', 'src', 'sim', 'hardware'], { encoding: 'utf8' })
    .split('\n')
    .filter((f) => /\.(ts|js|mjs)$/.test(f));
}

describe('the names and topics are spelled once', () => {
  it('no program file but names.ts writes the pattern of a topic level', () => {
    // Graphite's path components are not MQTT topics (src/monitor/graphite-lines.ts).
    const others = programFiles().filter((f) => f !== 'src/protocol/names.ts' && f !== 'src/monitor/graphite-lines.ts');
    const spelled = others.filter((f) => readFileSync(f, 'utf8').includes('A-Za-z0-9_-'));
    expect(spelled).toEqual([]);
  });

  it('the dashboard page builds no topic itself: no topic level of the contract is in its code', () => {
    const page = programFiles().filter((f) => f.startsWith('src/dashboard/public/'));
    expect(page.length).toBeGreaterThan(5);
    // A topic's tail in a string (`/heartbeat'`, `/set/result`), the bridge filter, or anything appended to the base topic.
    const inline = /\/(?:availability|heartbeat|fault|fault-memory|set|set\/result|inject|state|exercise)['"`]|bridge\/\+|\$\{[^}]*base[^}]*\}\//i;
    const spelled = page.filter((f) => inline.test(readFileSync(f, 'utf8').replace(/^\s*(\/\/|\*|\/\*).*$/gm, '')));
    expect(spelled).toEqual([]);
  });
});
