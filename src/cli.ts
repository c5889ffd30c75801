/**
 * The `aquastop` command as a process (`tsx src/cli.ts ...`: npm start, npm run aquastop, the
 * tests); the installed bin, src/bin/aquastop.js, does the same. The program is src/program.ts.
 */
import { main, quietOnClosedPipe } from './program.js';

quietOnClosedPipe();
process.exitCode = await main(process.argv.slice(2));
