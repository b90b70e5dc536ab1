#!/usr/bin/env node
// Runs the uvu suites compiled into dist/test and ends with the plain "N passed, N failed" line CI reads.
// Usage: node scripts/test.js [pattern]   (pattern filters test file names, as uvu's own)
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const pattern = process.argv[2] || '\\.test\\.js$';
const child = spawn(process.execPath, [path.join(root, 'node_modules', 'uvu', 'bin.js'), path.join('dist', 'test'), pattern], {
  cwd: root,
  env: { ...process.env, FORCE_COLOR: '0' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let out = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  out += chunk.toString();
});
child.on('close', (code) => {
  const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
  const total = Number((plain.match(/Total:\s+(\d+)/) || [])[1]);
  const passed = Number((plain.match(/Passed:\s+(\d+)/) || [])[1]);
  const skipped = Number((plain.match(/Skipped:\s+(\d+)/) || [])[1] || 0);
  if (!Number.isFinite(total) || !Number.isFinite(passed)) {
    // uvu died before its summary (a suite failed to load): count that as a failure.
    process.stdout.write('\n0 passed, 1 failed\n');
    process.exit(1);
  }
  const failed = Math.max(total - passed - skipped, code === 0 ? 0 : 1);
  process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  process.exit(code === 0 && failed === 0 ? 0 : 1);
});
