// Bench `cache`: whole s2sgw processes without a cache, with an empty one and with a warm one, for a one-tenant change (issue 20).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Bench, Context, Goal, fmtBytes, fmtInt, fmtMs, fmtRatio } from './bench';
import { tenantName } from './generate';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 's2sgw.js');
const HOOK = path.join(__dirname, 'exit-stats.js');
const PARSE = path.join(__dirname, 'parse-pass.js');
const RSS_LIMIT_MB = 500;

interface Run {
  ms: number;
  cpuMs: number;
  rssKb: number;
  code: number;
  out: string;
}

/**
 * One whole process (node start included), with its CPU time and peak RSS. bin/s2sgw.js is run as `npx s2sgw` runs
 * it, through its first line (`env -S GLIBC_TUNABLES=... node`: glibc's malloc settings change the peak RSS by
 * 50-100 MB), the stats hook given to node through NODE_OPTIONS; another script runs under this bench's node.
 */
function run(script: string, args: string[], cwd: string, scratch: string): Run {
  const stats = path.join(scratch, 'stats.json');
  fs.rmSync(stats, { force: true });
  const env: NodeJS.ProcessEnv = { ...process.env, S2SGW_BENCH_STATS: stats };
  delete env.S2SGW_CACHE_DIR;
  const t0 = performance.now();
  const asUsers = script === BIN;
  if (asUsers) env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --require ${JSON.stringify(HOOK)}`.trim();
  const argv = asUsers ? [script, ...args] : [process.execPath, '--require', HOOK, script, ...args];
  const r = spawnSync(argv[0], argv.slice(1), { cwd, env, encoding: 'utf8', maxBuffer: 1 << 30 });
  const ms = performance.now() - t0;
  const s = JSON.parse(fs.readFileSync(stats, 'utf8')) as { cpuMs: number; maxRssKb: number };
  return { ms, cpuMs: s.cpuMs, rssKb: s.maxRssKb, code: r.status ?? 1, out: r.stdout + r.stderr };
}

function git(dir: string, ...args: string[]): void {
  const r = spawnSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.com', ...args], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
}

const sum = (a: Run, b: Run): Run => ({ ms: a.ms + b.ms, cpuMs: a.cpuMs + b.cpuMs, rssKb: Math.max(a.rssKb, b.rssKb), code: a.code || b.code, out: '' });

export const bench: Bench = {
  name: 'cache',
  summary: 'validate, build and plan --against HEAD as whole processes: no cache, empty cache, warm cache after a one-tenant change; goals: warm validate+plan <= 1/15, warm build <= 1/6, RSS < 500 MB, cold build <= 3x parse',
  byDefault: false,
  async run(ctx: Context) {
    const table = [['tenants', 'command', 'no cache ms', 'cpu ms', 'empty cache ms', 'warm cache ms', 'cpu ms', 'no cache / warm', 'cpu ratio', 'RSS no cache', 'RSS warm']];
    const goals: Goal[] = [];
    const notes: string[] = [];
    const sizes = ctx.options.sizes;
    for (const n of sizes) {
      const dir = path.join(ctx.scratch, `cache-${n}`);
      const cache = path.join(ctx.scratch, `cache-${n}.d`);
      const out = path.join(ctx.scratch, `cache-${n}.out`);
      fs.cpSync(ctx.repo(n).dir, dir, { recursive: true });
      fs.writeFileSync(path.join(dir, '.gitignore'), 'out/\n');
      const s = (args: string[]) => {
        const r = run(BIN, args, dir, ctx.scratch);
        if (r.code !== 0 && r.code !== 3) throw new Error(`s2sgw ${args.join(' ')} exited ${r.code}: ${r.out.slice(0, 2000)}`);
        ctx.log(`${fmtInt(n)}: s2sgw ${args.filter((a) => !a.startsWith('/')).join(' ')}: ${fmtMs(r.ms)} ms, cpu ${fmtMs(r.cpuMs)} ms, RSS ${fmtBytes(r.rssKb * 1024)}`);
        return r;
      };
      const parse = run(PARSE, [dir], dir, ctx.scratch);
      // Today's cold build (no cache); it writes the lock, which is then committed with the tenants.
      const build0 = s(['build', '--out', out]);
      git(dir, 'init', '-q');
      git(dir, 'add', '-A');
      git(dir, 'commit', '-qm', 'base');
      // CI on the base commit fills the cache: validate, build.
      const validateC = s(['validate', '--cache-dir', cache]);
      const buildC = s(['build', '--out', out, '--cache-dir', cache]);
      // The pull request: one tenant changes.
      const victim = path.join(dir, 'tenants', `${tenantName(Math.ceil(n / 2))}.yaml`);
      fs.writeFileSync(victim, fs.readFileSync(victim, 'utf8').replace('{ to: 10.2.0.0/16, metric: 100 }', '{ to: 10.2.0.0/16, metric: 90 }'));
      const validate0 = s(['validate']);
      const plan0 = s(['plan', '--against', 'HEAD', '--format', 'json']);
      const validateW = s(['validate', '--cache-dir', cache]);
      const planW = s(['plan', '--against', 'HEAD', '--format', 'json', '--cache-dir', cache]);
      const buildW = s(['build', '--out', out, '--cache-dir', cache]);
      if (plan0.out !== planW.out) notes.push(`${fmtInt(n)}: the cached plan differs from the uncached one (a bug)`);
      const row = (name: string, none: Run, empty: Run | undefined, warm: Run) =>
        void
        table.push([fmtInt(n), name, fmtMs(none.ms), fmtMs(none.cpuMs), empty ? fmtMs(empty.ms) : '-', fmtMs(warm.ms), fmtMs(warm.cpuMs), fmtRatio(none.ms / warm.ms), fmtRatio(none.cpuMs / warm.cpuMs), fmtBytes(none.rssKb * 1024), fmtBytes(warm.rssKb * 1024)]);
      row('validate', validate0, validateC, validateW);
      row('plan --against HEAD', plan0, undefined, planW);
      row('validate + plan', sum(validate0, plan0), undefined, sum(validateW, planW));
      row('build', build0, buildC, buildW);
      table.push([fmtInt(n), 'parse-only pass', fmtMs(parse.ms), fmtMs(parse.cpuMs), '-', '-', '-', '-', '-', fmtBytes(parse.rssKb * 1024), '-']);
      const vp0 = sum(validate0, plan0);
      const vpW = sum(validateW, planW);
      if (n === Math.max(...sizes)) {
        goals.push({ name: `validate + plan --against HEAD, warm / no cache at ${fmtInt(n)} tenants (as 1/x)`, value: vpW.ms / vp0.ms * 15, cpuValue: vpW.cpuMs / vp0.cpuMs * 15, limit: 1, unit: 'x' });
        goals.push({ name: `build, warm / cold at ${fmtInt(n)} tenants (x6)`, value: buildW.ms / build0.ms * 6, cpuValue: buildW.cpuMs / build0.cpuMs * 6, limit: 1, unit: 'x' });
        const rss = Math.max(...[validate0, plan0, build0, validateC, buildC, validateW, planW, buildW].map((r) => r.rssKb)) / 1024;
        goals.push({ name: `peak RSS of every command above at ${fmtInt(n)} tenants`, value: rss, limit: RSS_LIMIT_MB, unit: 'MB' });
      }
      if (n === Math.min(...sizes)) goals.push({ name: `cold build (no cache) / parse-only pass at ${fmtInt(n)} tenants, whole processes`, value: build0.ms / parse.ms, cpuValue: build0.cpuMs / parse.cpuMs, limit: 3, unit: 'x' });
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(cache, { recursive: true, force: true });
      fs.rmSync(out, { recursive: true, force: true });
    }
    notes.push('whole processes, node start included, one run each, side by side; "empty cache" fills the cache on the base commit (validate, then build), "warm" runs after one tenant changed');
    notes.push('the first two goals are scaled to a limit of 1.00x: warm x15 / no cache, warm build x6 / cold build');
    return { title: 'cache: a one-tenant change, whole processes without and with --cache-dir', table, goals, notes };
  },
};
