/**
 * The `aquastop` program: {@link buildProgram} and {@link main}, which the process entries (the
 * bin src/bin/aquastop.js, and src/cli.ts for `tsx src/cli.ts`) call. Each subcommand lives in
 * src/commands/<name>.ts and registers itself; its action returns its exit code. Heavy modules
 * are imported inside the actions so `aquastop --help` stays fast.
 */
import { CommanderError } from 'commander';
import { isUsageError } from './errors/usage-error.js';
import { AquastopCommand, explainSource, makeServices } from './commands/service/service-command.js';
import { register as registerSim } from './commands/sim.js';
import { register as registerScenarios } from './commands/scenarios.js';
import { register as registerRun } from './commands/run.js';
import { register as registerPorts } from './commands/ports.js';
import { register as registerFirmware } from './commands/firmware.js';
import { register as registerEmulate } from './commands/emulate.js';
import { register as registerMonitor } from './commands/monitor.js';
import { register as registerDashboard } from './commands/dashboard.js';
import { register as registerStart } from './commands/start.js';

export function buildProgram(): AquastopCommand {
  const program = new AquastopCommand('aquastop')
    .description('Appliance leak protection (Aquastop): controller, simulator, boards and monitoring')
    .version('0.1.0')
    .showSuggestionAfterError(true)
    .configureOutput({ outputError: (str, write) => write((str.split('\n')[0] ?? '') + '\n') })
    .exitOverride();
  for (const register of [registerSim, registerScenarios, registerRun, registerPorts, registerFirmware, registerEmulate, registerMonitor, registerDashboard, registerStart]) {
    register(program);
  }
  // Long-running commands: every flag also from its environment variable or a --config file.
  makeServices(program);
  // Subcommands inherit exit override and the one-line error output.
  for (const cmd of program.commands) {
    cmd.exitOverride().configureOutput({ outputError: (str, write) => write((str.split('\n')[0] ?? '') + '\n') });
  }
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return program.actionExitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; every parse problem is bad input (2). Commander already printed one line.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return 2;
    }
    if (isUsageError(err)) {
      // One line per problem, each naming the flag, variable or config key that gave the value.
      for (const line of explainSource(program, err.message).split('\n')) process.stderr.write(`aquastop: ${line}\n`);
      return err.exitCode;
    }
    process.stderr.write(`aquastop: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    if (process.env.AQUASTOP_DEBUG) console.error(err);
    return 70;
  }
}

/** A reader that goes away (`aquastop sim --json | head`) ends the output, quietly: no stack trace. */
export function quietOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
}
