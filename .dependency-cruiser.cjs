/**
 * The house rule over the real import graph (type-only imports count too), checked by `npm run lint`:
 *
 *   commands (src/commands, src/program.ts, src/cli.ts, src/bin)
 *     -> sim | hardware | telemetry | monitor | dashboard
 *       -> board -> machine
 *   and at the bottom clock, protocol, errors: anyone may import them, they import nothing above
 *   (but the fault catalogue src/machine/catalogue.ts, which the MQTT contract names).
 *
 * Lower layers never import higher ones; sim and hardware never import each other; the controller
 * machine imports only xstate, zod and itself; the dashboard page (src/dashboard/public, browser
 * code) imports only itself and the mqtt bundle the server hands it at /vendor/. Tests may import
 * anything: test/ is not cruised.
 */
const TOP = '^src/(commands/|cli[.]ts$|program[.]ts$|bin/)';
const MIDDLE = '^(sim|hardware)/|^src/(telemetry|monitor|dashboard)/';
const BOTTOM = '^src/(clock|protocol|errors)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'commands-are-the-top',
      comment: 'Only the program (src/cli.ts, src/program.ts, src/bin, src/commands itself) imports src/commands.',
      severity: 'error',
      from: { pathNot: TOP },
      to: { path: TOP },
    },
    {
      name: 'board-below-the-services',
      comment: 'src/board is below sim, hardware, telemetry, monitor and dashboard: it imports none of them.',
      severity: 'error',
      from: { path: '^src/board/' },
      to: { path: MIDDLE },
    },
    {
      name: 'machine-is-pure',
      comment: 'src/machine imports only xstate, zod and itself (no Node modules, no other folder of ours).',
      severity: 'error',
      from: { path: '^src/machine/' },
      to: { pathNot: ['^src/machine/', '(^|/)node_modules/(xstate|zod)/'] },
    },
    {
      name: 'bottom-imports-nothing-above',
      comment:
        'src/clock, src/protocol and src/errors are for everyone: they import only each other, and the MQTT contract ' +
        "the machine's fault catalogue (its codes and classes; pure data, the machine imports nothing of ours).",
      severity: 'error',
      from: { path: BOTTOM },
      to: { path: ['^src/', '^sim/', '^hardware/'], pathNot: [BOTTOM, '^src/machine/catalogue[.]ts$'] },
    },
    {
      name: 'sim-not-hardware',
      comment: 'The simulator and the hardware boards are siblings: neither imports the other.',
      severity: 'error',
      from: { path: '^sim/' },
      to: { path: '^hardware/' },
    },
    {
      name: 'hardware-not-sim',
      comment: 'The simulator and the hardware boards are siblings: neither imports the other.',
      severity: 'error',
      from: { path: '^hardware/' },
      to: { path: '^sim/' },
    },
    {
      name: 'not-to-test',
      comment: 'The program never imports test code (test/ may import anything).',
      severity: 'error',
      from: { path: '^(src|sim|hardware)/' },
      to: { path: '^test/' },
    },
    {
      name: 'page-is-self-contained',
      comment: 'The dashboard page runs in the browser: it imports only its own files and the /vendor/ mqtt bundle.',
      severity: 'error',
      from: { path: '^src/dashboard/public/' },
      to: { pathNot: ['^src/dashboard/public/', '^/vendor/'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
