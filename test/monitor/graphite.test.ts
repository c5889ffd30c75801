/**
 * Graphite push without carbon: the plaintext lines, the path escaping, the bounded buffer, the
 * URL and flag checks, and the pusher's back-off and drop policy against a port where nothing
 * listens (time on a virtual clock; the refusals are real). test/monitor/graphite-carbon.test.ts
 * runs it against a real carbon-cache.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { GraphitePusher, LineBuffer, formatGraphite, graphiteComponent, parseGraphiteUrl, type MetricFamily } from '../../src/monitor/graphite.js';
import { MonitorError, parseMonitorOptions } from '../../src/monitor/options.js';
import { freePort } from '../e2e/start-process.js';
import { aquastop } from '../helpers/cli.js';
import { waitFor } from './helpers.js';

describe('graphiteComponent', () => {
  it('keeps letters, digits, "_" and "-"', () => {
    expect(graphiteComponent('Dishwasher_1-b')).toBe('Dishwasher_1-b');
  });

  it('writes every other byte as %XX, so a dot, space, slash, ";" or glob cannot split or tag a path', () => {
    expect(graphiteComponent('kitchen.dish washer/1')).toBe('kitchen%2Edish%20washer%2F1');
    expect(graphiteComponent('a;tag=x*?[]{}')).toBe('a%3Btag%3Dx%2A%3F%5B%5D%7B%7D');
    expect(graphiteComponent('line\nbreak\t')).toBe('line%0Abreak%09');
    expect(graphiteComponent('%')).toBe('%25');
    expect(graphiteComponent('Küche')).toBe('K%C3%BCche');
    expect(graphiteComponent('')).toBe('%');
  });

  it('never gives two ids the same component', () => {
    const ids = ['a.b', 'a_b', 'a-b', 'a%2Eb', 'a b', 'a%20b', '', '%', '%25', 'ab'];
    expect(new Set(ids.map(graphiteComponent)).size).toBe(ids.length);
    for (const id of ids) expect(decodeURIComponent(graphiteComponent(id) === '%' ? '' : graphiteComponent(id))).toBe(id);
  });
});

describe('formatGraphite', () => {
  const families: MetricFamily[] = [
    {
      name: 'aquastop_device_up',
      type: 'gauge',
      values: [
        { labels: { device: 'dw-1' }, value: 1 },
        { labels: { device: 'wm.2' }, value: 0 },
      ],
    },
    { name: 'aquastop_device_availability_ratio', type: 'gauge', values: [{ labels: { device: 'dw-1', window: '1h' }, value: 0.905 }] },
    {
      name: 'aquastop_device_faults_raised_total',
      type: 'counter',
      values: [
        { labels: { device: 'dw-1', code: 'i30' }, value: 2 },
        { labels: { device: 'wm.2', code: 'i30' }, value: 1 },
        { labels: { device: 'wm.2', code: 'i10' }, value: 4 },
      ],
    },
    {
      name: 'aquastop_device_breaker_state',
      type: 'gauge',
      values: [
        { labels: { device: 'dw-1', state: 'latched' }, value: 1 },
        { labels: { device: 'wm.2', state: 'latched' }, value: 0 },
      ],
    },
    {
      name: 'aquastop_device_flapping',
      type: 'gauge',
      values: [
        { labels: { device: 'dw-1' }, value: 0 },
        { labels: { device: 'wm.2' }, value: 1 },
      ],
    },
    {
      name: 'aquastop_device_error_budget_remaining_ratio',
      type: 'gauge',
      values: [
        { labels: { device: 'dw-1' }, value: Number.NaN },
        { labels: { device: 'wm.2' }, value: -Infinity },
      ],
    },
    {
      name: 'aquastop_monitor_devices',
      type: 'gauge',
      values: [
        { labels: { kind: 'tracked' }, value: 2 },
        { labels: { kind: 'max' }, value: 10_000 },
      ],
    },
    { name: 'aquastop_monitor_messages_refused_total', type: 'counter', values: [{ labels: {}, value: 0 }] },
  ];

  it('writes `path value seconds` lines: devices under devices.<id>, the monitor under monitor, label values last', () => {
    const lines = formatGraphite(families, { prefix: 'aquastop', timestampS: 1_795_969_355 });
    expect(lines).toEqual(
      expect.arrayContaining([
        'aquastop.devices.dw-1.up 1 1795969355',
        'aquastop.devices.wm%2E2.up 0 1795969355',
        'aquastop.devices.dw-1.availability_ratio.1h 0.905 1795969355',
        'aquastop.devices.wm%2E2.faults_raised_total.i10 4 1795969355',
        'aquastop.devices.dw-1.breaker_state.latched 1 1795969355',
        'aquastop.monitor.devices.tracked 2 1795969355',
        'aquastop.monitor.devices.max 10000 1795969355',
        'aquastop.monitor.messages_refused_total 0 1795969355',
      ]),
    );
    for (const line of lines) expect(line).toMatch(/^aquastop(\.[A-Za-z0-9_%-]+)+ -?[\d.e+-]+ 1795969355$/);
  });

  it('adds the fleet: devices, devices up and flapping, and every counter and state gauge summed over the devices', () => {
    const fleet = formatGraphite(families, { prefix: 'aquastop', timestampS: 1 }).filter((l) => l.startsWith('aquastop.fleet.'));
    expect(fleet.sort()).toEqual(
      [
        'aquastop.fleet.devices 2 1',
        'aquastop.fleet.devices_up 1 1',
        'aquastop.fleet.devices_flapping 1 1',
        'aquastop.fleet.faults_raised_total.i30 3 1',
        'aquastop.fleet.faults_raised_total.i10 4 1',
        'aquastop.fleet.breaker_state.latched 1 1',
      ].sort(),
    );
  });

  it('says 0 devices and 0 up for an empty fleet', () => {
    expect(formatGraphite([], { prefix: 'p', timestampS: 7 }).sort()).toEqual(['p.fleet.devices 0 7', 'p.fleet.devices_flapping 0 7', 'p.fleet.devices_up 0 7']);
  });

  it('stamps whole Unix seconds, leaves out NaN and infinities, and puts the prefix first', () => {
    const lines = formatGraphite(families, { prefix: 'site1.aquastop', timestampS: 1_795_969_355.999 });
    expect(lines.every((l) => l.startsWith('site1.aquastop.') && l.endsWith(' 1795969355'))).toBe(true);
    expect(lines.some((l) => l.includes('error_budget'))).toBe(false);
  });

  it("reads prom-client's own JSON (a registry's getMetricsAsJSON)", async () => {
    const registry = new Registry();
    new Counter({ name: 'aquastop_device_heartbeats_lost_total', help: 'h', labelNames: ['device'], registers: [registry] }).inc({ device: 'dw-1' }, 3);
    new Gauge({ name: 'aquastop_monitor_graphite_buffered_lines', help: 'h', registers: [registry] }).set(12);
    const lines = formatGraphite(await registry.getMetricsAsJSON(), { prefix: 'a', timestampS: 5 });
    expect(lines).toEqual(expect.arrayContaining(['a.devices.dw-1.heartbeats_lost_total 3 5', 'a.fleet.heartbeats_lost_total 3 5', 'a.monitor.graphite_buffered_lines 12 5']));
  });
});

describe('LineBuffer', () => {
  const lines = (from: number, n: number) => Array.from({ length: n }, (_, i) => `m ${from + i} 1`);
  const drain = (b: LineBuffer) => {
    let text = '';
    for (let c = b.take(); c; c = b.take()) text += c.text;
    return text.split('\n').filter(Boolean);
  };

  it('keeps the newest lines up to its limit, dropping the oldest and counting them', () => {
    const b = new LineBuffer(5);
    expect(b.add(lines(0, 3))).toBe(0);
    expect(b.add(lines(3, 3))).toBe(1);
    expect(b.size).toBe(5);
    expect(b.add(lines(6, 4))).toBe(4);
    expect(drain(b)).toEqual(lines(5, 5));
    expect(b.size).toBe(0);
  });

  it('keeps only the newest lines of one push bigger than the limit', () => {
    const b = new LineBuffer(3);
    b.add(lines(0, 2));
    expect(b.add(lines(2, 7))).toBe(6);
    expect(drain(b)).toEqual(lines(6, 3));
  });

  it('gives pushes back oldest first, each ending with a newline', () => {
    const b = new LineBuffer(10);
    b.add(['a 1 1']);
    b.add(['b 2 2', 'c 3 3']);
    expect(b.take()).toEqual({ text: 'a 1 1\n', lines: 1 });
    expect(b.take()).toEqual({ text: 'b 2 2\nc 3 3\n', lines: 2 });
    expect(b.take()).toBeNull();
  });
});

describe('--graphite, --graphite-interval, --graphite-prefix', () => {
  it.each(['tcp://127.0.0.1:2003', 'tcp://graphite.example:2003/', 'tcp://[::1]:2003'])('reads %s', (url) => {
    expect(parseGraphiteUrl(url)).not.toBeNull();
  });
  it('gives host and port', () => {
    expect(parseGraphiteUrl('tcp://[::1]:2004')).toEqual({ host: '::1', port: 2004 });
  });

  it('defaults to no push, every 10 s, under "aquastop"', () => {
    expect(parseMonitorOptions({ dataDir: '/x' })).toMatchObject({ graphiteUrl: null, graphiteIntervalMs: 10_000, graphitePrefix: 'aquastop' });
    expect(parseMonitorOptions({ dataDir: '/x', graphiteUrl: 'tcp://h:2003', graphiteIntervalMs: '1m', graphitePrefix: 'site1.aquastop' })).toMatchObject({
      graphiteIntervalMs: 60_000,
      graphitePrefix: 'site1.aquastop',
    });
  });

  it('`aquastop monitor --graphite` with a URL that is not tcp://host:port says so in one line and exits 2', async () => {
    const r = await aquastop(['monitor', '--port', '0', '--data-dir', '/nonexistent/never-made', '--graphite', 'graphite.example:2003']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('aquastop: --graphite must be tcp://host:port, carbon\'s plaintext listener (e.g. tcp://127.0.0.1:2003): got "graphite.example:2003"');
  });

  it.each([
    [{ graphiteUrl: 'http://h:2003' }, '--graphite must be tcp://host:port'],
    [{ graphiteUrl: 'tcp://h' }, '--graphite must be tcp://host:port'],
    [{ graphiteUrl: 'tcp://h:0' }, '--graphite must be tcp://host:port'],
    [{ graphiteUrl: 'tcp://h:70000' }, '--graphite must be tcp://host:port'],
    [{ graphiteUrl: 'tcp://u:p@h:2003' }, '--graphite must be tcp://host:port'],
    [{ graphiteUrl: 'tcp://h:2003/x?y' }, '--graphite must be tcp://host:port'],
    [{ graphiteUrl: 'h:2003' }, '--graphite must be tcp://host:port'],
    [{ graphiteIntervalMs: '500ms' }, '--graphite-interval must be at least 1s'],
    [{ graphiteIntervalMs: '2d' }, '--graphite-interval must be a duration'],
    [{ graphitePrefix: 'a..b' }, '--graphite-prefix must be words'],
    [{ graphitePrefix: 'a b' }, '--graphite-prefix must be words'],
    [{ graphitePrefix: '' }, '--graphite-prefix must be words'],
  ])('refuses %j with one line naming the flag', (extra, expected) => {
    let message = '';
    try {
      parseMonitorOptions({ dataDir: '/x', ...extra });
    } catch (err) {
      expect(err).toBeInstanceOf(MonitorError);
      message = (err as Error).message;
    }
    expect(message).toContain(expected);
    expect(message).not.toContain('\n');
  });
});

describe('GraphitePusher with carbon unreachable', () => {
  /** 20 lines per push. */
  const collect = async (): Promise<MetricFamily[]> => [
    { name: 'aquastop_device_up', type: 'gauge', values: Array.from({ length: 17 }, (_, i) => ({ labels: { device: `d${i}` }, value: 1 })) },
  ];
  const settle = () => new Promise((r) => setImmediate(r));

  it('retries after 1 s x 2^n at most maxRetryMs, each x 0.5-1 at random, and logs the outage once', async () => {
    const clock = new VirtualClock(1_795_969_355_000);
    const port = await freePort();
    const logs: string[] = [];
    const randoms = [0, 0.999, 0.5, 0, 0.999, 0.999];
    const pusher = new GraphitePusher({
      url: `tcp://127.0.0.1:${port}`,
      address: { host: '127.0.0.1', port },
      prefix: 't',
      intervalMs: 3_600_000,
      collect,
      clock,
      log: (level, line) => logs.push(`${level} ${line}`),
      firstRetryMs: 1_000,
      maxRetryMs: 8_000,
      random: () => randoms.shift() ?? 0,
    });
    pusher.start();
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      await waitFor(() => pusher.phase === 'waiting', 5_000, `attempt ${i + 1} refused`);
      const due = clock.nextDue()!;
      delays.push(due - clock.now());
      clock.advanceTo(due);
    }
    await waitFor(() => pusher.phase === 'waiting', 5_000, 'attempt 7 refused');
    expect(delays).toEqual([500, 1_999, 3_000, 4_000, 7_996, 7_996]);
    expect(pusher.attempts).toBe(7);
    expect(logs).toEqual([`warn graphite: carbon at tcp://127.0.0.1:${port} unreachable (ECONNREFUSED): keeping the newest 500000 lines, retrying with back-off up to 8 s`]);
    await pusher.stop();
  });

  it('keeps the newest lines up to its bound while away, counts the dropped ones, and counts what it never sent at stop', async () => {
    const clock = new VirtualClock(0);
    const port = await freePort();
    const logs: string[] = [];
    const pusher = new GraphitePusher({
      url: `tcp://127.0.0.1:${port}`,
      address: { host: '127.0.0.1', port },
      prefix: 't',
      intervalMs: 1_000,
      collect,
      clock,
      log: (level, line) => logs.push(`${level} ${line}`),
      maxBufferedLines: 50,
      firstRetryMs: 100,
      maxRetryMs: 400,
    });
    pusher.start();
    for (let i = 0; i < 10; i++) {
      await waitFor(() => pusher.phase === 'waiting', 5_000, 'a refused attempt');
      clock.advance(1_000);
      await settle();
    }
    await waitFor(() => pusher.phase === 'waiting', 5_000, 'a refused attempt');
    expect(pusher.attempts).toBeGreaterThanOrEqual(11);
    expect(pusher.buffered).toBe(50);
    expect(pusher.stats).toEqual({ sent: 0, dropped: 11 * 20 - 50 });
    expect(logs).toHaveLength(1);
    await pusher.stop();
    expect(pusher.stats).toEqual({ sent: 0, dropped: 11 * 20 });
    expect(logs[1]).toBe(`warn graphite: stopped with carbon at tcp://127.0.0.1:${port} away: 50 line(s) not sent`);
  });
});
