/**
 * The shipped systemd units (src/commands/systemd): `systemd-analyze verify` finds nothing to say
 * about them, their command lines are ones the CLI accepts, every AQUASTOP_ variable they set is
 * one the command reads, and the example config files pass the commands' own checks.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/program.js';
import { parseRunOptions } from '../../src/commands/run.js';
import { envNameFor } from '../../src/commands/service/env.js';
import { parseMonitorOptions } from '../../src/monitor/options.js';
import { ROOT } from '../helpers/cli.js';
import { hasTools } from '../helpers/tools.js';

const DIR = join(ROOT, 'src', 'commands', 'systemd');
const UNITS = [
  { file: 'aquastop-monitor.service', command: 'monitor', example: 'monitor.example.json', instance: null },
  { file: 'aquastop-run@.service', command: 'run', example: 'run.example.json', instance: 'uno-1' },
] as const;

function directives(text: string, key: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));
}

/** What `command`'s action gets from `args` with the environment `env` (in this process). */
async function optionsOf(command: string, args: string[], env: Record<string, string>): Promise<Record<string, unknown>> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const program = buildProgram();
    let seen: Record<string, unknown> | null = null;
    program.commands
      .find((c) => c.name() === command)!
      .action((opts: Record<string, unknown>) => {
        seen = opts;
      });
    await program.parseAsync([command, ...args], { from: 'user' });
    return seen!;
  } finally {
    for (const k of Object.keys(env)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

describe.skipIf(!hasTools('systemd-analyze'))('the shipped systemd units', () => {
  it.each(UNITS)('systemd-analyze verify has nothing to say about $file', ({ file, instance }) => {
    // A template is verified as one of its instances.
    const dir = mkdtempSync(join(tmpdir(), 'aquastop-units-'));
    const path = join(dir, instance ? file.replace('@', `@${instance}`) : file);
    copyFileSync(join(DIR, file), path);
    const r = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8', timeout: 30_000 });
    const aboutOurs = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.includes(path) || l.includes(file.replace('@.', '@')));
    expect(aboutOurs).toEqual([]);
    expect(r.status, r.stderr).toBe(0);
  });
});

describe('what the units run', () => {
  it.each(UNITS)('$file runs a command line the CLI accepts, with the example config, and sets only variables it reads', async ({ file, command, example, instance }) => {
    const text = readFileSync(join(DIR, file), 'utf8');
    const [exec] = directives(text, 'ExecStart');
    const args = exec!.split(/\s+/);
    expect(args.slice(0, 3)).toEqual(['/usr/bin/env', 'aquastop', command]);
    const configAt = args.indexOf('--config');
    expect(args[configAt + 1]).toBe(`/etc/aquastop/${instance ? `run-%i.json` : 'monitor.json'}`);
    const env = Object.fromEntries(directives(text, 'Environment').map((e) => e.split('=') as [string, string]));

    const cmd = buildProgram().commands.find((c) => c.name() === command)!;
    const known = new Set(cmd.options.filter((o) => o.long).map((o) => envNameFor(o.long!)));
    for (const name of Object.keys(env)) expect(known, name).toContain(name);

    // The unit's own arguments, the shipped example as its config file, and its environment: all accepted.
    const opts = await optionsOf(command, [...args.slice(3, configAt), '--config', join(DIR, example), ...args.slice(configAt + 2)], env);
    expect(opts.dataDir).toBe(`/var/lib/aquastop/${command}`);
    expect(opts.logFormat).toBe('json');
    if (command === 'monitor') {
      const config = parseMonitorOptions({
        brokerUrl: opts.broker,
        username: opts.username,
        host: opts.host,
        port: opts.port,
        dataDir: opts.dataDir,
        webhookUrl: opts.webhook,
        webhookRetries: opts.webhookRetries,
        downAfter: opts.downAfter,
        slo: opts.slo,
        retentionMs: opts.retention,
        flapWindowMs: opts.flapWindow,
      });
      expect(config).toMatchObject({ brokerUrl: 'mqtts://broker.lan:8883', port: 9464, retentionMs: 720 * 3_600_000, webhookRetries: 5 });
    } else {
      expect(parseRunOptions(opts)).toMatchObject({ id: 'uno-1', handshakeTimeout: 15_000, dataDir: '/var/lib/aquastop/run' });
    }
  });
});
