import type { Command } from 'commander';

/** `aquastop scenarios`: the built-in scenarios, one line each. */
export function register(program: Command): void {
  program
    .command('scenarios')
    .description('list the built-in scenarios')
    .action(async () => {
      const { builtinScenarioNames, loadBuiltinScenario } = await import('../../sim/scenarios/index.js');
      const names = builtinScenarioNames();
      const width = Math.max(...names.map((n) => n.length));
      for (const name of names) {
        const scenario = loadBuiltinScenario(name)!;
        process.stdout.write(`${name.padEnd(width)}  ${scenario.description}\n`);
      }
    });
}
