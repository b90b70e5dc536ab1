#!/usr/bin/env node
// `npm run fuzz`: the fuzz suite (test/fuzz.test.ts) with many more cases than `npm test` runs, a new seed each time
// (printed, to replay a failure: S2SGW_FUZZ_SEED=N npm run fuzz) and more bundles handed to the real tools.
// Usage: npm run fuzz [-- RUNS [CHECKS]]   (defaults 2000 cases per mix, 10 real-tool checks)
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const env = {
  ...process.env,
  S2SGW_FUZZ_RUNS: process.argv[2] || process.env.S2SGW_FUZZ_RUNS || '2000',
  S2SGW_FUZZ_CHECKS: process.argv[3] || process.env.S2SGW_FUZZ_CHECKS || '10',
  S2SGW_FUZZ_SEED: process.env.S2SGW_FUZZ_SEED || String(Date.now() % 2 ** 31),
};
process.stdout.write(`fuzz: seed ${env.S2SGW_FUZZ_SEED}, ${env.S2SGW_FUZZ_RUNS} cases per mix, ${env.S2SGW_FUZZ_CHECKS} real-tool checks\n`);
const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'uvu', 'bin.js'), path.join('dist', 'test'), 'fuzz\\.test\\.js$'], { cwd: root, env, stdio: 'inherit' });
process.exit(r.status ?? 1);
