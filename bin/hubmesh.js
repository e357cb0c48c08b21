#!/usr/bin/env node
// The built CLI; `npm install` (prepare) and `npm start` build it with tsc.
import { runCli } from '../dist/src/cli.js';

process.exitCode = await runCli(process.argv.slice(2));
