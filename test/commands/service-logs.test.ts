/**
 * The long-running commands' logs: pino records, `--log-format json|pretty` (pretty on a
 * terminal, JSON otherwise), `--log-level`; records about a device carry its id and, for a
 * fault, the fault event's id; secrets (passwords, the webhook secret, a password in the broker
 * URL) appear nowhere in what the command writes, even at `--log-level trace`.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { createLogger, parseLogOptions, prettyLine } from '../../src/commands/service/log.js';
import { redactUrl } from '../../src/telemetry/redact-url.js';
import { topicFor } from '../../src/protocol/topics.js';
import { startBroker, waitFor } from '../monitor/helpers.js';
import { spawnAquastop } from '../helpers/cli.js';
import { hasTools } from '../helpers/tools.js';

type LogRecord = { level: number; msg: string; device?: string; event?: string; [k: string]: unknown };

function records(text: string): LogRecord[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogRecord);
}

function collect(): { out: Writable; text(): string } {
  let text = '';
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { out, text: () => text };
}

describe('the log options and format', () => {
  it('defaults to pretty on a terminal and JSON otherwise; refuses other formats and levels naming the flag', () => {
    expect(parseLogOptions({}, true)).toEqual({ ok: true, options: { format: 'pretty', level: 'info' } });
    expect(parseLogOptions({}, false)).toEqual({ ok: true, options: { format: 'json', level: 'info' } });
    expect(parseLogOptions({ logFormat: 'json' }, true)).toEqual({ ok: true, options: { format: 'json', level: 'info' } });
    expect(parseLogOptions({ logFormat: 'xml', logLevel: 'loud' }, false)).toEqual({
      ok: false,
      errors: ['--log-format must be json or pretty', '--log-level must be one of trace, debug, info, warn, error, fatal, silent'],
    });
  });

  it('pretty: time, level, [device], message, then the other fields', () => {
    const line = prettyLine(
      JSON.stringify({
        level: 40,
        time: Date.UTC(2026, 10, 29, 12, 0, 1, 5),
        pid: 1,
        hostname: 'h',
        name: 'n',
        device: 'dw-1',
        event: '1-2',
        code: 'i30',
        msg: 'fault i30 raised',
      }),
    );
    expect(line).toBe('12:00:01.005 WARN  [dw-1] fault i30 raised  event=1-2 code=i30\n');
  });

  it('redacts secrets at any of the first three levels of a record', () => {
    const sink = collect();
    const log = createLogger('t', { format: 'json', level: 'trace' }, sink.out);
    log.info({ password: 'pw-one', options: { webhookSecret: 'pw-two', tls: { key: 'pw-three' } }, nested: { a: { secret: 'pw-four' } } }, 'options');
    log.child({ device: 'dw-1' }).warn({ options: { broker: 'mqtt://u:pw-five@host:1883' } }, 'cannot reach mqtts://u:pw-six@host:8883');
    expect(sink.text()).toContain('[redacted]');
    expect(sink.text()).toContain('"broker":"mqtt://u:***@host:1883"');
    expect(sink.text()).toContain('cannot reach mqtts://u:***@host:8883');
    expect(sink.text()).not.toMatch(/pw-(one|two|three|four|five|six)/);
    expect(redactUrl('mqtt://monitor:s3cret@broker:1883,mqtt://b2:1883')).toBe('mqtt://monitor:***@broker:1883,mqtt://b2:1883');
  });
});

describe('aquastop sim: its telemetry lines are log records', () => {
  it('writes pino JSON records (not plain "mqtt:" lines) when stderr is not a terminal', async () => {
    const { aquastop } = await import('../helpers/cli.js');
    const dataDir = mkdtempSync(join(tmpdir(), 'aquastop-sim-logs-'));
    const r = await aquastop(['sim', '--scenario', 'normal-cycle', '--json', '--mqtt-port', '0', '--ws-port', '0', '--data-dir', dataDir]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(
      lines.every((l) => l.startsWith('{')),
      r.stderr,
    ).toBe(true);
    expect(records(r.stderr).map((x) => x.msg)).toContainEqual(expect.stringMatching(/^mqtt: connected to mqtt:\/\/127\.0\.0\.1:\d+$/));
  }, 60_000);
});

describe('aquastop monitor: its log as a service sees it', () => {
  it('JSON records; device and fault event ids on the records about them; no secret anywhere, even at trace', async () => {
    const broker = await startBroker();
    const dataDir = mkdtempSync(join(tmpdir(), 'aquastop-logs-'));
    const secrets = { password: 'pw-from-the-environment-1', webhook: 'webhook-secret-from-env-2', url: 'pw-in-the-url-3' };
    const brokerUrl = broker.url.replace('mqtt://', `mqtt://monitor:${secrets.url}@`);
    const child = spawnAquastop(
      [
        'monitor',
        '--broker',
        brokerUrl,
        '--port',
        '0',
        '--data-dir',
        dataDir,
        '--log-level',
        'trace',
        '--webhook',
        'http://127.0.0.1:1/hook',
        '--webhook-retries',
        '1',
        '--webhook-timeout',
        '0.5',
      ],
      { env: { ...process.env, AQUASTOP_USERNAME: 'monitor', AQUASTOP_PASSWORD: secrets.password, AQUASTOP_WEBHOOK_SECRET: secrets.webhook } },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    try {
      await waitFor(() => /\/metrics/.test(out), 30_000, 'monitor URL printed');
      const c = await mqtt.connectAsync(broker.url);
      const ts = new Date().toISOString();
      await c.publishAsync(
        topicFor('heartbeat', { base: 'aquastop', id: 'dw-1' }),
        JSON.stringify({ seq: 1, boot: 1, uptimeS: 1, intervalS: 10, state: 'armed.idle', fault: null, ts }),
        { qos: 1 },
      );
      await c.publishAsync(
        topicFor('fault', { base: 'aquastop', id: 'dw-1' }),
        JSON.stringify({ id: '1-7', event: 'raised', code: 'i30', display: ',30', text: 'Anti-flood', severity: 'critical', reset: 'manual', ts }),
        { qos: 1 },
      );
      await c.publishAsync(topicFor('heartbeat', { base: 'aquastop', id: 'dw-2' }), 'not json', { qos: 1 });
      await c.endAsync();
      await waitFor(() => records(err).some((r) => /webhook gave up/.test(r.msg)), 20_000, 'the webhook giving up on the alert');

      const logged = records(err);
      expect(logged.length).toBe(err.trim().split('\n').length);
      expect(logged.find((r) => /^alert fault-raised dw-1 i30/.test(r.msg))).toMatchObject({ level: 40, device: 'dw-1', event: '1-7', code: 'i30' });
      expect(logged.find((r) => /ignoring invalid heartbeat/.test(r.msg))).toMatchObject({ device: 'dw-2' });
      expect(logged.filter((r) => /^webhook /.test(r.msg)).every((r) => r.device === 'dw-1')).toBe(true);
      // The options record (trace includes debug) shows where each value came from, secrets redacted.
      expect(logged.find((r) => r.msg === 'options')).toMatchObject({
        level: 20,
        options: { password: '[redacted]', webhookSecret: '[redacted]' },
        sources: { '--password': 'env', '--broker': 'cli' },
      });
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGINT');
      await exited;
      await broker.close();
    }
    for (const secret of Object.values(secrets)) {
      expect(out).not.toContain(secret);
      expect(err).not.toContain(secret);
    }
    expect(out).toContain(`(broker ${broker.url.replace('mqtt://', 'mqtt://monitor:***@')})`);
  }, 90_000);

  it.skipIf(!hasTools('script'))(
    'writes pretty lines on a terminal, and JSON with --log-format json there too; Ctrl-C stops it',
    async () => {
      // `script` gives the command a terminal; Ctrl-C is typed on it once the dashboard is up.
      const onTty = async (args: string): Promise<string> => {
        const child = spawn('script', ['-qec', `${process.execPath} --import tsx src/cli.ts dashboard --port 0 ${args}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
        let text = '';
        child.stdout.on('data', (d: Buffer) => (text += d.toString()));
        const exited = once(child, 'exit');
        try {
          await waitFor(() => /dashboard on http/.test(text), 30_000, 'the dashboard up');
          child.stdin.write('\x03');
          await Promise.race([exited, new Promise((_, reject) => setTimeout(() => reject(new Error(`no exit after Ctrl-C: ${text}`)), 10_000))]);
        } finally {
          child.kill('SIGKILL');
        }
        return text;
      };
      const pretty = await onTty('');
      expect(pretty).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}dashboard on http:\/\/127\.0\.0\.1:\d+\/ {2}url=/m);
      expect(pretty).toMatch(/ INFO {2}SIGINT: stopping/);
      expect(pretty).not.toMatch(/^\{"level"/m);
      const json = await onTty('--log-format json');
      expect(json).toMatch(/^\{"level":30,.*"msg":"dashboard on http:\/\/127\.0\.0\.1:\d+\/"\}\r?$/m);
    },
    60_000,
  );
});
