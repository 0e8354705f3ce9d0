#!/usr/bin/env node
/** The `imds-analyzer` command. All logic lives in run.ts so tests can drive it in-process. */
import v8 from 'node:v8';

// Compile every function as its module loads instead of at its first call: the first IMDS call
// after start-up otherwise pays for compiling the whole capture-to-attribution path while a
// one-shot client's socket lives (~0.7 ms). Measured in the fake instance, the first curl of a
// run was named 1-4 times in 10 lazily, 8 in 10 eagerly; start-up costs 60 ms and 4 MB more.
// Set before run.js and its imports load: the flag applies to code compiled after it.
v8.setFlagsFromString('--no-lazy');
const { run } = await import('./run.js');

process.exitCode = await run(process.argv.slice(2));
