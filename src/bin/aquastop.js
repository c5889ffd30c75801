#!/usr/bin/env node
// Entry point for the `aquastop` bin: runs the TypeScript CLI through tsx's loader.
import { register } from 'tsx/esm/api';
register();
await import('../cli.ts');
