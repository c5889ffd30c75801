/**
 * Where the long-running commands' options come from: flag > environment variable > --config
 * file > default, for every flag of run, sim, monitor, dashboard and start; and errors that name
 * the source of the bad value (flag, variable, or file and key), one line each, nothing started.
 *
 * The actions are replaced by a recorder (in process), so what is checked is exactly what the
 * command's action would receive; a few runs of the real CLI check the lines a user sees.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/program.js';
import { SERVICE_COMMANDS } from '../../src/commands/service/service-command.js';
import { aquastop } from '../helpers/cli.js';
import { mainInProcess } from '../helpers/main-in-process.js';

const dir = mkdtempSync(join(tmpdir(), 'aquastop-sources-'));
let n = 0;
function configFile(content: unknown): string {
  const path = join(dir, `config-${++n}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const setEnv: string[] = [];
function env(vars: Record<string, string>): void {
  for (const [k, v] of Object.entries(vars)) {
    process.env[k] = v;
    setEnv.push(k);
  }
}
afterEach(() => {
  for (const k of setEnv.splice(0)) delete process.env[k];
});

/** The options `command`'s action would get for `args` (with the environment as set). */
async function optionsOf(command: string, args: string[]): Promise<Record<string, unknown>> {
  const program = buildProgram();
  let seen: Record<string, unknown> | null = null;
  program.commands
    .find((c) => c.name() === command)!
    .action((opts: Record<string, unknown>) => {
      seen = opts;
    });
  await program.parseAsync([command, ...args], { from: 'user' });
  if (!seen) throw new Error('the action did not run');
  return seen;
}

function serviceCommands(): Command[] {
  return buildProgram().commands.filter((c) => SERVICE_COMMANDS.has(c.name()));
}

describe('every flag of every long-running command has its variable', () => {
  it('is the five commands that run until stopped', () => {
    expect(
      serviceCommands()
        .map((c) => c.name())
        .sort(),
    ).toEqual(['dashboard', 'monitor', 'run', 'sim', 'start']);
  });

  it('--help names AQUASTOP_ and the flag in upper snake case for each flag, and the precedence', () => {
    for (const cmd of serviceCommands()) {
      const help = cmd.helpInformation().replace(/\s+/g, ' ');
      for (const option of cmd.options) {
        if (option.long === '--help') continue;
        const name = `AQUASTOP_${option.long!.slice(2).replace(/-/g, '_').toUpperCase()}`;
        expect(help, `${cmd.name()} ${option.long}`).toContain(`env: ${name}`);
      }
      expect(help).toContain('--config');
    }
    const help = serviceCommands()
      .find((c) => c.name() === 'run')!
      .helpInformation();
    let text = '';
    serviceCommands()
      .find((c) => c.name() === 'run')!
      .configureOutput({ writeOut: (s) => (text += s) })
      .outputHelp();
    expect(help).toContain('AQUASTOP_MQTT_PORT');
    expect(text.replace(/\s+/g, ' ')).toContain('A flag wins over its variable, the variable over the file, the file over the default.');
  });

  it('each variable reaches the action as its flag would, for every option of every command', async () => {
    for (const cmd of serviceCommands()) {
      for (const option of cmd.options) {
        if (option.long === '--help' || option.long === '--config') continue;
        const name = `AQUASTOP_${option.long!.slice(2).replace(/-/g, '_').toUpperCase()}`;
        const isSwitch = !(option.required || option.optional);
        // The log flags are checked before the action (its logger is made from them): give them values they accept.
        const value = ({ '--log-format': 'json', '--log-level': 'debug' } as Record<string, string>)[option.long!] ?? 'from-the-environment';
        env({ [name]: isSwitch ? '1' : value });
        const opts = await optionsOf(cmd.name(), []);
        const expected = isSwitch ? !option.negate : value;
        expect(opts[option.attributeName()], `${cmd.name()} ${name}`).toBe(expected);
        delete process.env[name];
      }
    }
  });
});

describe('precedence: flag > variable > config file > default', () => {
  it('for a flag with a value (monitor --port)', async () => {
    const file = configFile({ port: 1111 });
    expect((await optionsOf('monitor', [])).port).toBe('9464');
    expect((await optionsOf('monitor', ['--config', file])).port).toBe('1111');
    env({ AQUASTOP_PORT: '2222' });
    expect((await optionsOf('monitor', ['--config', file])).port).toBe('2222');
    expect((await optionsOf('monitor', ['--config', file, '--port', '3333'])).port).toBe('3333');
  });

  it('for a switch (run --json), whose variable is read strictly: 0 is off', async () => {
    const on = configFile({ json: true, port: '/dev/null' });
    expect((await optionsOf('run', [])).json).toBe(false);
    expect((await optionsOf('run', ['--config', on])).json).toBe(true);
    env({ AQUASTOP_JSON: '0' });
    expect((await optionsOf('run', ['--config', on])).json).toBe(false);
    expect((await optionsOf('run', ['--config', on, '--json'])).json).toBe(true);
  });

  it('for a negated switch (--no-mqtt)', async () => {
    expect((await optionsOf('sim', [])).mqtt).toBe(true);
    expect((await optionsOf('sim', ['--config', configFile({ 'no-mqtt': true })])).mqtt).toBe(false);
    env({ AQUASTOP_NO_MQTT: 'no' });
    expect((await optionsOf('sim', ['--config', configFile({ 'no-mqtt': true })])).mqtt).toBe(true);
    expect((await optionsOf('sim', ['--no-mqtt'])).mqtt).toBe(false);
  });

  it('the config file itself can be named by AQUASTOP_CONFIG', async () => {
    env({ AQUASTOP_CONFIG: configFile({ 'data-dir': '/var/lib/aquastop' }) });
    expect((await optionsOf('monitor', [])).dataDir).toBe('/var/lib/aquastop');
  });

  it("reads the older variable names after the rule's own, still above the file", async () => {
    const file = configFile({ username: 'from-file', password: 'from-file' });
    env({ AQUASTOP_MQTT_USERNAME: 'older', AQUASTOP_MQTT_PASSWORD: 'older' });
    expect(await optionsOf('sim', ['--config', file])).toMatchObject({ username: 'older', password: 'older' });
    env({ AQUASTOP_PASSWORD: 'rule' });
    expect(await optionsOf('sim', ['--config', file])).toMatchObject({ username: 'older', password: 'rule' });
  });

  it('the monitor takes its password from the environment', async () => {
    env({ AQUASTOP_USERNAME: 'monitor', AQUASTOP_PASSWORD: 'from-the-environment' });
    expect(await optionsOf('monitor', [])).toMatchObject({ username: 'monitor', password: 'from-the-environment' });
  });
});

describe('errors name where the bad value came from, one line each', () => {
  // Each with a second value that stops the command should the port go unchecked (start: --devices 2).
  it.each([
    ['run', ['--port', '/dev/null', '--no-mqtt'], ''],
    ['sim', ['--scenario', 'no-such-scenario'], ''],
    ['start', ['--devices', '2'], 'aquastop: --devices must be at least 3\n'],
  ])('%s --mqtt-port abc says --mqtt-port; as a variable or a config key it says that', async (command, rest, also) => {
    expect(await mainInProcess([command, ...rest, '--mqtt-port', 'abc'])).toEqual({ code: 2, stderr: `aquastop: --mqtt-port must be an integer\n${also}` });
    env({ AQUASTOP_MQTT_PORT: 'abc' });
    expect(await mainInProcess([command, ...rest])).toEqual({ code: 2, stderr: `aquastop: AQUASTOP_MQTT_PORT must be an integer\n${also}` });
    delete process.env.AQUASTOP_MQTT_PORT;
    const file = configFile({ 'mqtt-port': 'abc' });
    expect(await mainInProcess([command, ...rest, '--config', file])).toEqual({ code: 2, stderr: `aquastop: ${file}: "mqtt-port" must be an integer\n${also}` });
  });

  // Values zod would have called "Too small" or "expected number, received NaN" without the flag.
  it.each([
    [['sim', '--scenario', ''], '--scenario needs a built-in scenario name or a file'],
    [['sim', '--scenario', 'normal-cycle', '--username', ''], '--username must not be empty'],
    [['run', '--port', '/dev/null', '--data-dir', ''], '--data-dir must not be empty'],
    [['start', '--devices', 'many'], '--devices must be an integer'],
    [['start', '--host', ''], '--host must not be empty'],
    [['monitor', '--host', ''], '--host must not be empty'],
  ])('%j names the flag', async (args, message) => {
    const r = await mainInProcess(args);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(`aquastop: ${message}`);
  });

  it('a config value is checked by the same schema as the flag (monitor --retention)', async () => {
    const flag = await mainInProcess(['monitor', '--retention', '8760h']);
    const file = configFile({ retention: '8760h' });
    const fromFile = await mainInProcess(['monitor', '--config', file]);
    expect(flag.stderr).toBe('aquastop: --retention must be at most 30 days ("720h"): got 8760h\n');
    expect(fromFile).toEqual({ code: 2, stderr: `aquastop: ${file}: "retention" must be at most 30 days ("720h"): got 8760h\n` });
  });

  it('says every problem of a config file, one line each, and starts nothing', async () => {
    const dataDir = join(dir, 'never-made');
    const file = configFile({ brokr: 'mqtt://x', slo: 'high', 'down-after': 0, 'data-dir': dataDir, json: true });
    const r = await mainInProcess(['monitor', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n').filter(Boolean)).toEqual([
      `aquastop: ${file}: unknown key "brokr" (did you mean "broker"?): the keys are the command's flags without "--"`,
      `aquastop: ${file}: unknown key "json": the keys are the command's flags without "--"`,
    ]);
    const values = configFile({ slo: 'high', 'down-after': 0, 'data-dir': dataDir });
    const r2 = await mainInProcess(['monitor', '--config', values]);
    expect(r2.stderr.split('\n').filter(Boolean)).toEqual([`aquastop: ${values}: "down-after" must be at least 1 (intervals)`, `aquastop: ${values}: "slo" must be a number`]);
    expect(existsSync(dataDir)).toBe(false);
  });

  it.each([
    ['{"port": 1', /: not JSON: /],
    ['[1, 2]', /: must be a JSON object of flag names and values/],
    ['{"json": "yes"}', /: "json" must be true or false \(got string "yes"\)$/],
    ['{"port": ["/dev/null"]}', /: "port" must be a string or a number \(got a list\)$/],
    ['{"config": "other.json"}', /: "config" cannot be set in a config file$/],
  ])('refuses the config file %s in one line', async (content, message) => {
    const r = await mainInProcess(['run', '--config', configFile(content)]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(message);
  });

  it('a log format from the environment that is not json or pretty is refused, naming the variable, before anything starts', async () => {
    env({ AQUASTOP_LOG_FORMAT: 'xml' });
    expect(await mainInProcess(['dashboard', '--port', '0'])).toEqual({ code: 2, stderr: 'aquastop: AQUASTOP_LOG_FORMAT must be json or pretty\n' });
  });

  it('a config file that does not exist is one line naming it', async () => {
    expect(await mainInProcess(['dashboard', '--config', join(dir, 'nope.json')])).toEqual({ code: 2, stderr: `aquastop: ${join(dir, 'nope.json')}: no such file\n` });
  });

  it('a switch variable that is not 1/0 (or true/false...) is refused, naming the variable', async () => {
    env({ AQUASTOP_ALLOW_REMOTE_RESET: 'sometimes' });
    expect(await mainInProcess(['sim', '--scenario', 'normal-cycle', '--no-mqtt'])).toEqual({
      code: 2,
      stderr: 'aquastop: AQUASTOP_ALLOW_REMOTE_RESET must be 1 or 0 (or true/false, yes/no, on/off) for --allow-remote-reset: got "sometimes"\n',
    });
  });

  it('a TLS file named by a variable is named by that variable (run, real process)', async () => {
    const r = await aquastop(['run', '--port', '/dev/null', '--broker', 'mqtts://127.0.0.1:8883'], { env: { AQUASTOP_CAFILE: join(dir, 'no-ca.pem') } });
    expect([r.code, r.stderr]).toEqual([2, `aquastop: AQUASTOP_CAFILE ${join(dir, 'no-ca.pem')}: no such file\n`]);
  });

  it('run without --port anywhere says --port is required (real process)', async () => {
    const r = await aquastop(['run', '--no-mqtt']);
    expect([r.code, r.stderr]).toEqual([2, 'aquastop: --port is required: the serial port of the board, e.g. /dev/ttyACM0 (see "aquastop ports")\n']);
  });
});
