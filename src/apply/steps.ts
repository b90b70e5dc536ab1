// The host steps of a switch, in dependency order: each runs only when what it owns changed (or on a full reload), through the Runner.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StepError, Runner } from './runner';
import type { Layout } from './layout';
import type { Release } from './release';
import { ChangeSet, touchedLines, whereIs } from './change-set';
import { BATCH_ORDER } from '../targets/links';
import { tenantLinkDeletes, connectionLinkDeletes } from '../targets/links/view';
import { loadedConnections } from '../targets/strongswan/check';
import { parseNftErrors } from '../targets/nftables/check';
import { parseReloadDiff } from '../targets/frr/check';

export const NFT_FILE = 'nftables/s2sgw.nft';
export const NFT_TABLE = ['inet', 's2sgw'];
export const FRR_FILE = 'frr/frr.conf';
export const TC_FILE = 'tc/s2sgw.tc';
export const SYSCTL_FILE = 'sysctl/90-s2sgw.conf';

export interface StepContext {
  runner: Runner;
  l: Layout;
  from: Release | null;
  to: Release | null;
  cs: ChangeSet;
  /** Run every step in full (first apply, recovery, --full). */
  full: boolean;
  say: (line: string) => void;
  /** Whether a live file exists once `to` is current (a dry run answers without having switched). */
  liveExists: (host: string) => boolean;
}

export interface Step {
  name: string;
  /** What the step owns on the host: a --skip name. */
  owner: string;
  /** Runs the step; returns false when there was nothing to do. */
  run(ctx: StepContext): Promise<boolean>;
}

const file = (r: Release | null, p: string) => (r && r.manifest.files[p] ? path.join(r.dir, ...p.split('/')) : undefined);
const vicis = (r: Runner) => ['--uri', r.vici];
const vtysh = (r: Runner) => (r.frrPathspace ? ['-N', r.frrPathspace] : []);

/** Runs an ip/tc/bridge batch from stdin; with -force every line runs, and only lines failing for other reasons than `tolerate` count. */
async function batch(ctx: StepContext, tool: string, lines: string[], tolerate: RegExp): Promise<void> {
  if (!lines.length) return;
  const r = await ctx.runner.run(tool, ['-force', '-batch', '-'], { input: lines.join('\n') + '\n' });
  if (r.code === 0) return;
  const bad = (r.stderr + r.stdout).split('\n').filter((l) => l.trim() && !tolerate.test(l) && !/^Command failed -:\d+$/.test(l.trim()));
  if (!bad.length) return;
  const m = /-:(\d+)/.exec(r.stderr);
  const line = m ? lines[Number(m[1]) - 1] : undefined;
  throw new StepError(ctx.runner.step, `${tool} -batch failed${line ? ` at \`${line}\`` : ''}`, bad.slice(0, 10).join('\n'), line ? whereIs(ctx.to, line) ?? whereIs(ctx.from, line) : undefined);
}

export const STEPS: Step[] = [
  {
    name: 'reload-sysctl',
    owner: 'sysctl',
    async run(ctx) {
      if (!ctx.full && !ctx.cs.fileChanged(SYSCTL_FILE)) return false;
      const live = ctx.runner.host('/etc/sysctl.d/90-s2sgw.conf');
      if (!ctx.liveExists('/etc/sysctl.d/90-s2sgw.conf')) return false;
      await ctx.runner.must('sysctl', ['-q', '-p', live]);
      return true;
    },
  },
  {
    name: 'reload-links',
    owner: 'links',
    async run(ctx) {
      const { cs, runner } = ctx;
      let ran = false;
      // Devices whose identity changed (VLAN id, VNI, if_id) cannot be modified in place.
      if (cs.recreate.length) {
        await batch(ctx, 'ip', cs.recreate.flatMap(connectionLinkDeletes), /Cannot find device/);
        ran = true;
      }
      for (const b of BATCH_ORDER) {
        const f = file(ctx.to, b.path);
        if (!f || (!ctx.full && !cs.fileChanged(b.path) && !cs.recreate.length)) continue;
        const lines = touchedLines(fs.readFileSync(f, 'utf8'), cs, ctx.full);
        // Re-running a batch meets links and addresses that already exist: those lines are no-ops.
        await batch(ctx, b.tool, lines, /File exists|already exists/);
        ran = ran || lines.length > 0;
      }
      void runner;
      return ran;
    },
  },
  {
    name: 'reload-frr',
    owner: 'frr',
    async run(ctx) {
      if (!ctx.full && !ctx.cs.fileChanged(FRR_FILE)) return false;
      const live = ctx.runner.host('/etc/frr/frr.conf');
      if (!ctx.liveExists('/etc/frr/frr.conf')) return false;
      fs.mkdirSync(ctx.l.tmp, { recursive: true, mode: 0o700 });
      // frr-reload.py diffs the running config against the file and sends only the difference: unchanged BGP sessions stay up.
      // FRR 8.4's frr-reload sends a changed static route's distance as "add new" then "no old", and the "no" removes both
      // (the distance is not part of the route's key): so reload until --test finds nothing left, at most three times.
      const args = [...(ctx.runner.frrPathspace ? ['--pathspace', ctx.runner.frrPathspace] : []), '--bindir', '/usr/bin', '--confdir', path.dirname(live), '--rundir', ctx.l.tmp, live];
      let residue: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await ctx.runner.run('frr-reload.py', ['--reload', '--stdout', ...args]);
        const out = r.stdout + r.stderr;
        const failed = out.split('\n').filter((l) => /Failed to execute|% Unknown command|% Invalid|ERROR/.test(l));
        if (r.code !== 0 || failed.length) {
          const m = /line \d+: (.*)$/m.exec(out);
          throw new StepError(ctx.runner.step, `frr-reload.py exited ${r.code}`, failed.join('\n') || out.trim().split('\n').slice(-10).join('\n'), m ? whereIs(ctx.to, m[1]) : undefined);
        }
        if (ctx.runner.dryRun) return true;
        const t = await ctx.runner.run('frr-reload.py', ['--test', '--stdout', ...args]);
        const d = parseReloadDiff(t.stdout);
        // With a pathspace (-N) the daemons keep the OS host name; the bundle's frr.conf sets none.
        residue = [...d.delete.map((c) => `- ${[...c.context, c.line].map((x) => x.trim()).join(' / ')}`), ...d.add.map((c) => `+ ${[...c.context, c.line].map((x) => x.trim()).join(' / ')}`)].filter(
          (x) => !/^[-+] (no )?hostname /.test(x) && !/frr version/.test(x),
        );
        if (t.code === 0 && !residue.length) return true;
      }
      throw new StepError(ctx.runner.step, 'FRR\'s running configuration still differs from frr.conf after frr-reload.py', residue.join('\n'), residue[0] ? whereIs(ctx.to, residue[0]) : undefined);
    },
  },
  {
    name: 'reload-strongswan',
    owner: 'strongswan',
    async run(ctx) {
      const { cs, runner } = ctx;
      const swan = [...new Set([...Object.keys(ctx.from?.manifest.files ?? {}), ...Object.keys(ctx.to?.manifest.files ?? {})])].filter((p) => p.startsWith('swanctl/'));
      if (!ctx.full && !cs.secretsChanged && !swan.some((p) => cs.fileChanged(p))) return false;
      if (ctx.full || cs.fileChanged('swanctl/strongswan.d/s2sgw.conf')) await runner.must('swanctl', ['--reload-settings', ...vicis(runner)]);
      const conf = runner.host('/etc/swanctl/swanctl.conf');
      if (!ctx.runner.dryRun && !fs.existsSync(conf)) throw new StepError(runner.step, `${conf} is missing: it must include conf.d/*.conf (the strongswan-swanctl package installs it)`);
      const load = await runner.run('swanctl', ['--load-all', '--noprompt', '--file', conf, ...vicis(runner)]);
      if (load.code !== 0) {
        const out = (load.stderr + load.stdout).trim();
        const bad = /loading connection '([^']+)' failed/.exec(out) ?? /connection '([^']+)'/.exec(out);
        throw new StepError(runner.step, `swanctl --load-all exited ${load.code}`, out.split('\n').filter((l) => /fail|error|invalid/i.test(l)).slice(0, 10).join('\n') || out, bad ? whereIs(ctx.to, bad[1]) : undefined);
      }
      // --load-all leaves the SAs of removed or replaced connections up: end them.
      for (const c of cs.terminate) {
        await runner.must('swanctl', ['--terminate', '--ike', c, '--force', '--timeout', '10', ...vicis(runner)], { tolerate: /no matching SAs|not found/i });
      }
      return true;
    },
  },
  {
    name: 'reload-nftables',
    owner: 'nftables',
    async run(ctx) {
      if (!ctx.full && !ctx.cs.fileChanged(NFT_FILE)) return false;
      const f = file(ctx.to, NFT_FILE);
      if (f) {
        // One transaction: the file replaces the table whole or nft changes nothing.
        const r = await ctx.runner.run('nft', ['-f', f]);
        if (r.code !== 0) {
          const e = parseNftErrors(r.stderr)[0];
          const line = e?.line ? fs.readFileSync(f, 'utf8').split('\n')[e.line - 1] : undefined;
          throw new StepError(ctx.runner.step, `nft -f ${NFT_FILE} exited ${r.code}`, r.stderr.trim(), line ? whereIs(ctx.to, line) : undefined);
        }
      } else {
        await ctx.runner.must('nft', ['delete', 'table', ...NFT_TABLE], { tolerate: /No such file or directory/ });
      }
      return true;
    },
  },
  {
    name: 'reload-tc',
    owner: 'tc',
    async run(ctx) {
      if (!ctx.full && !ctx.cs.fileChanged(TC_FILE)) return false;
      const f = file(ctx.to, TC_FILE);
      if (!f) return false;
      const lines = touchedLines(fs.readFileSync(f, 'utf8'), ctx.cs, ctx.full);
      await batch(ctx, 'tc', lines, /^$/);
      return lines.length > 0;
    },
  },
  {
    name: 'remove-links',
    owner: 'links',
    async run(ctx) {
      const { cs } = ctx;
      const lines: string[] = [...cs.removedConnections.flatMap(connectionLinkDeletes)];
      for (const t of cs.removed) {
        const m = ctx.from?.manifest.tenants[t];
        if (m) lines.push(...tenantLinkDeletes({ vrf: t, network: m.summary?.network?.interface ?? t, xfrm: m.connections }));
      }
      await batch(ctx, 'ip', lines, /Cannot find device/);
      return lines.length > 0;
    },
  },
];

/** After the reload: each daemon answers, charon holds exactly the bundle's connections, each VRF exists with its table. */
export async function health(ctx: StepContext): Promise<void> {
  const { runner, to, from } = ctx;
  const problems: string[] = [];
  if (!runner.skipped('strongswan')) {
    const r = await runner.run('swanctl', ['--list-conns', ...vicis(runner)]);
    if (r.code !== 0) problems.push(`charon does not answer on ${runner.vici}: ${(r.stderr || r.stdout).trim()}`);
    else {
      const ours = new Set([...Object.values(from?.manifest.tenants ?? {}), ...Object.values(to?.manifest.tenants ?? {})].flatMap((t) => t.connections));
      const want = Object.values(to?.manifest.tenants ?? {}).flatMap((t) => t.connections).sort();
      const have = loadedConnections(r.stdout).filter((c) => ours.has(c));
      const missing = want.filter((c) => !have.includes(c));
      const extra = have.filter((c) => !want.includes(c));
      if (missing.length) problems.push(`charon lacks connection${missing.length === 1 ? '' : 's'} ${missing.join(', ')}`);
      if (extra.length) problems.push(`charon still holds removed connection${extra.length === 1 ? '' : 's'} ${extra.join(', ')}`);
    }
  }
  if (!runner.skipped('frr') && file(to, FRR_FILE)) {
    const r = await runner.run('vtysh', [...vtysh(runner), '-c', 'show version']);
    if (r.code !== 0) problems.push(`FRR does not answer (vtysh ${vtysh(runner).join(' ')}): ${(r.stderr || r.stdout).trim()}`);
  }
  if (!runner.skipped('nftables') && file(to, NFT_FILE)) {
    const r = await runner.run('nft', ['list', 'table', ...NFT_TABLE]);
    if (r.code !== 0) problems.push(`nft has no table ${NFT_TABLE.join(' ')}: ${r.stderr.trim()}`);
  }
  if (!runner.skipped('vrf') && !runner.skipped('links') && to && Object.keys(to.manifest.tenants).length) {
    const r = await runner.run('ip', ['-j', '-d', 'link', 'show', 'type', 'vrf']);
    let vrfs: Array<{ ifname: string; linkinfo?: { info_data?: { table?: number } } }> = [];
    try {
      vrfs = JSON.parse(r.stdout || '[]');
    } catch {
      problems.push(`ip -j link show type vrf: ${r.stderr.trim() || 'unreadable output'}`);
    }
    for (const [t, m] of Object.entries(to.manifest.tenants)) {
      const v = vrfs.find((x) => x.ifname === t);
      const table = m.summary?.vrf?.table;
      if (!v) problems.push(`VRF ${t} does not exist`);
      else if (table !== undefined && v.linkinfo?.info_data?.table !== table) problems.push(`VRF ${t} has table ${v.linkinfo?.info_data?.table}, not ${table}`);
    }
  }
  if (problems.length) throw new StepError('health', `health check failed (${problems.length} problem${problems.length === 1 ? '' : 's'})`, problems.join('\n'));
}

/** Pre-switch checks of the staged release with the real tools, against this host (nft -c, vtysh -C). Change nothing. */
export async function checkRelease(runner: Runner, l: Layout, r: Release): Promise<void> {
  const problems: string[] = [];
  let where: string | undefined;
  const nft = file(r, NFT_FILE);
  if (nft && !runner.skipped('nftables')) {
    const c = await runner.run('nft', ['-c', '-f', nft]);
    if (c.missing) problems.push('nft is not installed');
    else if (c.code !== 0) {
      const e = parseNftErrors(c.stderr)[0];
      const line = e?.line ? fs.readFileSync(nft, 'utf8').split('\n')[e.line - 1] : undefined;
      where = line ? whereIs(r, line) : undefined;
      problems.push(`nft -c rejected ${NFT_FILE}:\n${c.stderr.trim()}`);
    }
  }
  const frr = file(r, FRR_FILE);
  if (frr && !runner.skipped('frr')) {
    const dir = path.join(l.tmp, 'vtysh');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(dir, 'vtysh.conf'), '');
    const c = await runner.run('vtysh', ['--config_dir', dir, '-C', '-f', frr]);
    if (c.missing) problems.push('vtysh is not installed');
    else if (c.code !== 0) {
      const m = /^line (\d+): (.*)$/m.exec(c.stdout + c.stderr);
      if (m && !where) where = whereIs(r, fs.readFileSync(frr, 'utf8').split('\n')[Number(m[1]) - 1] ?? '');
      problems.push(`vtysh -C rejected ${FRR_FILE}:\n${(c.stdout + c.stderr).trim()}`);
    }
  }
  if (problems.length) throw new StepError('check', `the release fails its checks; the host was not changed`, problems.join('\n'), where);
}
