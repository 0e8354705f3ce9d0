#!/usr/bin/env node
/** The `imds-analyzer` command. All logic lives in run.ts so tests can drive it in-process. */
import { run } from './run.js';

process.exitCode = await run(process.argv.slice(2));
