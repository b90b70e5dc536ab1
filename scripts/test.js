#!/usr/bin/env node
// `npm test`: the uvu suites compiled into dist/test, then the lab (lab/run.sh: the seed's scenario on
// a real data plane under qemu), ending with one plain "N passed, N failed" line for both.
// Usage: node scripts/test.js [pattern]   (pattern filters test file names, as uvu's own; with a
// pattern, or with S2SGW_TEST_LAB=0 outside CI, only the unit tests run: a quick loop for development)
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const pattern = process.argv[2] || '\\.test\\.js$';
// CI always runs the lab: a check that cannot run there fails, it never skips.
const withLab = process.env.CI === 'true' || (!process.argv[2] && process.env.S2SGW_TEST_LAB !== '0');

/** Runs a command, passing its stdout through; resolves with its exit code and what it printed. */
function run(cmd, args, env) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      out += chunk.toString();
    });
    child.on('error', (e) => resolve({ code: 127, out: `${e.message}\n` }));
    child.on('close', (code) => resolve({ code: code ?? 1, out: out.replace(/\x1b\[[0-9;]*m/g, '') }));
  });
}

async function main() {
  const unit = await run(process.execPath, [path.join(root, 'node_modules', 'uvu', 'bin.js'), path.join('dist', 'test'), pattern], { FORCE_COLOR: '0' });
  const total = Number((unit.out.match(/Total:\s+(\d+)/) || [])[1]);
  let passed = Number((unit.out.match(/Passed:\s+(\d+)/) || [])[1]);
  const skipped = Number((unit.out.match(/Skipped:\s+(\d+)/) || [])[1] || 0);
  let failed;
  if (!Number.isFinite(total) || !Number.isFinite(passed)) {
    // uvu died before its summary (a suite failed to load): count that as a failure.
    passed = 0;
    failed = 1;
  } else {
    failed = Math.max(total - passed - skipped, unit.code === 0 ? 0 : 1);
  }
  process.stdout.write(`\nunit tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  let ok = unit.code === 0 && failed === 0;
  if (withLab) {
    process.stdout.write('\n== lab (lab/run.sh; docs/lab.md) ==\n');
    const lab = await run('bash', [path.join(root, 'lab', 'run.sh')], {});
    const m = lab.out.match(/^(\d+) passed, (\d+) failed$/m);
    const lp = m ? Number(m[1]) : 0;
    const lf = m ? Number(m[2]) : 1;
    passed += lp;
    // A lab that ran no check proves nothing: that counts as a failure too.
    failed += Math.max(lf, lab.code === 0 && lp > 0 ? 0 : 1);
    ok = ok && lab.code === 0 && lf === 0 && lp > 0;
  }
  process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  process.exit(ok && failed === 0 ? 0 : 1);
}

main();
