// The apply bench's change classes (issue 18, "every change incremental at scale"): each class as an operator runs it
// (the whole `s2sgw apply` command) next to the floor a one-tenant change cannot avoid, measured in the same run.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { pskDestination, tenantName, tenantYaml } from './generate';
import { loadConfig } from '../src/model/load';
import { LOCK_FILE, readLock } from '../src/model/lock';
import { compile } from '../src/bundle/compile';
import { writeTree } from '../src/bundle/write';
import type { Cache } from '../src/util/cache';
import { connectionsToVici, parseSwanctlConf, ViciClient, ViciCommandError } from '../src/vici';
import { nftPlan } from '../src/apply/incremental/nft';
import { frrPlan, vtyshFileBody, vtyshScript } from '../src/apply/incremental/frr';
import { FRR_FILE, NFT_FILE } from '../src/apply/steps';
import type { Sandbox } from '../src/apply/sandbox';

/** One change class as the bench makes it: the tenant it touches and the bundle after it (each on top of the one before). */
export interface ClassChange {
  /** The class as plan names it. */
  cls: 'added' | 'removed' | 'replace' | 'rekey' | 'hitless';
  label: string;
  tenant: string;
  bundle: string;
}

function edit(file: string, from: string, to: string): void {
  const text = fs.readFileSync(file, 'utf8');
  if (!text.includes(from)) throw new Error(`the bench's change of ${file} changed nothing (no ${from})`);
  fs.writeFileSync(file, text.replace(from, to));
}

/**
 * The five changes, one after the other on the repository `dir` of n tenants (its lock kept): a new tenant n+1, the
 * removal of a tenant loaded since the first apply, a site's address (replace), a site's IKE proposal (rekey), a route's
 * metric (hitless); each on its own tenant near the middle, none of them touched before.
 */
export function classChanges(dir: string, n: number, scratch: string, log: (s: string) => void, cache?: Cache): ClassChange[] {
  const t0 = performance.now();
  const pick = (k: number) => ((Math.ceil(n / 2) + k - 1) % n) + 1;
  const tfile = (i: number) => path.join(dir, 'tenants', `${tenantName(i)}.yaml`);
  const out: ClassChange[] = [];
  const build = (cls: ClassChange['cls'], label: string, tenant: string) => {
    const c = compile(loadConfig(dir), readLock(dir), { cache });
    if (!c.ok) throw new Error(`the repository after "${label}" does not compile: ${c.diagnostics[0]?.message}`);
    fs.writeFileSync(path.join(dir, LOCK_FILE), c.lockText!);
    const bundle = path.join(scratch, `apply-${n}-${cls}`);
    writeTree(bundle, c.bundles[0].files);
    out.push({ cls, label, tenant, bundle });
  };
  fs.writeFileSync(tfile(n + 1), tenantYaml(n + 1));
  build('added', 'add a tenant', tenantName(n + 1));
  const rm = pick(2);
  fs.rmSync(tfile(rm));
  build('removed', 'remove a tenant', tenantName(rm));
  const rp = pick(3);
  edit(tfile(rp), `destination: ${pskDestination(rp, 2)}`, `destination: ${pskDestination(rp, 0)}`);
  build('replace', 'replace: a site address', tenantName(rp));
  const rk = pick(4);
  edit(tfile(rk), 'ike: { proposals: [aes256gcm16-prfsha384-ecp384], lifetime: 4h }', 'ike: { proposals: [aes256gcm16-prfsha512-ecp521], lifetime: 4h }');
  build('rekey', 'rekey: a site\'s IKE proposal', tenantName(rk));
  const hl = pick(5);
  edit(tfile(hl), '{ to: 10.1.0.0/16, metric: 100 }', '{ to: 10.1.0.0/16, metric: 150 }');
  build('hitless', 'hitless: a route metric', tenantName(hl));
  log(`apply: built the five change classes at ${n.toLocaleString('en-US')} tenants in ${Math.round(performance.now() - t0).toLocaleString('en-US')} ms`);
  return out;
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1];

const read = (b: string, p: string) => fs.readFileSync(path.join(b, ...p.split('/')), 'utf8');

/** CPU time in ms: this process's waited-for children (the command and what it ran) and the namespace's daemons (charon, FRR). */
export function cpuMark(ns: string): number {
  const ticks = (stat: string, from: number) => {
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields 14..17 of proc(5), counted from field 3 (state) at f[0]: utime stime cutime cstime
    return f.slice(from - 3, from - 3 + 2).reduce((a, b) => a + Number(b), 0);
  };
  let t = ticks(fs.readFileSync('/proc/self/stat', 'utf8'), 16);
  const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  for (const p of pids) {
    try {
      t += ticks(fs.readFileSync(`/proc/${p}/stat`, 'utf8'), 14);
    } catch {
      /* gone */
    }
  }
  return t * 10; // USER_HZ is 100 on Linux
}

/** CPU time in ms of the namespace's daemons alone (charon, FRR), from /proc: what they spend whoever asked. */
export function daemonCpu(ns: string): number {
  let t = 0;
  const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  for (const p of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      t += Number(f[11]) + Number(f[12]); // utime stime (fields 14, 15)
    } catch {
      /* gone */
    }
  }
  return t * 10;
}

/** A floor's wall time and CPU time (the program it ran, the namespace's daemons and this process), in ms. */
export interface Cost {
  ms: number;
  cpu: number;
}

const selfCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function timed(ns: string, f: () => { code: number; stderr: string }, what: string): Cost {
  const c0 = cpuMark(ns) + selfCpu();
  const t0 = performance.now();
  const r = f();
  const ms = performance.now() - t0;
  const cpu = cpuMark(ns) + selfCpu() - c0;
  if (r.code !== 0) throw new Error(`${what} failed: ${r.stderr.trim().slice(0, 500)}`);
  return { ms, cpu };
}

/** The median run by wall time of a floor measured more than once. */
export function medianCost(xs: Cost[]): Cost {
  return [...xs].sort((a, b) => a.ms - b.ms)[(xs.length - 1) >> 1];
}

/**
 * One `nft -f` of the changed lines (what reload-nftables runs) against the loaded ruleset: the change undone, then
 * made again, timed. The ruleset ends as the apply left it. Undefined when the change has no nftables lines.
 */
export function nftFloor(sb: Sandbox, from: string, to: string, tenant: string, scratch: string): Cost | undefined {
  const fwd = nftPlan(read(from, NFT_FILE), read(to, NFT_FILE), [tenant]);
  if (!fwd.script) return undefined;
  const back = nftPlan(read(to, NFT_FILE), read(from, NFT_FILE), [tenant]);
  const fb = path.join(scratch, 'floor-back.nft');
  const ff = path.join(scratch, 'floor-fwd.nft');
  fs.writeFileSync(fb, back.script);
  fs.writeFileSync(ff, fwd.script);
  timed(sb.ns, () => sb.sh('nft', ['-f', fb]), `nft -f (undo ${tenant})`);
  return timed(sb.ns, () => sb.sh('nft', ['-f', ff]), `nft -f (${tenant})`);
}

/** One vtysh command sequence (the change's, as reload-frr runs it: a `vtysh -f` file): undone, then made again, timed. */
export function vtyshFloor(sb: Sandbox, from: string, to: string, tenant: string): Cost | undefined {
  const fwd = frrPlan(read(from, FRR_FILE), read(to, FRR_FILE), [tenant]);
  if (!fwd.commands.length) return undefined;
  const back = frrPlan(read(to, FRR_FILE), read(from, FRR_FILE), [tenant]);
  const f = path.join(sb.root, 'floor-vtysh.conf');
  const run = (cmds: string[]) => () => {
    fs.writeFileSync(f, vtyshFileBody(cmds));
    const r = sb.sh('vtysh', ['-N', sb.pathspace ?? '', '-f', f]);
    return { code: r.code, stderr: r.stderr + r.stdout };
  };
  timed(sb.ns, run(vtyshScript(back.commands)), `vtysh (undo ${tenant})`);
  return timed(sb.ns, run(vtyshScript(fwd.commands)), `vtysh (${tenant})`);
}

/** One VICI load-conn and terminate of a connection of `tenant` into the loaded charon (connect included), with src/vici's client. */
export async function viciFloor(sb: Sandbox, bundle: string, tenant: string): Promise<Cost> {
  const conf = parseSwanctlConf(read(bundle, `swanctl/conf.d/${tenant}.conf`), `${tenant}.conf`);
  const c = connectionsToVici(conf, { swanctlDir: path.join(sb.root, 'etc/swanctl') })[0];
  if (!c) throw new Error(`no connection in ${tenant}.conf`);
  const c0 = cpuMark(sb.ns) + selfCpu();
  const t0 = performance.now();
  const client = await ViciClient.connect(sb.vici, { timeoutMs: 10_000 });
  try {
    await client.loadConn(c.name, c.section);
    try {
      await client.terminate({ ike: c.name, force: true, timeout: 10_000 }, { timeoutMs: 20_000 });
    } catch (e) {
      if (!(e instanceof ViciCommandError && /no matching|not found/i.test(e.errmsg))) throw e;
    }
  } finally {
    await client.close();
  }
  const ms = performance.now() - t0;
  return { ms, cpu: cpuMark(sb.ns) + selfCpu() - c0 };
}

/** A Node process start and exit with the command's environment (the 30,000 PSK variables). */
export function nodeFloor(ns: string, env: NodeJS.ProcessEnv): Cost {
  return timed(ns, () => {
    const r = spawnSync(process.execPath, ['-e', ''], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, encoding: 'utf8' });
    return { code: r.status ?? 1, stderr: r.stderr };
  }, 'node -e ""');
}

/** `swanctl --load-all` of the host's connection files (as the first apply left them) into a fresh charon of its own sandbox. */
export function loadAllFloor(fresh: Sandbox, host: Sandbox): { ms: number; cpu: number; out: string } {
  const conf = path.join(host.root, 'etc/swanctl/swanctl.conf');
  // CPU: swanctl (a waited-for child) and the fresh charon.
  const c0 = cpuMark(fresh.ns);
  const t0 = performance.now();
  const r = spawnSync('swanctl', ['--load-all', '--noprompt', '--file', conf, '--uri', fresh.vici], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const ms = performance.now() - t0;
  const cpu = cpuMark(fresh.ns) - c0;
  if (r.status !== 0) throw new Error(`swanctl --load-all into a fresh charon exited ${r.status}: ${(r.stderr + r.stdout).trim().split('\n').slice(-5).join('\n')}`);
  const last = (r.stdout ?? '').trim().split('\n').filter((l) => /loaded|successfully/i.test(l)).slice(-2).join('; ');
  return { ms, cpu, out: last };
}
