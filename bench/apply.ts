// Bench `apply`: a one-tenant change applied incrementally next to a full reload of the same host, per step, with real charon, nft and FRR in throwaway namespaces.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Bench, Context, Goal, Report, fmtInt, fmtMs } from './bench';
import { generateRepo, pskDestination, tenantName } from './generate';
import { loadConfig } from '../src/model/load';
import { LOCK_FILE, readLock } from '../src/model/lock';
import { compile } from '../src/bundle/compile';
import { writeTree } from '../src/bundle/write';
import { Cache } from '../src/util/cache';
import { openSandbox, Sandbox } from '../src/apply/sandbox';
import { Runner } from '../src/apply/runner';
import { CONF_D } from '../src/apply/release';
import { SUMMARIES } from '../src/bundle/manifest';
import { apply, describeError } from '../src/apply/engine';
import { frrPlan } from '../src/apply/incremental/frr';
import { nftPlan } from '../src/apply/incremental/nft';
import { FRR_FILE, NFT_FILE } from '../src/apply/steps';
import { ClassChange, classChanges, Cost, cpuMark, daemonCpu, loadAllFloor, medianCost, nftFloor, nodeFloor, viciFloor, vtyshFloor } from './classes';

/** FRR's load time grows faster than its file (100 tenants 7 s, 300 over 60 s in frr/check.ts): the FRR host is smaller. */
const FRR_TENANTS = Number(process.env.S2SGW_BENCH_FRR_TENANTS ?? 200);
const RELOAD_STEPS = ['reload-sysctl', 'reload-links', 'reload-frr', 'reload-strongswan', 'reload-nftables', 'reload-tc', 'remove-links', 'remove-frr'];
const OVERHEAD_STEPS = ['current', 'verify', 'plan-nft', 'secrets', 'stage', 'check', 'compare', 'switch', 'health', 'commit'];

/**
 * The one-tenant change: a route's metric (FRR distance), a site's destination (strongSwan replaces the
 * connection and terminates its SA), a filter rule (nft chain) and a rate (tc) of the middle tenant.
 */
function changeTenant(yaml: string, i: number): string {
  const t = tenantName(i);
  const out = yaml
    .replace('{ to: 10.1.0.0/16, metric: 100 }', '{ to: 10.1.0.0/16, metric: 150 }')
    .replace(`destination: ${pskDestination(i, 2)}`, `destination: ${pskDestination(i, 0)}`)
    .replace('      - { destination: 192.168.0.0/29, protocol: tcp, destinationPort: 443 }\n', '      - { destination: 192.168.0.0/29, protocol: tcp, destinationPort: 443 }\n      - { destination: 192.168.0.0/29, protocol: tcp, destinationPort: 22 }\n')
    .replace('rate: { txKbps: 1024, rxKbps: 1024 }', 'rate: { txKbps: 2048, rxKbps: 1024 }');
  if (out === yaml) throw new Error(`the bench's change of ${t} changed nothing`);
  return out;
}

interface Host {
  n: number;
  /** The repository (left as bundle c has it; the change classes go on from there). */
  dir: string;
  cache: Cache;
  changed: string;
  a: string;
  b: string;
  /** b with the same change made to the next tenant: what the `s2sgw apply` command applies on top of b. */
  c: string;
  env: NodeJS.ProcessEnv;
}

/**
 * S2SGW_BENCH_APPLY_ONLY=first: only the first apply and `swanctl --load-all` of the same files (issue 18's goal row),
 * in minutes instead of the whole bench's half hour at 10,000 tenants; one bundle is built.
 */
const FIRST_ONLY = process.env.S2SGW_BENCH_APPLY_ONLY === 'first';

/** A repository of n tenants, its bundle, and the bundle after the one-tenant change (same lock). */
function prepare(ctx: Context, n: number, log: (s: string) => void): Host {
  const dir = path.join(ctx.scratch, `apply-${n}`);
  fs.rmSync(dir, { recursive: true, force: true });
  generateRepo(dir, { tenants: n });
  const t0 = performance.now();
  // The work cache (--cache-dir): the second and third builds, and the change classes' five, render only the changed tenant.
  const cache = new Cache(path.join(ctx.scratch, `apply-${n}.cache`), () => {});
  const c = compile(loadConfig(dir), readLock(dir), { cache });
  if (!c.ok) throw new Error(`the ${n}-tenant repository does not compile: ${c.diagnostics[0]?.message}`);
  fs.writeFileSync(path.join(dir, LOCK_FILE), c.lockText!);
  const a = path.join(ctx.scratch, `apply-${n}-a`);
  writeTree(a, c.bundles[0].files);
  const env: NodeJS.ProcessEnv = {};
  // n + 1: the tenant the change classes add.
  for (let t = 1; t <= n + 1; t++) for (let k = 1; k <= 3; k++) env[`T${t}_SITE${k}_PSK`] = `bench-psk-t${t}-site${k}-0123456789`;
  if (FIRST_ONLY) {
    log(`apply: built ${fmtInt(n)} tenants in ${fmtInt(performance.now() - t0)} ms`);
    return { n, dir, changed: '', a, b: a, c: a, env, cache };
  }
  const i = Math.ceil(n / 2);
  const changed = tenantName(i);
  const file = path.join(dir, 'tenants', `${changed}.yaml`);
  fs.writeFileSync(file, changeTenant(fs.readFileSync(file, 'utf8'), i));
  const c2 = compile(loadConfig(dir), readLock(dir), { cache });
  if (!c2.ok) throw new Error(`the changed repository does not compile: ${c2.diagnostics[0]?.message}`);
  const b = path.join(ctx.scratch, `apply-${n}-b`);
  writeTree(b, c2.bundles[0].files);
  const j = i + 1 <= n ? i + 1 : i - 1;
  const next = path.join(dir, 'tenants', `${tenantName(j)}.yaml`);
  fs.writeFileSync(next, changeTenant(fs.readFileSync(next, 'utf8'), j));
  const c3 = compile(loadConfig(dir), readLock(dir), { cache });
  if (!c3.ok) throw new Error(`the twice-changed repository does not compile: ${c3.diagnostics[0]?.message}`);
  const cDir = path.join(ctx.scratch, `apply-${n}-c`);
  writeTree(cDir, c3.bundles[0].files);
  log(`apply: built ${fmtInt(n)} tenants three times in ${fmtInt(performance.now() - t0)} ms`);
  return { n, dir, changed, a, b, c: cDir, env, cache };
}

interface Run {
  steps: Map<string, number>;
  /** Commands per step ("vici --load-conn t5e1", "nft -f ..."), for the table. */
  commands: Map<string, string[]>;
  total: number;
  /** CPU time: this process, the programs it ran and the namespace's daemons (charon), from /proc. */
  cpu: number;
}

async function timedApply(sb: Sandbox, h: Host, bundle: string, skip: string[], opts: { full?: boolean; dryRun?: boolean } = {}): Promise<Run> {
  const runner = new Runner(sb.runner({ skip, timeoutMs: 3_600_000 }));
  runner.dryRun = !!opts.dryRun;
  const said: string[] = [];
  const c0 = cpuMark(sb.ns) + selfCpu();
  const t0 = performance.now();
  const out = await apply(runner, { bundle, env: h.env, full: opts.full, say: (s) => said.push(s), lockWaitMs: 1000 });
  const total = performance.now() - t0;
  const cpu = cpuMark(sb.ns) + selfCpu() - c0;
  if (out.code !== 0) throw new Error(`apply failed: ${out.error ? describeError(out.error) : ''}\n${said.slice(-10).join('\n')}`);
  const steps = new Map<string, number>();
  for (const t of runner.timings) steps.set(t.step, (steps.get(t.step) ?? 0) + t.ms);
  const commands = new Map<string, string[]>();
  for (const e of runner.log) commands.set(e.step, [...(commands.get(e.step) ?? []), e.argv.slice(0, 3).join(' ')]);
  return { steps, commands, total, cpu };
}

/** The report of S2SGW_BENCH_APPLY_ONLY=first: the first apply's row of the class table, its steps and its goal. */
function firstOnly(first: Run, loadAll: { ms: number; cpu: number; out: string } | undefined, load0: number[]): Report {
  const table = [['', 'wall ms', 'CPU ms', 'apply/floor', '(CPU)']];
  table.push(['first apply (full load, in process)', fmtMs(first.total), fmtMs(first.cpu), loadAll ? `${(first.total / loadAll.ms).toFixed(2)}x` : '', loadAll ? `${(first.cpu / loadAll.cpu).toFixed(2)}x` : '']);
  if (loadAll) table.push([`floor: swanctl --load-all into a fresh charon (${loadAll.out})`, fmtMs(loadAll.ms), fmtMs(loadAll.cpu), '', '']);
  const goals: Goal[] = [{ name: 'first apply / swanctl --load-all of the same files', value: loadAll ? first.total / loadAll.ms : undefined, limit: 1.3, unit: 'x', missing: 'strongswan skipped (S2SGW_BENCH_APPLY_SKIP)', ...(loadAll ? { cpuValue: first.cpu / loadAll.cpu } : {}) }];
  const notes = [
    `first apply's steps: ${[...first.steps].sort((x, y) => y[1] - x[1]).map(([st, ms]) => `${st} ${fmtInt(ms)}`).join(', ')} ms`,
    `commands: ${[...first.commands].map(([st, c]) => `${st}: ${c.join('; ')}`).join(' | ')}`,
    `machine: ${os.cpus().length} cores, load average ${load0.map((x) => x.toFixed(1)).join(' ')} at the start and ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} at the end`,
  ];
  return { title: 'apply: the first apply vs swanctl --load-all of the same files (S2SGW_BENCH_APPLY_ONLY=first)', table, goals, notes };
}

/**
 * S2SGW_BENCH_APPLY_AB=EXE: each change class's command run alternately as this tree's single executable and as EXE
 * (another tree's, e.g. scripts/bundle.js OUT of main), S2SGW_BENCH_APPLY_AB_RUNS times each (3), CPU ms of the
 * command and its children: before/after side by side in one window. Before each measured apply the host is put
 * back on the bundle before the class (unmeasured) and the class's release and the shards no release uses are
 * removed, so every measured apply stages anew, as the first apply of that bundle does.
 */
const AB = process.env.S2SGW_BENCH_APPLY_AB;

async function sideBySide(sb: Sandbox, h: Host, skip: string[], mine: Command, scratch: string, n: number, log: (s: string) => void, load0: number[]): Promise<Report> {
  const other: Command = { what: AB!, argv: () => [AB!], env: mine.env };
  const runs = Number(process.env.S2SGW_BENCH_APPLY_AB_RUNS ?? 3);
  commandApply(sb, h, h.c, skip, mine);
  const classes = classChanges(h.dir, n, scratch, log, h.cache);
  const state = path.join(sb.runner().root ?? '/', 'var/lib/s2sgw');
  const releases = path.join(state, 'releases');
  const clean = (keep: Set<string>) => {
    for (const r of fs.readdirSync(releases)) if (!keep.has(r)) fs.rmSync(path.join(releases, r), { recursive: true, force: true });
    const used = new Set<string>();
    for (const r of fs.readdirSync(releases)) {
      for (const d of [path.join(releases, r, CONF_D), path.join(releases, r, SUMMARIES)]) {
        if (!fs.existsSync(d)) continue;
        for (const e of fs.readdirSync(d)) {
          const t = path.join(d, e);
          if (fs.lstatSync(t).isSymbolicLink()) used.add(path.basename(fs.readlinkSync(t)));
        }
      }
    }
    const shards = path.join(state, 'shards');
    if (fs.existsSync(shards)) for (const s of fs.readdirSync(shards)) if (!used.has(s)) fs.rmSync(path.join(shards, s), { recursive: true, force: true });
  };
  const table = [['class', 'this tree, CPU ms (runs)', `${path.basename(path.dirname(AB!))}/${path.basename(AB!)}, CPU ms (runs)`, 'this / other']];
  let prev = h.c;
  for (const k of classes) {
    const got: Record<'mine' | 'other', number[]> = { mine: [], other: [] };
    for (let i = 0; i < runs; i++) {
      for (const which of (i % 2 ? ['other', 'mine'] : ['mine', 'other']) as Array<'mine' | 'other'>) {
        commandApply(sb, h, prev, skip, mine);
        clean(new Set([fs.readlinkSync(path.join(state, 'current')).split('/').pop()!]));
        const r = commandApply(sb, h, k.bundle, skip, which === 'mine' ? mine : other);
        got[which].push(r.cpu);
        log(`apply ab: ${k.label} ${which} CPU ${fmtInt(r.cpu)} ms, ${fmtInt(r.ms)} ms; ${r.printed}`);
      }
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    const show = (xs: number[]) => `${fmtInt(med(xs))} (${xs.map(fmtInt).join(', ')})`;
    table.push([k.label, show(got.mine), show(got.other), `${(med(got.mine) / med(got.other)).toFixed(2)}x`]);
    prev = k.bundle;
  }
  const notes = [`machine: ${os.cpus().length} cores, load average ${load0.map((x) => x.toFixed(1)).join(' ')} at the start and ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} at the end`];
  return { title: `apply: each class's command, this tree (${mine.what}) against ${AB} alternately (S2SGW_BENCH_APPLY_AB), ${fmtInt(n)} tenants`, table, notes };
}

/** This process's own CPU time in ms (the in-process apply's JavaScript). */
function selfCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * What the command is: the Debian package's single executable (scripts/bundle.js: the CLI bundled into one script
 * and run from node's single-executable blob with its V8 code cache), which /usr/bin/s2sgw runs on a gateway, built
 * once into the scratch folder; or, with S2SGW_BENCH_COMMAND=npm or when it cannot be built, bin/s2sgw.js (the npm
 * package's entry, which loads its 51 modules from dist/ and compiles them on every start).
 */
interface Command {
  what: string;
  argv: (prof: string[]) => string[];
  /** Options node takes from the environment here (a single executable refuses --cpu-prof there). */
  env: (lifetime: string) => NodeJS.ProcessEnv;
}

let commandCache: Command | undefined;

function commandOf(scratch: string, log: (s: string) => void): Command {
  if (commandCache) return commandCache;
  const root = path.resolve(__dirname, '..', '..');
  const bin = path.join(root, 'bin', 's2sgw.js');
  const npm: Command = { what: 'node -r lifetime.js bin/s2sgw.js', argv: (prof) => [process.execPath, ...prof, bin], env: (lifetime) => ({ NODE_OPTIONS: `-r ${lifetime}` }) };
  if (process.env.S2SGW_BENCH_COMMAND === 'npm') return (commandCache = npm);
  const out = path.join(scratch, 'apply-executable');
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'bundle.js'), out], { encoding: 'utf8', env: { ...process.env, S2SGW_DIST: path.relative(root, path.resolve(__dirname, '..')) } });
  if (r.status !== 0) {
    log(`apply: the single executable could not be built (${(r.stderr || r.stdout).trim().split('\n').pop()}): the command is bin/s2sgw.js`);
    return (commandCache = { ...npm, what: `${npm.what} (the single executable could not be built)` });
  }
  log(`apply: built the single executable in ${fmtInt(performance.now() - t0)} ms`);
  const exe = path.join(out, 's2sgw');
  const script = path.join(out, 's2sgw.js');
  return (commandCache = {
    what: 'the package\'s single executable, as /usr/bin/s2sgw runs it (scripts/bundle.js; with S2SGW_BENCH_PROF_DIR its script under node --cpu-prof, without the code cache)',
    // A single executable sees its own path as argv[1]; node running the bundled script sees the script's.
    argv: (prof) => (prof.length ? [process.execPath, ...prof, script] : [exe]),
    env: (lifetime) => ({ NODE_OPTIONS: `-r ${lifetime}` }),
  });
}

/**
 * The one-tenant change as an operator runs it: `s2sgw apply` in its own process (start-up, module loading,
 * a cold JIT, the PSKs in its environment), timed from outside; its step times from the line it prints.
 */
function commandApply(sb: Sandbox, h: Host, bundle: string, skip: string[], cmd: Command): { ms: number; lifetime: number; printed: string; cpu: number } {
  const o = sb.runner({ skip });
  // S2SGW_BENCH_PROF_DIR: each command writes a V8 CPU profile there (node --cpu-prof), to see where a class's time goes.
  const prof = process.env.S2SGW_BENCH_PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir', process.env.S2SGW_BENCH_PROF_DIR] : [];
  const [exe, ...pre] = cmd.argv(prof);
  const args: string[] = [...pre, 'apply', '--bundle', bundle, '--root', o.root ?? '', '--netns', o.netns ?? '', '--vici', o.vici ?? '', '--skip', skip.join(','), '--lock-wait', '5'];
  const c0 = cpuMark(sb.ns);
  const t0 = performance.now();
  // GLIBC_TUNABLES: what /usr/bin/s2sgw sets for the command (huge pages for malloc's big blocks: far fewer page
  // faults for the 60-100 MB of files apply reads at 10,000 tenants); bin/s2sgw.js's first line also fixes
  // glibc.malloc.mmap_threshold (for the compiling commands' RSS; apply's big files are mapped either way).
  const r = spawnSync(exe, args, { env: { PATH: process.env.PATH, HOME: process.env.HOME, GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1', ...cmd.env(path.join(__dirname, 'lifetime.js')), ...h.env }, encoding: 'utf8' });
  const ms = performance.now() - t0;
  const cpu = cpuMark(sb.ns) - c0;
  if (r.status !== 0) throw new Error(`s2sgw apply exited ${r.status}:\n${r.stderr}${r.stdout}`);
  return { ms, cpu, lifetime: Number(/^s2sgw-bench-lifetime (\S+)$/m.exec(r.stderr)?.[1] ?? NaN), printed: /^done in .*$/m.exec(r.stderr)?.[0] ?? '' };
}

/** How long settle() waits at most (S2SGW_BENCH_SETTLE_MS; a machine busy with other work never settles). */
const SETTLE_MS = Number(process.env.S2SGW_BENCH_SETTLE_MS ?? 60_000);

/**
 * Waits (at most a minute) until the machine is idle: after swanctl --load-all of 30,000 connections charon keeps
 * a core busy for a while, and an apply measured then is measured against it, not against a host at rest.
 */
async function settle(log: (s: string) => void, maxMs = SETTLE_MS): Promise<void> {
  const idle = () => {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return { idle: f[3] + f[4], total: f.reduce((a, b) => a + b, 0) };
  };
  const t0 = performance.now();
  for (;;) {
    const a = idle();
    await new Promise((r) => setTimeout(r, 1000));
    const b = idle();
    const busy = 1 - (b.idle - a.idle) / Math.max(1, b.total - a.total);
    if (busy < 0.1 || performance.now() - t0 > maxMs) {
      if (performance.now() - t0 > 1500) log(`apply: waited ${fmtInt(performance.now() - t0)} ms for the machine to settle (busy ${(busy * 100).toFixed(0)} %)`);
      return;
    }
  }
}

/** A mark of the machine's CPU counters (/proc/stat), and its busy share since a mark. */
function cpuStat(): { idle: number; total: number } {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { idle: f[3] + f[4], total: f.reduce((x, y) => x + y, 0) };
}
function busySince(m: { idle: number; total: number }): number {
  const now = cpuStat();
  return 1 - (now.idle - m.idle) / Math.max(1, now.total - m.total);
}

const sum = (r: Run, names: string[]) => names.reduce((s, n) => s + (r.steps.get(n) ?? 0), 0);

function what(r: Run, step: string): string {
  const c = r.commands.get(step) ?? [];
  if (!c.length) return r.steps.has(step) ? '(nothing to do)' : '';
  const counts = new Map<string, number>();
  for (const x of c) {
    const k = x.replace(/^(vici --\S+) .*/, '$1').replace(/^(\S+ \S+).*/, '$1');
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([k, v]) => (v > 1 ? `${v}x ${k}` : k)).join(', ');
}

export const bench: Bench = {
  name: 'apply',
  summary: 'apply a one-tenant change incrementally vs a full reload, per step: charon + nft at the largest size, FRR at S2SGW_BENCH_FRR_TENANTS (200)',
  // Part of a plain `npm run bench` (issue 8's done-when); it needs root for the namespaces and takes minutes at 10,000.
  byDefault: true,
  async run(ctx: Context) {
    const n = ctx.options.sizes[ctx.options.sizes.length - 1];
    const nf = Math.min(n, FRR_TENANTS);
    const log = (s: string) => process.stderr.write(`  .. ${s}\n`);
    const notes: string[] = [];

    // charon and nft at n tenants (FRR skipped on this host: see the FRR host below).
    const h = prepare(ctx, n, log);
    // S2SGW_BENCH_APPLY_SKIP=strongswan measures the rest at full size in seconds instead of the minutes charon's full load takes.
    const extraSkip = (process.env.S2SGW_BENCH_APPLY_SKIP ?? '').split(',').filter(Boolean);
    const skipMain = ['links', 'vrf', 'sysctl', 'frr', 'tc', ...extraSkip];
    const sb = await openSandbox({ frr: false });
    let first: Run;
    let inc: Run;
    let full: Run;
    let dry: Run;
    let command: { ms: number; lifetime: number; printed: string; cpu: number };
    let loadAll: { ms: number; cpu: number; out: string } | undefined;
    let classes: ClassChange[] = [];
    const classRuns = new Map<string, { cmd: ReturnType<typeof commandApply>; nft?: Cost; busy: number; idle: number; daemon: number }>();
    let node: Cost = { ms: NaN, cpu: NaN };
    let vici: Cost = { ms: NaN, cpu: NaN };
    const load0 = os.loadavg();
    try {
      log(`apply: first apply of ${fmtInt(n)} tenants (a full load; swanctl --load-all takes minutes at 10,000)`);
      first = await timedApply(sb, h, h.a, skipMain);
      log(`apply: first apply ${fmtInt(first.total)} ms, CPU ${fmtInt(first.cpu)} ms`);
      // (The side-by-side mode uses no floor: it skips the minutes of this one.)
      if (!extraSkip.includes('strongswan') && !AB) {
        // The first apply's floor: charon's own load of the same connection files, into a fresh charon of its own sandbox.
        await settle(log);
        const fresh = await openSandbox({ frr: false });
        try {
          log(`apply: swanctl --load-all of the same files into a fresh charon`);
          loadAll = loadAllFloor(fresh, sb);
          log(`apply: swanctl --load-all ${fmtInt(loadAll.ms)} ms, CPU ${fmtInt(loadAll.cpu)} ms (${loadAll.out})`);
        } finally {
          await fresh.close();
        }
      }
      if (FIRST_ONLY) return firstOnly(first, loadAll, load0);
      if (AB) return await sideBySide(sb, h, skipMain, commandOf(ctx.scratch, log), ctx.scratch, n, log, load0);
      // The selection of tc and link lines cannot run on this kernel: a dry run times the work without the tools.
      await settle(log);
      dry = await timedApply(sb, h, h.b, ['vrf', 'sysctl', 'frr', ...extraSkip], { dryRun: true });
      await settle(log);
      inc = await timedApply(sb, h, h.b, skipMain);
      log(`apply: incremental ${fmtInt(inc.total)} ms`);
      full = await timedApply(sb, h, h.b, skipMain, { full: true });
      log(`apply: full reload ${fmtInt(full.total)} ms`);
      await settle(log);
      command = commandApply(sb, h, h.c, skipMain, commandOf(ctx.scratch, log));
      log(`apply: the command, one more tenant changed: ${fmtInt(command.ms)} ms (the process itself ${fmtInt(command.lifetime)} ms); it printed: ${command.printed}`);
      // The change classes, each as the command an operator runs, then the floor of its own nft transaction.
      classes = classChanges(h.dir, n, ctx.scratch, log, h.cache);
      let prev = h.c;
      for (const k of classes) {
        await settle(log, Math.min(5000, SETTLE_MS));
        // charon's own CPU in the 2 s before the command (what it spends unasked) and during it.
        const d0 = daemonCpu(sb.ns);
        await new Promise((r) => setTimeout(r, 2000));
        const d1 = daemonCpu(sb.ns);
        const b0 = cpuStat();
        const cmd = commandApply(sb, h, k.bundle, skipMain, commandOf(ctx.scratch, log));
        const busy = busySince(b0);
        const daemon = daemonCpu(sb.ns) - d1;
        const idle = (d1 - d0) / 2;
        const nft = nftFloor(sb, prev, k.bundle, k.tenant, ctx.scratch);
        classRuns.set(k.cls, { cmd, nft, busy, idle, daemon });
        log(`apply: ${k.label} (${k.tenant}): ${fmtInt(cmd.ms)} ms, CPU ${fmtInt(cmd.cpu)} ms (charon ${fmtInt(daemon)}; unasked before it ${fmtInt(idle)} ms/s), machine busy ${(busy * 100).toFixed(0)} %; ${cmd.printed}; nft -f floor ${nft === undefined ? 'none' : `${fmtMs(nft.ms)} ms, CPU ${fmtMs(nft.cpu)}`} ms`);
        prev = k.bundle;
      }
      const rp = classes.find((k) => k.cls === 'replace')!;
      const vs: Cost[] = [];
      const ns: Cost[] = [];
      for (let i = 0; i < 3; i++) {
        vs.push(await viciFloor(sb, rp.bundle, rp.tenant));
        ns.push(nodeFloor(sb.ns, h.env));
      }
      vici = medianCost(vs);
      node = medianCost(ns);
      const show = (xs: Cost[]) => xs.map((x) => `${fmtMs(x.ms)} (CPU ${fmtMs(x.cpu)})`).join(', ');
      log(`apply: floor: VICI load-conn + terminate ${show(vs)} ms; node start ${show(ns)} ms`);
    } finally {
      await sb.close();
    }

    // FRR at nf tenants.
    const hf = nf === n ? h : prepare(ctx, nf, log);
    const skipFrr = ['links', 'vrf', 'sysctl', 'tc', 'strongswan', 'nftables'];
    const sf = await openSandbox({ frr: true, charon: false });
    let fFirst: Run;
    let fInc: Run;
    let fFull: Run;
    const frrClass = new Map<string, { ms: number; cpu: number; what: string }>();
    let vtysh: Cost = { ms: NaN, cpu: NaN };
    try {
      log(`apply: loading ${fmtInt(nf)} tenants into FRR`);
      fFirst = await timedApply(sf, hf, hf.a, skipFrr);
      log(`apply: FRR first apply ${fmtInt(fFirst.total)} ms`);
      fInc = await timedApply(sf, hf, hf.b, skipFrr);
      fFull = await timedApply(sf, hf, hf.b, skipFrr, { full: true });
      // The change classes' FRR steps (reload-frr, remove-frr) on this host, and the floor: one vtysh sequence.
      await timedApply(sf, hf, hf.c, skipFrr);
      const fcls = nf === n ? classes : classChanges(hf.dir, nf, ctx.scratch, log, hf.cache);
      let prev = hf.c;
      for (const k of fcls) {
        const c0 = cpuMark(sf.ns);
        const r = await timedApply(sf, hf, k.bundle, skipFrr);
        const cpu = cpuMark(sf.ns) - c0;
        const fs2 = ['reload-frr', 'remove-frr'].filter((st) => r.steps.has(st));
        frrClass.set(k.cls, { ms: (r.steps.get('reload-frr') ?? 0) + (r.steps.get('remove-frr') ?? 0), cpu, what: fs2.map((st) => `${st} ${fmtMs(r.steps.get(st)!)} ms: ${what(r, st)}`).join('; ') });
        if (k.cls === 'hitless') {
          const vt: Cost[] = [];
          for (let i = 0; i < 3; i++) vt.push(vtyshFloor(sf, prev, k.bundle, k.tenant) ?? { ms: NaN, cpu: NaN });
          vtysh = medianCost(vt);
          log(`apply: floor: vtysh sequence ${vt.map((x) => `${fmtMs(x.ms)} (CPU ${fmtMs(x.cpu)})`).join(', ')} ms`);
        }
        prev = k.bundle;
      }
    } finally {
      await sf.close();
    }
    // The incremental FRR plan at n tenants (reading both frr.conf files, finding the tenant's sections): compute only.
    const read = (b: string, p: string) => fs.readFileSync(path.join(b, ...p.split('/')), 'utf8');
    let t0 = performance.now();
    const fp = frrPlan(read(h.a, FRR_FILE), read(h.b, FRR_FILE), [h.changed]);
    const frrPlanMs = performance.now() - t0;
    t0 = performance.now();
    const np = nftPlan(read(h.a, NFT_FILE), read(h.b, NFT_FILE), [h.changed]);
    const nftPlanMs = performance.now() - t0;

    const frrInc = fInc.steps.get('reload-frr') ?? 0;
    const frrFull = fFull.steps.get('reload-frr') ?? 0;
    const row = (label: string, a: number | undefined, b: number | undefined, whatRan: string) => [label, a === undefined ? 'n/a' : fmtMs(a), b === undefined ? 'n/a' : fmtMs(b), a && b ? `${(b / a).toFixed(0)}x` : '', whatRan];
    const table = [['step', 'incremental ms', 'full ms', 'full/incr', 'incremental ran']];
    table.push(row(`reload-strongswan (${fmtInt(n)})`, inc.steps.get('reload-strongswan'), full.steps.get('reload-strongswan'), what(inc, 'reload-strongswan')));
    table.push(row(`reload-nftables (${fmtInt(n)})`, inc.steps.get('reload-nftables'), full.steps.get('reload-nftables'), what(inc, 'reload-nftables')));
    table.push(row(`reload-frr (${fmtInt(nf)})`, frrInc, frrFull, what(fInc, 'reload-frr')));
    table.push(row(`  frr plan only (${fmtInt(n)})`, frrPlanMs, undefined, `${fp.commands.length} vtysh commands for ${fp.tenants.join(', ')}`));
    table.push(row(`reload-links dry (${fmtInt(n)})`, dry.steps.get('reload-links'), undefined, what(dry, 'reload-links')));
    table.push(row(`reload-tc dry (${fmtInt(n)})`, dry.steps.get('reload-tc'), undefined, what(dry, 'reload-tc')));
    const reloadInc = sum(inc, RELOAD_STEPS) + frrInc + (dry.steps.get('reload-links') ?? 0) + (dry.steps.get('reload-tc') ?? 0);
    const reloadFull = sum(full, RELOAD_STEPS) + frrFull;
    table.push(row('= reload steps', reloadInc, reloadFull, 'strongswan + nftables + frr + links/tc selection'));
    for (const s of OVERHEAD_STEPS) table.push(row(`${s} (${fmtInt(n)})`, inc.steps.get(s), full.steps.get(s), what(inc, s)));
    table.push(row('= whole apply (charon+nft host, in this process)', inc.total, full.total, ''));
    table.push(row('= `s2sgw apply` command (its own process)', command.ms, undefined, command.printed.replace(/^done in \d+ ms /, 'inside: ')));
    table.push(row('    of which the process itself, start to exit', command.lifetime, undefined, 'the rest is spawnSync handing a 30,002-variable environment over (about 40 ms for /bin/true alike)'));
    notes.push(`host: ${fmtInt(n)} tenants, ${fmtInt(3 * n)} PSK connections with trap policies and if_id, in a throwaway netns with a private VICI socket; first apply (full load) ${fmtInt(first.total)} ms`);
    notes.push(`the change: tenant ${h.changed}: a route metric (FRR distance), a site's destination (connection replaced, SA terminated), a filter rule (nft), a rate (tc)`);
    notes.push(`FRR runs at ${fmtInt(nf)} tenants (first load ${fmtInt(fFirst.total)} ms): loading ${fmtInt(n)} VRF tenants into FRR 8.4 is not feasible here; the incremental FRR command sequence does not grow with the tenant count (the plan row is its cost at ${fmtInt(n)})`);
    notes.push(`links and tc cannot run on this kernel (no vrf/vlan/xfrm devices, no act_police): their rows are a dry run's selection of the changed tenant's lines, without the ip/tc exec (a few ms for a one-device batch)`);
    notes.push(`nft plan at ${fmtInt(n)} tenants alone: ${fmtMs(nftPlanMs)} ms for a ${np.script.split('\n').length}-line transaction`);
    notes.push('on both paths verify reads and hashes only the files the current release does not hold with the same sha256; stage writes the changed files, one shard folder of connection files and 64 symlinks (the other shards are shared with the current release); secrets resolves every reference; check runs nft -c on the changed tenants\' transaction (in its own process while stage runs) and vtysh -C on their sections (the full path: the whole files); the whole-apply rows also hold the lock, change set, commit and pruning');
    const goals: Goal[] = [
      { name: `reload steps of a one-tenant change at ${fmtInt(n)} tenants`, value: reloadInc, limit: 1000, unit: 'ms' },
      { name: 'incremental / full reload (reload steps)', value: reloadInc / reloadFull, limit: 1 / 50, unit: 'x' },
      { name: `whole apply of a one-tenant change at ${fmtInt(n)} tenants (incl. verify, stage, check, health; the larger of in-process and the command)`, value: Math.max(inc.total, command.ms), limit: 1000, unit: 'ms' },
    ];
    return { title: `apply: a one-tenant change at ${fmtInt(n)} tenants, incremental vs full reload`, table, goals, notes, sections: [classReport()] };

    /** Issue 18's table: each change class's whole command next to the floor and the full reload, measured above. */
    function classReport(): Report {
      const fullReload = full.total + frrFull;
      const t = [['change class', 'command ms', 'CPU ms', '+frr ms', '(CPU)', '= apply', 'node', 'nft -f', 'vici', 'vtysh', '= floor', '(CPU)', 'apply/floor', '(CPU)', 'full/apply', 'busy', 'charon CPU', '(idle/s)', 'the command printed; frr steps']];
      const goals: Goal[] = [];
      for (const k of classes) {
        const r = classRuns.get(k.cls)!;
        const fr = frrClass.get(k.cls) ?? { ms: 0, cpu: 0, what: '' };
        const applyMs = r.cmd.ms + fr.ms;
        const applyCpu = r.cmd.cpu + fr.cpu;
        const floor = node.ms + (r.nft?.ms ?? 0) + vici.ms + vtysh.ms;
        const floorCpu = node.cpu + (r.nft?.cpu ?? 0) + vici.cpu + vtysh.cpu;
        t.push([`${k.label} (${k.tenant})`, fmtMs(r.cmd.ms), fmtMs(r.cmd.cpu), fmtMs(fr.ms), fmtMs(fr.cpu), fmtMs(applyMs), fmtMs(node.ms), r.nft === undefined ? 'none' : fmtMs(r.nft.ms), fmtMs(vici.ms), fmtMs(vtysh.ms), fmtMs(floor), fmtMs(floorCpu), `${(applyMs / floor).toFixed(2)}x`, `${(applyCpu / floorCpu).toFixed(2)}x`, `${fmtInt(fullReload / applyMs)}x`, `${(r.busy * 100).toFixed(0)} %`, fmtInt(r.daemon), fmtInt(r.idle), `${r.cmd.printed.replace(/^done in \d+ ms /, '')}; frr: ${fr.what || 'nothing'}`]);
        goals.push({ name: `${k.label}: whole apply / floor at ${fmtInt(n)} tenants`, value: applyMs / floor, limit: 3, unit: 'x', cpuValue: applyCpu / floorCpu });
        goals.push({ name: `${k.label}: whole apply / full reload`, value: applyMs / fullReload, limit: 1 / 50, unit: 'x' });
      }
      if (loadAll) t.push(['first apply (full load, in process)', fmtMs(first.total), fmtMs(first.cpu), '', '', fmtMs(first.total), '', '', '', '', fmtMs(loadAll.ms), fmtMs(loadAll.cpu), `${(first.total / loadAll.ms).toFixed(2)}x`, `${(first.cpu / loadAll.cpu).toFixed(2)}x`, '', '', '', '', `floor: swanctl --load-all of the same files into a fresh charon (${loadAll.out})`]);
      t.push(['full reload (--full, in process)', fmtMs(full.total), '', fmtMs(frrFull), '', fmtMs(fullReload), '', '', '', '', '', '', '', '', '', '', '', '', `charon + nft at ${fmtInt(n)}, reload-frr at ${fmtInt(nf)}`]);
      goals.push({ name: `first apply / swanctl --load-all of the same files at ${fmtInt(n)} tenants`, value: loadAll ? first.total / loadAll.ms : undefined, limit: 1.3, unit: 'x', missing: 'strongswan skipped (S2SGW_BENCH_APPLY_SKIP)', ...(loadAll ? { cpuValue: first.cpu / loadAll.cpu } : {}) });
      const load1 = os.loadavg();
      const cnotes = [
        `each class is the \`s2sgw apply\` command in its own process (${commandOf(ctx.scratch, log).what}, with -r lifetime.js in NODE_OPTIONS; PSKs of ${fmtInt(3 * (n + 1))} connections in its environment) on the charon + nft host of ${fmtInt(n)} tenants, one class after the other; FRR's steps of the same class (reload-frr, remove-frr) are timed on the FRR host of ${fmtInt(nf)} tenants and added (+frr)`,
        'CPU ms: the command and every program it ran (its reaped children) plus charon in the namespace, from /proc (10 ms ticks); +frr (CPU): FRR\'s daemons and vtysh during the class\'s apply on the FRR host; the floor\'s CPU likewise (the program, the namespace\'s daemons, and this process for the VICI calls): the CPU ratio is the steadier figure on a shared machine',
        `first apply's CPU: this process, every program it ran and charon; the floor's: swanctl and the fresh charon. The first apply's also holds nft's two reads of the whole ruleset (check's nft -c, started before stage, and reload-nftables' nft -f beside charon's load), which overlap in wall time`,
        `first apply's steps: ${[...first.steps].sort((x, y) => y[1] - x[1]).slice(0, 6).map(([st, ms]) => `${st} ${fmtInt(ms)}`).join(', ')} ms`,
        `floor (same run): node start = ${fmtMs(node.ms)} ms (node -e "" with the same environment, median of 3); nft -f = the class's own changed lines against the loaded ${fmtInt(n)}-tenant ruleset (undone, then made again and timed; none: the class changes no nft line); vici = connect + load-conn + terminate of one connection into the loaded charon with src/vici's client (median of 3); vtysh = the hitless change's command sequence on the FRR host, as a vtysh -f file as reload-frr sends it (median of 3)`,
        `full reload: apply --full of the one-tenant change (charon + nft at ${fmtInt(n)}) plus reload-frr --full at ${fmtInt(nf)}`,
        `machine: ${os.cpus().length} cores, load average ${load0.map((x) => x.toFixed(1)).join(' ')} at the start of the apply bench and ${load1.map((x) => x.toFixed(1)).join(' ')} at its end; busy: the machine's busy share while the command ran (/proc/stat)`,
      ];
      return { title: `apply: each change class at ${fmtInt(n)} tenants, the whole command vs the floor and the full reload`, table: t, goals, notes: cnotes };
    }
  },
};
