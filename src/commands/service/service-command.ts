/**
 * Where a long-running command's options come from: the flag, else its environment variable
 * (env.ts), else the `--config` file (config-file.ts), else the default. Commander reads the
 * variables of flags that take a value (`Option.env`, shown in `--help`); switches are read
 * here, strictly (`AQUASTOP_JSON=false` is off, commander would take any value as on), as are
 * the older variable names and the config file, before the command's action runs.
 *
 * Each command still checks every value with its own schema. An error it raises names the flag
 * (`--mqtt-port must be an integer`); {@link explainSource} then names where the value came
 * from instead: `AQUASTOP_MQTT_PORT must be an integer`, `/etc/aquastop/run.json: "mqtt-port"
 * must be an integer`.
 */
import { Command, type Option } from 'commander';
import { UsageError } from '../errors.js';
import { readConfigFile } from './config-file.js';
import { envNameFor, LEGACY_ENV, parseSwitch } from './env.js';
import { createLogger, LOG_LEVELS, parseLogOptions, type LogOptions, type Logger } from './log.js';

/** The commands that run until stopped, and so are run as services. */
export const SERVICE_COMMANDS: ReadonlySet<string> = new Set(['run', 'sim', 'monitor', 'dashboard', 'start']);

export const PRECEDENCE_HELP = `
Every option can also come from its environment variable (AQUASTOP_ and the flag
name in upper snake case, shown above; a switch takes 1/0, true/false, yes/no or
on/off) or from a JSON file given with --config (keys: the flag names without
"--", e.g. {"data-dir": "/var/lib/aquastop", "no-mqtt": true}).
A flag wins over its variable, the variable over the file, the file over the
default.`;

/** Commander's Command whose long-running subcommands give every flag its environment variable. */
declare module 'commander' {
  interface Command {
    /** An action may return its exit code (AquastopCommand hands it to main()). */
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Commander's own action signature, widened
    action(fn: (this: this, ...args: any[]) => void | number | Promise<void | number>): this;
  }
}

export class AquastopCommand extends Command {
  /** On the program: the exit code the action that ran returned (0 when it returned none); main() returns it. */
  actionExitCode = 0;

  override createCommand(name?: string): Command {
    return new AquastopCommand(name);
  }

  /** A subcommand's action returns its exit code (nothing is 0) instead of setting process.exitCode. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Commander's own action signature, widened
  override action(fn: (this: this, ...args: any[]) => void | number | Promise<void | number>): this {
    const root = (): Command => {
      let c: Command = this;
      while (c.parent) c = c.parent;
      return c;
    };
    return super.action(async (...args: unknown[]) => {
      const code = await fn.apply(this, args);
      const program = root();
      if (typeof code === 'number' && program instanceof AquastopCommand) program.actionExitCode = code;
    });
  }

  override createOption(flags: string, description?: string): Option {
    const option = super.createOption(flags, description);
    if (!SERVICE_COMMANDS.has(this.name()) || !option.long || option.long === '--help' || option.long === '--version') return option;
    const name = envNameFor(option.long);
    if (option.required || option.optional) option.env(name);
    // A switch's variable is read by resolveSources (strictly); shown the way commander shows the others.
    else option.description = `${option.description ? `${option.description} ` : ''}(env: ${name}=1)`;
    return option;
  }
}

/** Where each option's value came from, once resolved: flag long name -> how to name it in an error. */
const labels = new WeakMap<Command, Map<string, string>>();

/**
 * Fills in, for a service command about to run, the switches' variables, the older variable
 * names and the config file, each only where no stronger source gave a value. Throws one
 * {@link UsageError} with one line per problem; nothing has started then.
 */
export function resolveSources(cmd: Command, env: NodeJS.ProcessEnv = process.env): void {
  const errors: string[] = [];
  const names = new Map<string, string>();
  const weaker = (key: string) => {
    const source = cmd.getOptionValueSource(key);
    return source === undefined || source === 'default' || source === 'config';
  };

  for (const option of cmd.options) {
    if (!option.long) continue;
    const key = option.attributeName();
    if (cmd.getOptionValueSource(key) === 'env' && option.envVar) names.set(option.long, option.envVar);
    const isSwitch = !(option.required || option.optional);
    if (isSwitch) {
      const name = envNameFor(option.long);
      const raw = env[name];
      if (raw === undefined || !weaker(key)) continue;
      const on = parseSwitch(raw);
      if (on === null) {
        errors.push(`${name} must be 1 or 0 (or true/false, yes/no, on/off) for ${option.long}: got "${raw.slice(0, 40)}"`);
        continue;
      }
      cmd.setOptionValueWithSource(key, option.negate ? !on : on, 'env');
      names.set(option.long, name);
      continue;
    }
    const legacy = LEGACY_ENV[option.long];
    if (legacy && env[legacy] !== undefined && weaker(key)) {
      cmd.setOptionValueWithSource(key, env[legacy], 'env');
      names.set(option.long, legacy);
    }
  }

  const configFile = cmd.getOptionValue('config') as string | undefined;
  if (configFile !== undefined) {
    const targets = cmd.options.filter((o) => o.long).map((o) => ({ long: o.long!, isSwitch: !(o.required || o.optional) }));
    const read = readConfigFile(configFile, targets, configFile === '' ? '--config' : configFile);
    errors.push(...read.errors);
    if (read.errors.length === 0) {
      for (const entry of read.entries) {
        const option = cmd.options.find((o) => o.long === entry.long)!;
        const key = option.attributeName();
        if (!weaker(key)) continue;
        const value = typeof entry.value === 'boolean' && option.negate ? !entry.value : entry.value;
        cmd.setOptionValueWithSource(key, value, 'config');
        names.set(option.long!, `${configFile}: "${entry.key}"`);
      }
    }
  }
  labels.set(cmd, names);
  const log = parseLogOptions(cmd.opts());
  if (!log.ok) errors.push(...log.errors);
  else logOptions.set(cmd, log.options);
  if (errors.length > 0) throw new UsageError(errors.join('\n'));
}

const logOptions = new WeakMap<Command, LogOptions>();
const loggers = new WeakMap<Command, Logger>();

/** The command's logger (--log-format, --log-level), made on first use. */
export function loggerFor(cmd: Command): Logger {
  let logger = loggers.get(cmd);
  if (!logger) {
    logger = createLogger(`aquastop-${cmd.name()}`, logOptions.get(cmd) ?? parseLogOptionsOrDefault(cmd));
    loggers.set(cmd, logger);
    // What the command runs with and where each value came from (secrets redacted by the logger).
    const sources = Object.fromEntries(
      cmd.options.filter((o) => o.long && cmd.getOptionValueSource(o.attributeName()) !== undefined).map((o) => [o.long!, cmd.getOptionValueSource(o.attributeName())] as const),
    );
    logger.debug({ options: cmd.opts(), sources }, 'options');
  }
  return logger;
}

function parseLogOptionsOrDefault(cmd: Command): LogOptions {
  const r = parseLogOptions(cmd.opts());
  return r.ok ? r.options : { format: 'json', level: 'info' };
}

/** How to name an option in an error: its flag, variable or config key, whichever gave the value. */
export function optionLabel(cmd: Command, longFlag: string): string {
  return labels.get(cmd)?.get(longFlag) ?? longFlag;
}

/**
 * Rewrites an error line of a service command that begins with a flag (`--mqtt-port must be
 * ...`) to name the variable or config key that gave the value instead. Other lines, and
 * values given as flags, stay as they are.
 */
export function explainSource(program: Command, message: string): string {
  return message
    .split('\n')
    .map((line) => {
      const m = /^(--[a-z0-9-]+)(?=\W|$)/.exec(line);
      if (!m) return line;
      for (const cmd of program.commands) {
        const label = labels.get(cmd)?.get(m[1]!);
        if (label) return label + line.slice(m[1]!.length);
      }
      return line;
    })
    .join('\n');
}

/** Adds `--config` and the precedence note to each service command of `program`, and resolves sources before its action. */
export function makeServices(program: Command): void {
  for (const cmd of program.commands) {
    if (!SERVICE_COMMANDS.has(cmd.name())) continue;
    cmd.option('--config <file>', 'read options from this JSON file (keys: flag names without "--")');
    cmd.option('--log-format <format>', 'json (one object per line) or pretty; default: pretty on a terminal, else json');
    cmd.option('--log-level <level>', LOG_LEVELS.join(', '), 'info');
    cmd.addHelpText('after', PRECEDENCE_HELP);
  }
  program.hook('preAction', (_program, action) => {
    if (SERVICE_COMMANDS.has(action.name()) && action.parent === program) resolveSources(action);
  });
}
