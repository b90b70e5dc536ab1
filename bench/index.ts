// `npm run bench [-- NAME...] [--sizes 1000,10000] [--runs 3] [--big-runs 1] [--keep] [--targets] [--list]`: the benches of bench/registry.ts.
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import { Context, Options, formatReport } from './bench';
import { BENCHES } from './registry';

const USAGE = `usage: npm run bench -- [NAME...] [--sizes 1000,10000] [--runs 3] [--big-runs 1] [--keep] [--list]
  NAME      ${BENCHES.map((b) => b.name).join(', ')} (default: ${BENCHES.filter((b) => b.byDefault).map((b) => b.name).join(', ')})
  --sizes   tenant counts; goals compare the first two
  --runs    runs per series at sizes up to 1,000 (median); --big-runs for larger sizes
  --keep    keep the generated repositories and scratch files
  --targets breakdown: also time each target's render`;

function positiveInts(s: string, what: string): number[] {
  const out = s.split(',').map((x) => Number(x.replace(/_/g, '')));
  if (!out.length || out.some((x) => !Number.isInteger(x) || x < 1)) throw new Error(`${what} must be positive whole numbers, got ${s}`);
  return out;
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { sizes: { type: 'string' }, runs: { type: 'string' }, 'big-runs': { type: 'string' }, keep: { type: 'boolean' }, targets: { type: 'boolean' }, list: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (values.list) {
    for (const b of BENCHES) process.stdout.write(`${b.name.padEnd(10)} ${b.byDefault ? '*' : ' '} ${b.summary}\n`);
    return 0;
  }
  const unknown = positionals.filter((p) => !BENCHES.some((b) => b.name === p));
  if (unknown.length) {
    process.stderr.write(`unknown bench ${unknown.join(', ')}\n${USAGE}\n`);
    return 2;
  }
  let options: Options;
  try {
    options = {
      sizes: positiveInts(values.sizes ?? '1000,10000', '--sizes').sort((a, b) => a - b),
      runs: positiveInts(values.runs ?? '3', '--runs')[0],
      bigRuns: positiveInts(values['big-runs'] ?? '1', '--big-runs')[0],
      keep: values.keep ?? false,
      breakdownBuild: values.targets ?? false,
    };
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const selected = positionals.length ? BENCHES.filter((b) => positionals.includes(b.name)) : BENCHES.filter((b) => b.byDefault);
  const log = (line: string) => process.stderr.write(`  .. ${line}\n`);
  const ctx = new Context(options, log);
  const t0 = Date.now();
  const load = os.loadavg()[0];
  const cores = os.cpus().length;
  // Other work on the machine stretches wall times; CPU-time ratios are printed beside them for that reason.
  if (load > cores / 2) process.stdout.write(`note: the machine is busy (load ${load.toFixed(1)} on ${cores} cores): wall times are noisy, compare the CPU-time figures\n`);
  let failed = 0;
  try {
    for (const b of selected) {
      try {
        process.stdout.write('\n' + formatReport(await b.run(ctx)));
      } catch (e) {
        // One broken bench (e.g. a target that throws at 10,000 tenants) must not hide the others' figures.
        failed++;
        process.stdout.write(`\n== ${b.name}: FAILED\n${(e as Error).message}\n`);
      }
    }
  } finally {
    ctx.close();
  }
  process.stdout.write(`\nbench took ${Math.round((Date.now() - t0) / 1000)} s (node ${process.version})\n`);
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e) => {
    process.stderr.write(`bench failed: ${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  },
);
