#!/usr/bin/env node
// Entry point for the `aquastop` bin: loads the TypeScript program through tsx's loader and runs main().
import { register } from 'tsx/esm/api';
register();
const { main, quietOnClosedPipe } = await import('../program.ts');
quietOnClosedPipe();
process.exitCode = await main(process.argv.slice(2));
