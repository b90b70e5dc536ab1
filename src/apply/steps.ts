// The host steps of a switch, in dependency order: each runs only when what it owns changed (or on a full reload), through the Runner.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StepError, Runner } from './runner';
import { readIfExists } from './fsx';
import { readState } from './layout';
import { declaredDevices, describeLink, deviceOrigin, frrBlocksNaming, HostLink, hostLinks, isOwn, lineDevices, LINK_GROUP, markLinkAdds, NFT_OWN, nftOutsideOwnTable } from './owned';
import type { Layout } from './layout';
import type { Manifest } from '../bundle/manifest';
import { Release, releasePath } from './release';
import { ChangeSet, touchedLines, whereIs } from './change-set';
import { BATCH_ORDER } from '../targets/links/batches';
import type * as LinksView from '../targets/links/view';
import { loadedConnections } from '../targets/strongswan/host';
import { parseNftErrors } from '../targets/nftables/check';
import { parseReloadDiff } from '../targets/frr/check';
import { FrrPlan, frrPlan, removedVrf, vtyshComplaints, vtyshFileBody, vtyshScript } from './incremental/frr';
import { FRR_MARKER, headOf, Marker, NFT_MARKER, oldSections, sectionOf } from './incremental/sections';
import { changedSections, PatchedFile } from './incremental/patched';
import { NftPlan, nftPlan } from './incremental/nft';
import { alternateOf, applySwanPlan, baseName, changedSwanctl, connectionSections, firstLoadRequests, LoadRequest, MbbError, settleAlternates, SwanPlan, swanPlan } from './incremental/swan';
import { ViciClient, ViciCommandError } from '../vici';
import { DRAIN_FILE, HA_STATE_DIR, LISTENER_PID, LISTENER_SCRIPT } from '../targets/keepalived/paths';
import { embedded } from '../util/embedded';
import type { RunResult } from '../util/exec';

export const NFT_FILE = 'nftables/s2sgw.nft';
export const NFT_TABLE = ['inet', 's2sgw'];
/** A chain name the health check adds with `nft -c` (checked, never committed) to prove the table exists. */
const NFT_PROBE_CHAIN = 's2sgw_health_probe';
export const FRR_FILE = 'frr/frr.conf';
export const TC_FILE = 'tc/s2sgw.tc';
export const SYSCTL_FILE = 'sysctl/90-s2sgw.conf';
export const KEEPALIVED_FILE = 'keepalived/keepalived.conf';
/** keepalived's main pid file (Debian's default): SIGHUP to it reloads the config, with or without systemd. */
export const KEEPALIVED_PID = '/run/keepalived.pid';
/** Its VRRP and checker children's pid files (Debian's defaults), under --root too: two gateways under two roots on
 * one machine (the lab's HA pair, a sandbox) must not find each other's /run/vrrp.pid and refuse to start. */
export const KEEPALIVED_CHILD_PIDS = { vrrp: '/run/vrrp.pid', checkers: '/run/checkers.pid' } as const;
/** The most argv bytes an incremental vtysh -c sequence may take (Linux allows 2 MiB of argv and environment). */
const FRR_ARGV_MAX = 512 * 1024;

/** Whether a vtysh sequence is past FRR_ARGV_MAX (each command with its `-c` and quoting). */
const tooLong = (script: string[]) => script.reduce((n, c) => n + c.length + 4, 0) > FRR_ARGV_MAX;

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
  /**
   * `apply --peer-first` in ms (0: off): a rekey-class change of a connection the gateway starts gives the peer that
   * long to initiate the new connection (applySwanPlan's peerFirstMs). The forward switch of an apply only: a rollback
   * does not wait for a peer.
   */
  peerFirstMs?: number;
  /**
   * What this switch's steps proved about the host, for health (one object shared by every step's view of the
   * context): `nftTable`, an `nft -f` of the table went through (its transaction names the table, so the table is there);
   * `frrWhole`, reload-frr reloaded the whole frr.conf (so remove-frr has only the removed VRFs' `no vrf` left to send);
   * `nftRefused`, nft refused reload-nftables' transactions (the incremental one and the whole file): each `nft -f` is
   * all-or-nothing, so the table is as it was and the rollback leaves it alone; `frrAnswers`, a vtysh sequence or
   * frr-reload.py went through in this switch (FRR answered: health does not start vtysh again to ask).
   */
  proven?: { nftTable?: boolean; frrWhole?: boolean; nftRefused?: boolean; frrAnswers?: boolean };
  /** health's nft probe when startNftProbe started it with the reload steps; health awaits it instead of running it. */
  nftProbe?: Promise<string[]>;
  /**
   * Settles when the live files the switch copies on libuv's threads (a forward apply's: Syncs.copy) are in place:
   * awaited by the steps that read a live copy or ask whether it exists (FRR's: frr.conf). Unset: all are in place.
   */
  liveReady?: Promise<void>;
  /** The ownership check's questions to charon, asked right after verify (prefetchSwanOwnership). */
  swanPrefetch?: SwanOwnershipPrefetch;
}

export interface Step {
  name: string;
  /** What the step owns on the host: a --skip name. */
  owner: string;
  /** Runs the step; returns false when there was nothing to do. */
  run(ctx: StepContext): Promise<boolean>;
  /**
   * Runs at the same time as the step before it (started first), outside a dry run: the two touch different daemons
   * and neither reads what the other writes. nft spends most of its 0.1-0.15 s at 10,000 tenants reading the whole
   * ruleset in its own process, while strongSwan's step waits on charon.
   */
  alongsidePrevious?: boolean;
}

const file = (r: Release | null, p: string) => (r && r.manifest.files[p] ? releasePath(r, p) : undefined);
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

/** The whole-file FRR reload: frr-reload.py until --test finds nothing left (first apply, --full, gateway lines, or an incremental reload that failed). */
async function frrReloadFull(ctx: StepContext): Promise<boolean> {
  const conf = ctx.runner.host('/etc/frr/frr.conf');
  if (!ctx.runner.dryRun) fs.mkdirSync(ctx.l.tmp, { recursive: true, mode: 0o700 });
  // frr-reload.py refuses an empty (or absent) file, and that is what a host whose frr.conf was empty holds again
  // after a rollback to "no release": the baseline is then reached through a file that is only a comment.
  const live = ctx.runner.dryRun || /\S/.test(readIfExists(conf) ?? '') ? conf : scratch(ctx, 'frr-empty.conf', '! no FRR configuration: the host\'s frr.conf was empty or absent before s2sgw\n');
  // frr-reload.py diffs the running config against the file and sends only the difference: unchanged BGP sessions stay up.
  // FRR 8.4's frr-reload sends a changed static route's distance as "add new" then "no old", and the "no" removes both
  // (the distance is not part of the route's key): so reload until --test finds nothing left, at most three times.
  const args = [...(ctx.runner.frrPathspace ? ['--pathspace', ctx.runner.frrPathspace] : []), '--bindir', '/usr/bin', '--confdir', path.dirname(conf), '--rundir', ctx.l.tmp, live];
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
    if (t.code === 0 && !residue.length) return frrAnswered(ctx);
  }
  throw new StepError(ctx.runner.step, 'FRR\'s running configuration still differs from frr.conf after frr-reload.py', residue.join('\n'), residue[0] ? whereIs(ctx.to, residue[0]) : undefined);
}

/** The whole-host strongSwan reload: swanctl --load-all, then the terminations. */
async function swanLoadAll(ctx: StepContext): Promise<boolean> {
  const { cs, runner } = ctx;
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
  // A connection a make-before-break left under its alternate name (NAME~2): --load-all loaded NAME next to it and
  // unloaded NAME~2, whose IKE_SA stayed up. Back under NAME, make-before-break (settleAlternates).
  if (!runner.dryRun && !runner.via?.length && ctx.to) {
    let client: ViciClient | undefined;
    try {
      client = await ViciClient.connect(runner.vici, { timeoutMs: 10_000 });
      // settleAlternates lists charon's connections and SAs once; a section is read only for an alternate to move back.
      const to = ctx.to;
      const sectionOf = (n: string) => (cs.terminate.includes(n) ? undefined : connectionSections(to, [n], runner.host('/etc/swanctl')).get(n));
      for (const l of await settleAlternates(client, (argv, fn) => runner.call(argv, fn), sectionOf, { deadlineMs: MBB_DEADLINE_MS })) ctx.say(`  reload-strongswan: ${l}`);
    } catch (e) {
      // The release's connections are loaded: an alternate's IKE_SA left up is untidy, not a failed reload.
      ctx.say(`  reload-strongswan: could not settle the alternate names (${(e as Error).message}); status shows them under their own names`);
    } finally {
      await client?.close();
    }
  }
  return true;
}

/** How many load requests a first load keeps unanswered at a time (charon works through them in order). */
const FIRST_LOAD_DEPTH = 64;

/**
 * The first apply's strongSwan load (no release before it: charon holds none of s2sgw's connections or secrets,
 * which ownership checked): the release's shared secrets and connections over one VICI connection, pipelined
 * (ViciClient.pipeline: charon never waits for us between two requests; each file parsed while charon loads the ones
 * before), the messages byte for byte those of `swanctl --load-all`. Where swanctl --load-all spent its time beside
 * charon's own: its parse of the 10,000 files and a round trip per request (at 2,000 tenants, load 10: 13.3 s and
 * 7.8 s of CPU against 6.8 s and 4.9 s pipelined). A gateway with an identity loads its key (and with it every
 * secret) through `swanctl --load-creds` first, as the incremental path does. Nothing else charon holds is unloaded
 * (--load-all would unload what other VICI clients loaded). A refused load fails the step (after the others were
 * sent, as --load-all goes on) with charon's words and the tenant's line.
 */
async function swanFirst(ctx: StepContext, to: Release): Promise<boolean> {
  const { runner } = ctx;
  const creds = !!to.manifest.files['swanctl/private.refs'];
  if (creds) await runner.must('swanctl', ['--load-creds', '--noprompt', '--file', runner.host('/etc/swanctl/swanctl.conf'), ...vicis(runner)]);
  const requests = runner.dryRun ? [] : firstLoadRequests(to, runner.host('/etc/swanctl'), { secrets: !creds });
  // What was sent, in order (the answers come in this order), without the messages' bytes.
  const sent: Array<Pick<LoadRequest, 'cmd' | 'name'>> = [];
  const counted = (function* () {
    for (const r of requests) {
      sent.push({ cmd: r.cmd, name: r.name });
      yield r;
    }
  })();
  let client: ViciClient | undefined;
  let answers: Awaited<ReturnType<ViciClient['pipeline']>> | undefined;
  try {
    answers = await runner.call(['vici', '--load-all', '--pipelined', ...(creds ? ['--no-secrets'] : [])], async () => {
      client = await ViciClient.connect(runner.vici, { timeoutMs: 10_000 });
      // Each answer within a minute (one load-conn takes milliseconds; the deadline is for a charon that hangs).
      return client.pipeline(counted, { depth: FIRST_LOAD_DEPTH, timeoutMs: 60_000 });
    });
  } catch (e) {
    if (e instanceof StepError) throw e;
    const last = sent.at(-1);
    throw new StepError(runner.step, `loading the release into charon failed${last ? ` at ${last.cmd} ${last.name}` : ''}`, (e as Error).message, last?.cmd === 'load-conn' ? whereIs(to, last.name) : undefined);
  } finally {
    await client?.close();
  }
  if (!answers) return true;
  const refused = answers.map((a, i) => ({ r: sent[i], err: ViciClient.failure(a.cmd, a.response) })).filter((x) => x.err);
  const secrets = sent.filter((r) => r.cmd === 'load-shared').length;
  ctx.say(`  reload-strongswan: loaded ${sent.length - secrets} connections and ${secrets} secrets over VICI, pipelined${refused.length ? `; charon refused ${refused.length}` : ''}`);
  if (refused.length) {
    const first = refused.find((x) => x.r.cmd === 'load-conn') ?? refused[0];
    throw new StepError(runner.step, `charon refused ${refused.length} of ${sent.length} loads`, refused.slice(0, 10).map((x) => `${x.r.cmd} ${x.r.name}: ${x.err!.errmsg}`).join('\n'), first.r.cmd === 'load-conn' ? whereIs(to, first.r.name) : undefined);
  }
  return true;
}

/** The whole-table nftables reload: one nft -f of the release file. */
async function nftFull(ctx: StepContext): Promise<boolean> {
  const f = file(ctx.to, NFT_FILE);
  if (f) {
    // One transaction: the file replaces the table whole or nft changes nothing.
    const r = await ctx.runner.run('nft', ['-f', f]);
    if (r.code === 0 && ctx.proven) ctx.proven.nftTable = true;
    if (r.code !== 0) {
      const e = parseNftErrors(r.stderr)[0];
      const line = e?.line ? fs.readFileSync(f, 'utf8').split('\n')[e.line - 1] : undefined;
      // nft took none of the file: the table is as it was, and the rollback does not load it again.
      if (ctx.proven && !r.missing) ctx.proven.nftRefused = true;
      throw new StepError(ctx.runner.step, `nft -f ${NFT_FILE} exited ${r.code}`, r.stderr.trim(), line ? whereIs(ctx.to, line) : undefined);
    }
  } else {
    await ctx.runner.must('nft', ['delete', 'table', ...NFT_TABLE], { tolerate: /No such file or directory/ });
  }
  return true;
}

/**
 * A release's or a verified bundle's file: its sha256 as the manifest lists it, its bytes on demand, and, for a large
 * file verify took part by part, how it is the current release's copy with some parts changed (`patched`).
 */
export interface Src {
  sha: string;
  read: () => Buffer;
  patched: () => PatchedFile | undefined;
}

/** `p` of release `r` (a folder under releases/, or a verified bundle through `read` and `patched`), or undefined when it has none. */
export function src(r: Pick<Release, 'dir' | 'manifest' | 'flat' | 'patched'> | null, p: string, read?: (p: string) => Buffer | undefined, patched?: (p: string) => PatchedFile | undefined): Src | undefined {
  const f = r?.manifest.files[p];
  if (!r || !f) return undefined;
  return { sha: f.sha256, read: () => read?.(p) ?? fs.readFileSync(releasePath(r, p)), patched: () => (patched ?? r.patched)?.(p) };
}

/**
 * Incremental plans by (kind, old file, new file, tenants): the check step and the reload step of one apply use the
 * same plan, and reading two 20 MB files twice is a visible part of a one-tenant change at 10,000 tenants.
 * Keyed by the files' sha256 (from the manifests, checked when the release was staged); only the last few are kept.
 */
const plans = new Map<string, unknown>();
function memo<T>(kind: string, a: Src, b: Src, touched: string[], make: () => T): T {
  const key = [kind, a.sha, b.sha, ...touched].join('\0');
  if (!plans.has(key)) {
    if (plans.size >= 8) plans.delete(plans.keys().next().value as string);
    plans.set(key, make());
  }
  return plans.get(key) as T;
}

/**
 * What a plan between the old release's `file` (`a`) and the new one (`b`) reads, as texts headOf and sectionOf answer
 * for as on the whole files: for a file verify took part by part, the head and the sections around the changed parts
 * (changedSections: a one-tenant change reads a few parts, not the 24 MB s2sgw.nft or 14 MB frr.conf of 10,000
 * tenants); otherwise the whole new file and, where that is safe, of the old file only its head and the touched
 * tenants' sections (oldSections checks what it reads; anything else reads it whole). Memoized like the plans: check
 * and the reload steps ask for the same two files.
 */
function planTexts(kind: string, file: string, m: Marker, from: Pick<Release, 'dir' | 'manifest' | 'flat'>, to: Pick<Release, 'manifest'>, a: Src, b: Src, touched: string[]): { old: Buffer; now: Buffer } {
  return memo(`${kind} texts`, a, b, touched, () => {
    const patched = b.patched();
    const cut = patched && changedSections(patched, m);
    if (cut) return cut;
    const now = b.read();
    const inNew = (t: string) => Object.hasOwn(to.manifest.tenants, t);
    const old = oldSections(releasePath(from, file), now, m, touched, (t) => Object.hasOwn(from.manifest.tenants, t), () => Object.keys(to.manifest.tenants), inNew);
    return { old: old ?? a.read(), now };
  });
}

/** nftPlan between the old release's s2sgw.nft (`a`) and the new one (`b`), from what planTexts reads of them. */
function nftPlanOf(from: Pick<Release, 'dir' | 'manifest' | 'flat'>, to: Pick<Release, 'manifest'>, a: Src, b: Src, touched: string[]): NftPlan {
  const t = planTexts('nft', NFT_FILE, NFT_MARKER, from, to, a, b, touched);
  return nftPlan(t.old, t.now, touched, (x) => Object.hasOwn(to.manifest.tenants, x));
}

/** frrPlan likewise, between the two frr.conf files (14 MB at 10,000 tenants). */
function frrPlanOf(from: Pick<Release, 'dir' | 'manifest' | 'flat'>, to: Pick<Release, 'manifest'>, a: Src, b: Src, touched: string[]): FrrPlan {
  const t = planTexts('frr', FRR_FILE, FRR_MARKER, from, to, a, b, touched);
  return frrPlan(t.old, t.now, touched, (x) => Object.hasOwn(to.manifest.tenants, x));
}

/** Where apply writes the generated inputs of incremental reloads (the nft transaction); under the state folder, 0700. */
function scratch(ctx: StepContext, name: string, content: string): string {
  fs.mkdirSync(ctx.l.tmp, { recursive: true, mode: 0o700 });
  const f = path.join(ctx.l.tmp, name);
  fs.writeFileSync(f, content, { mode: 0o600 });
  return f;
}

/**
 * FRR, incrementally: the touched tenants' sections of the old and new frr.conf turned into one vtysh command
 * sequence (src/apply/incremental/frr.ts). Returns false when only a whole-file reload is right: a first apply,
 * the gateway's own lines changed, or vtysh refused a command (the running config was not what the old release
 * says: frr-reload.py then converges it).
 */
async function frrIncremental(ctx: StepContext): Promise<boolean> {
  const a = src(ctx.from, FRR_FILE);
  const b = src(ctx.to, FRR_FILE);
  if (!a || !b) return false;
  const plan = memo('frr', a, b, ctx.cs.touched, () => frrPlanOf(ctx.from!, ctx.to!, a, b, ctx.cs.touched));
  if (plan.headChanged) {
    if (ctx.runner.dryRun) ctx.say('    (the gateway\'s own FRR lines changed: whole-file reload)');
    return false;
  }
  if (!plan.commands.length) {
    if (ctx.runner.dryRun && plan.removed.length) ctx.say(`    (the removed tenants' lines wait for remove-frr: ${plan.removed.join(', ')})`);
    return true;
  }
  const script = vtyshScript(plan.commands);
  // The tenants whose lines this step sends (a removed tenant's wait for remove-frr).
  const sent = plan.tenants.filter((t) => !plan.removed.includes(t));
  // One argv carries the whole sequence; past a few hundred KiB (many tenants at once) frr-reload.py is the better tool.
  if (tooLong(script)) {
    ctx.say(`  reload-frr: ${plan.commands.length} commands for ${sent.length} tenants: reloading the whole file`);
    return false;
  }
  const r = await vtyshSequence(ctx, 'frr-incremental.conf', script);
  const complaints = vtyshComplaints(r.stdout + r.stderr);
  if (r.code === 0 && !complaints.length) return frrAnswered(ctx);
  ctx.say(`  reload-frr: vtysh refused the incremental commands for ${sent.join(', ')} (${complaints[0] ?? `exit ${r.code}`}); reloading the whole file`);
  return false;
}

/** FRR's daemons took a vtysh sequence (or frr-reload.py's) in this switch: they answer (health need not ask). */
function frrAnswered(ctx: StepContext): true {
  if (ctx.proven && !ctx.runner.dryRun) ctx.proven.frrAnswers = true;
  return true;
}

/**
 * One vtysh session for a command sequence (`configure terminal` ... `end`, as vtyshScript makes it). On the host
 * itself it goes as a file, `vtysh -f` (what frr-reload.py sends its difference with): vtysh then hands the
 * daemons the lines as one configuration transaction, two to three times faster than the same lines as `-c`
 * arguments (a tenant added: 52 commands, 0.4-0.7 s against 1.1-2.2 s on the bench's FRR host, load 8), with the
 * same running configuration after it (test/apply-incremental.test.ts compares it with frr-reload.py's). Through
 * `via` (another host) the file would not be there, and a dry run shows the commands: the sequence goes as `-c` arguments.
 */
async function vtyshSequence(ctx: StepContext, name: string, script: string[]): Promise<RunResult> {
  if (ctx.runner.via?.length || ctx.runner.dryRun) return ctx.runner.run('vtysh', [...vtysh(ctx.runner), ...script.flatMap((c) => ['-c', c])]);
  return ctx.runner.run('vtysh', [...vtysh(ctx.runner), '-f', scratch(ctx, name, vtyshFileBody(script))]);
}

/**
 * remove-frr, once remove-links deleted the removed tenants' kernel devices: every line of a removed tenant (its static
 * routes, its `router bgp ASN vrf NAME`, prefix-lists and route-maps) and then each removed VRF's `no vrf NAME`, as one
 * vtysh run (reload-frr leaves a removed tenant alone: a removal starts vtysh once, not twice). FRR 8.4 refuses to
 * delete an active VRF (`% Only inactive VRFs can be deleted`), so none of it can go before. When reload-frr reloaded
 * the whole file (frr-reload.py removed the tenants' other lines), only the `no vrf`s are left to send. A refusal (the
 * host drifted, or a VRF device apply does not own is still there) reloads the whole file. FRR 8.4 answers nothing to
 * a `no vrf` of a VRF it does not have.
 */
async function frrRemove(ctx: StepContext): Promise<boolean> {
  if (ctx.full || !ctx.cs.fileChanged(FRR_FILE)) return false;
  await ctx.liveReady;
  if (!ctx.liveExists('/etc/frr/frr.conf')) return false;
  const a = src(ctx.from, FRR_FILE);
  const b = src(ctx.to, FRR_FILE);
  if (!a || !b) return false;
  const plan = memo('frr', a, b, ctx.cs.touched, () => frrPlanOf(ctx.from!, ctx.to!, a, b, ctx.cs.touched));
  if (plan.headChanged) return false;
  const cmds = ctx.proven?.frrWhole ? plan.removals.filter((c) => removedVrf(c) !== undefined) : plan.removals;
  if (!cmds.length) return false;
  const script = vtyshScript(cmds);
  const what = plan.removed.length ? `the removed tenants ${plan.removed.join(', ')}` : `\`no vrf\` for ${plan.vrfRemovals.join(', ')}`;
  if (tooLong(script)) {
    ctx.say(`  remove-frr: ${cmds.length} commands for ${what}: reloading the whole file`);
    return frrReloadFull(ctx);
  }
  const r = await vtyshSequence(ctx, 'frr-remove.conf', script);
  const complaints = vtyshComplaints(r.stdout + r.stderr);
  if (r.code === 0 && !complaints.length) return frrAnswered(ctx);
  ctx.say(`  remove-frr: vtysh refused the commands for ${what} (${complaints[0] ?? `exit ${r.code}`}); reloading the whole file`);
  return frrReloadFull(ctx);
}

/** How long a replaced connection's new IKE_SA has to come up (initiated, or by the peer for responder-only ones). */
const MBB_DEADLINE_MS = Number(process.env.S2SGW_MBB_DEADLINE_MS) || 30_000;
/** Per VICI socket: the connection whose make-before-break failed in this process, left as it was for the rollback. */
const mbbLeft = new Map<string, Set<string>>();

/** strongSwan, incrementally over VICI: exactly the changed connections and secrets (src/apply/incremental/swan.ts). */
async function swanIncremental(ctx: StepContext, from: Release, to: Release): Promise<boolean> {
  const { runner } = ctx;
  let plan: SwanPlan;
  try {
    plan = swanPlan(from, to, runner.host('/etc/swanctl'));
  } catch (e) {
    throw new StepError(runner.step, 'cannot read the release\'s swanctl files', (e as Error).message);
  }
  if (!plan.load.length && !plan.unload.length && !plan.loadShared.length && !plan.unloadShared.length && !ctx.cs.terminate.length) return false;
  let client: ViciClient | undefined;
  try {
    if (!runner.dryRun) client = await ViciClient.connect(runner.vici, { timeoutMs: 10_000 });
    // The rollback of a make-before-break that failed finds charon as the old release has it: nothing to redo there.
    const left = mbbLeft.get(runner.vici);
    mbbLeft.delete(runner.vici);
    if (left) plan = { ...plan, load: plan.load.filter((l) => !left.has(l.name)) };
    const terminate = left ? ctx.cs.terminate.filter((n) => !left.has(n)) : ctx.cs.terminate;
    // Proposal or lifetime changes take effect only in a new IKE_SA (see applySwanPlan): those go make-before-break too.
    const rekey = new Set((ctx.cs.impact?.tenants ?? []).flatMap((t) => t.changes.filter((c) => c.kind === 'connection' && c.action === 'rekeyed' && /proposals\/lifetime/.test(c.detail ?? '')).map((c) => c.subject)));
    // The touched tenants' connections in the release the host runs and in the new one (the terminations are theirs).
    const known = new Set(ctx.cs.touched.flatMap((t) => from.manifest.tenants[t]?.connections ?? []));
    const kept = ctx.cs.touched.flatMap((t) => to.manifest.tenants[t]?.connections ?? []);
    // Replaced connections whose section is the same (only their PSK changed): their sections, for make-before-break.
    // Only a connection the new release has can have one: a removed tenant's are not looked for (connectionSections
    // walks the release's 10,000 tenants to find a name's: 36 ms of a remove's step, cold).
    const loads = new Set(plan.load.map((l) => l.name));
    const inNew = new Set(kept);
    const same = connectionSections(to, terminate.filter((n) => !loads.has(n) && inNew.has(n)), runner.host('/etc/swanctl'), ctx.cs.touched);
    // A touched tenant's connection in the new release that none of them has in the release the host runs (a tenant's
    // connections are in its digest: one that moved between tenants touches both) is new to charon.
    const added = new Set(kept.filter((c) => !known.has(c)));
    const fresh = (n: string) => added.has(n);
    await applySwanPlan(client, plan, terminate, (argv, fn) => runner.call(argv, fn), { mbb: { deadlineMs: MBB_DEADLINE_MS }, rekey, peerFirstMs: ctx.peerFirstMs ?? 0, sectionOf: (n) => same.get(n), fresh, say: ctx.say });
  } catch (e) {
    if (e instanceof StepError) throw e;
    if (e instanceof MbbError) {
      mbbLeft.set(runner.vici, new Set([e.connection]));
      throw new StepError(runner.step, e.message, e.detail, whereIs(ctx.to, e.connection));
    }
    const msg = (e as Error).message;
    if (e instanceof ViciCommandError) {
      // charon refused a step of the delta (e.g. unloading a connection it no longer holds: the host drifted from the
      // old release). swanctl --load-all converges it, or fails with swanctl's own words if the bundle is at fault.
      ctx.say(`  reload-strongswan: charon refused ${runner.log.at(-1)?.argv.join(' ') ?? 'a VICI call'} (${e.errmsg}); loading everything with swanctl --load-all`);
      await client?.close();
      client = undefined;
      return swanLoadAll(ctx);
    }
    const conn = /load-conn (\S+)|'([^']+)'/.exec(runner.log.at(-1)?.argv.join(' ') ?? '');
    throw new StepError(runner.step, `charon refused: ${runner.log.at(-1)?.argv.join(' ') ?? 'vici'}`, msg, conn ? whereIs(ctx.to, conn[1] ?? conn[2]) : undefined);
  } finally {
    await client?.close();
  }
  return true;
}

/**
 * nftables, incrementally: one transaction that replaces only the touched tenants' elements and chains,
 * all-or-nothing. Returns false when the whole file must be loaded: a first apply, the table's skeleton changed, or
 * nft refused the delta (the ruleset was not what the old release says, or the new lines are bad: the whole file's
 * `nft -f` then says which and changes nothing either).
 */
async function nftIncremental(ctx: StepContext): Promise<boolean> {
  const a = src(ctx.from, NFT_FILE);
  const b = src(ctx.to, NFT_FILE);
  if (!a || !b) return false;
  const plan = memo('nft', a, b, ctx.cs.touched, () => nftPlanOf(ctx.from!, ctx.to!, a, b, ctx.cs.touched));
  if (plan.headChanged) return false;
  if (!plan.script) return true;
  const f = ctx.runner.dryRun ? path.join(ctx.l.tmp, 'incremental.nft') : scratch(ctx, 'incremental.nft', plan.script);
  // No `nft -c` before it, here or in check: `nft -f` is itself all-or-nothing (one netlink batch the kernel commits
  // whole or not at all), and each nft run reads the whole ruleset first (0.1-0.15 s of CPU at 10,000 tenants).
  const r = await ctx.runner.run('nft', ['-f', f]);
  if (r.code === 0) {
    if (ctx.proven && !ctx.runner.dryRun) ctx.proven.nftTable = true;
    return true;
  }
  ctx.say(`  reload-nftables: nft refused the incremental transaction (${r.stderr.trim().split('\n')[0]}); loading the whole file`);
  return false;
}

/** The link lines a switch runs: devices to recreate, the batches (touched tenants' lines), removed devices. */
interface LinkWork {
  recreate: string[];
  batches: Array<{ tool: 'ip' | 'bridge'; lines: string[] }>;
  removals: string[];
}

function linkWork(ctx: StepContext): LinkWork {
  const { cs } = ctx;
  const batches: LinkWork['batches'] = [];
  for (const b of BATCH_ORDER) {
    const f = file(ctx.to, b.path);
    if (!f || (!ctx.full && !cs.fileChanged(b.path) && !cs.recreate.length)) continue;
    batches.push({ tool: b.tool, lines: touchedLines(fs.readFileSync(f), cs, ctx.full) });
  }
  if (!cs.removedConnections.length && !cs.removed.length && !cs.recreate.length) return { recreate: [], batches, removals: [] };
  // Loaded when a device goes: the links view brings the model with it (module loading is a tenth of a small apply).
  const { tenantLinkDeletes, connectionLinkDeletes } = require('../targets/links/view') as typeof LinksView;
  const removals: string[] = [...cs.removedConnections.flatMap(connectionLinkDeletes)];
  for (const t of cs.removed) {
    const m = ctx.from?.manifest.tenants[t];
    if (m) removals.push(...tenantLinkDeletes({ vrf: t, network: m.summary?.network?.interface ?? t, xfrm: m.connections }));
  }
  return { recreate: cs.recreate.flatMap(connectionLinkDeletes), batches, removals };
}

/** The devices apply may treat as its own without its mark: those the release the host runs (state.json) declares. */
function committedDevices(ctx: StepContext, names: Iterable<string>): Set<string> {
  const current = readState(ctx.l).current;
  const r = ctx.from?.name === current ? ctx.from : ctx.to?.name === current ? ctx.to : null;
  const wanted = new Set(names);
  const tenants = ctx.full ? Object.keys(r?.manifest.tenants ?? {}) : ctx.cs.touched;
  return new Set([...declaredDevices(r, tenants)].filter((d) => wanted.has(d)));
}

/** The host's links among those `lines` name that are not apply's own. */
async function foreignLinks(ctx: StepContext, lines: string[]): Promise<HostLink[]> {
  const names = new Set(lines.flatMap(lineDevices));
  if (!names.size) return [];
  const host = await hostLinks(ctx.runner, names);
  // Only unmarked links need the release's declarations (whose summaries are read on demand).
  const unmarked = [...host.values()].filter((l) => l.group !== LINK_GROUP);
  if (!unmarked.length) return [];
  const committed = committedDevices(ctx, unmarked.map((l) => l.name));
  return unmarked.filter((l) => !isOwn(l, committed));
}

/**
 * A filter that drops the lines naming a device apply does not own: what a rollback or a recovery must never
 * modify or delete (a forward switch was refused before it started: checkOwnership).
 */
async function ownLinks(ctx: StepContext, lines: string[]): Promise<(lines: string[]) => string[]> {
  const foreign = new Set((await foreignLinks(ctx, lines)).map((l) => l.name));
  for (const n of [...foreign].sort()) ctx.say(`  ${ctx.runner.step}: left ${n} alone: s2sgw did not create it`);
  return (ls) => (foreign.size ? ls.filter((l) => !lineDevices(l).some((d) => foreign.has(d))) : ls);
}

/** One host object a switch would take over: why, the object as the host describes it, and the tenant line. */
interface Refusal {
  message: string;
  detail: string;
  where?: string;
}

/** Tenants the release the host runs does not have (all of them on a first apply): their names are new to the host. */
function addedTenants(ctx: StepContext): string[] {
  return ctx.to ? Object.keys(ctx.to.manifest.tenants).filter((t) => !ctx.from?.manifest.tenants[t] && (ctx.full || ctx.cs.touched.includes(t))).sort() : [];
}

/** Connections the release the host runs does not have, with the tenant line that declares each. */
function addedConnections(ctx: StepContext): Map<string, string> {
  const old = new Set(ctx.cs.touched.flatMap((t) => ctx.from?.manifest.tenants[t]?.connections ?? []));
  const out = new Map<string, string>();
  for (const t of ctx.full ? Object.keys(ctx.to?.manifest.tenants ?? {}) : ctx.cs.touched) {
    const m = ctx.to?.manifest.tenants[t];
    if (!m) continue;
    for (const c of m.connections) if (!old.has(c) && !ctx.from?.manifest.tenants[t]?.connections.includes(c)) out.set(c, deviceOrigin(ctx.to, [t], c) ?? `tenant ${t}`);
  }
  return out;
}

/** Links: every device the links steps would create, change, enslave to or delete is absent or apply's own. */
async function linkRefusals(ctx: StepContext): Promise<Refusal[]> {
  const w = linkWork(ctx);
  const foreign = await foreignLinks(ctx, [...w.recreate, ...w.batches.flatMap((b) => b.lines), ...w.removals]);
  const tenants = ctx.full ? [...new Set([...Object.keys(ctx.to?.manifest.tenants ?? {}), ...Object.keys(ctx.from?.manifest.tenants ?? {})])].sort() : ctx.cs.touched;
  const where = (n: string) => deviceOrigin(ctx.to, tenants, n) ?? deviceOrigin(ctx.from, tenants, n);
  return foreign.map((l) => ({
    message: `device ${l.name} exists on this host and s2sgw did not create it (not in link group ${LINK_GROUP}, not in the release the host runs): refusing to modify or delete it`,
    detail: `${describeLink(l)}: ${where(l.name) ?? 'a gateway line'}`,
    where: where(l.name),
  }));
}

/** Routing tables: a new tenant's VRF table is not one the kernel reserves, nor held by a VRF or routes s2sgw did not make. */
async function tableRefusals(ctx: StepContext): Promise<Refusal[]> {
  const tables = new Map<number, string>();
  for (const t of addedTenants(ctx)) {
    const table = ctx.to!.manifest.tenants[t].summary?.vrf?.table;
    if (table !== undefined) tables.set(table, t);
  }
  if (!tables.size) return [];
  const out: Refusal[] = [];
  const where = (t: string) => deviceOrigin(ctx.to, [t], t);
  for (const [table, t] of tables) {
    if (RESERVED_TABLES.has(table)) out.push({ message: `VRF ${t} would use routing table ${table}, which the kernel reserves`, detail: `table ${table}: ${where(t)}`, where: where(t) });
  }
  const r = await ctx.runner.look('ip', ['-N', '-j', '-d', 'link', 'show', 'type', 'vrf']);
  const vrfs = r.code === 0 && r.stdout.trim() ? (JSON.parse(r.stdout) as Array<{ ifname: string; group?: string; master?: string; linkinfo?: { info_data?: { table?: number } } }>) : [];
  const held = new Set<number>();
  for (const v of vrfs) {
    const table = v.linkinfo?.info_data?.table;
    if (table === undefined || !tables.has(table)) continue;
    held.add(table);
    const l: HostLink = { name: v.ifname, group: Number(v.group ?? 0), kind: 'vrf', master: v.master };
    const t = tables.get(table)!;
    if (v.ifname !== t && !isOwn(l, committedDevices(ctx, [v.ifname]))) {
      out.push({ message: `VRF ${t} would use routing table ${table}, which VRF ${v.ifname} (not s2sgw's) already uses`, detail: `${describeLink(l)} table ${table}: ${where(t)}`, where: where(t) });
    }
  }
  // A table no VRF holds but with routes in it is someone's policy routing table.
  const free = [...tables.keys()].filter((n) => !held.has(n) && !RESERVED_TABLES.has(n)).sort((a, b) => a - b);
  if (free.length) {
    const q = await ctx.runner.look('ip', ['-j', '-force', '-batch', '-'], { input: free.map((n) => `route show table ${n}`).join('\n') + '\n' });
    const answers = q.stdout.split('\n').filter((l) => l.startsWith('['));
    free.forEach((n, i) => {
      const routes = answers[i] ? (JSON.parse(answers[i]) as Array<{ dst?: string }>) : [];
      const t = tables.get(n)!;
      if (routes.length) out.push({ message: `VRF ${t} would use routing table ${n}, which already holds routes s2sgw did not add`, detail: `table ${n} (${routes.length} route${routes.length === 1 ? '' : 's'}, first ${routes[0].dst ?? '?'}): ${where(t)}`, where: where(t) });
    });
  }
  return out;
}

const RESERVED_TABLES = new Set([0, 253, 254, 255]);

/** nftables: a first apply finds no `table inet s2sgw` it did not make (nft -f of the release would replace it). */
async function nftRefusals(ctx: StepContext): Promise<Refusal[]> {
  if (ctx.from || !file(ctx.to, NFT_FILE)) return [];
  // Adding a chain with -c fails in milliseconds when the table is absent and changes nothing (see health).
  const r = await ctx.runner.look('nft', ['-c', 'add', 'chain', ...NFT_TABLE, NFT_PROBE_CHAIN]);
  if (r.code !== 0) return [];
  return [{ message: `nftables table ${NFT_OWN} exists and s2sgw did not make it (no s2sgw release is applied on this host): refusing to replace it`, detail: `table ${NFT_OWN}: delete it, or rename it, if it is not s2sgw's from an earlier install` }];
}

/** FRR: no `vrf X` or `router bgp N vrf X` block in the running config for a tenant the host's release does not have. */
async function frrRefusals(ctx: StepContext): Promise<Refusal[]> {
  const added = addedTenants(ctx);
  if (!added.length || !file(ctx.to, FRR_FILE)) return [];
  const r = await ctx.runner.look('vtysh', [...vtysh(ctx.runner), '-c', 'show running-config']);
  if (r.code !== 0) return [];
  return frrBlocksNaming(r.stdout, new Set(added)).map((b) => ({
    message: `FRR already runs \`${b.line}\`, which s2sgw did not write: refusing to take it over`,
    detail: `${b.line}: ${deviceOrigin(ctx.to, [b.vrf], b.vrf)}`,
    where: deviceOrigin(ctx.to, [b.vrf], b.vrf),
  }));
}

/** What charon holds of some connection names (for the ownership check): connections of those names, and every shared secret id of the form `TYPE-NAME`. */
interface SwanHeld {
  conns: string[];
  shared: string[];
}

/**
 * Asks charon over VICI which of `names` it holds as connections (by name in one exchange for a few names, get-conns
 * for more than 20) and which shared secrets of their names (get-shared: VICI has no query for one secret id).
 * Undefined when charon does not answer (the health check's to report). `early`: the prefetch's connection, which
 * tries to connect once (no retry while charon starts) and hands its client out (to be closed when the apply ends
 * first). Its deadlines are the check's: the apply's main thread is busy for a while after it starts (verify's
 * followers, secrets), and a deadline timer that fires before the connection's callback runs would throw the answer away.
 */
async function swanHeld(runner: Runner, names: string[], early?: { opened: (c: ViciClient) => void }): Promise<SwanHeld | undefined> {
  let client: ViciClient | undefined;
  try {
    client = await ViciClient.connect(runner.vici, { timeoutMs: 10_000, retry: !early });
    early?.opened(client);
    const conns: string[] = [];
    const want = new Set(names);
    // A few new connections (an added tenant): charon is asked about those names only (in one exchange), not for its
    // 30,000 (at 10,000 tenants) connection names. Shared secrets have no such query (and load-shared of a held id
    // replaces it silently): get-shared lists all their ids, and only those of the new connections' names are read.
    if (names.length <= 20) for (const [n, found] of await client.listConnsEach(names)) conns.push(...found.map((x) => x.name).filter((x) => x === n));
    else conns.push(...(await client.getConns()).filter((n) => want.has(n)));
    return { conns, shared: await client.getSharedOf(names) };
  } catch {
    return undefined;
  } finally {
    await client?.close();
  }
}

/** The ownership check's questions to charon, asked before the check (prefetchSwanOwnership): the names, and the answers. */
export interface SwanOwnershipPrefetch {
  names: ReadonlySet<string>;
  held: Promise<SwanHeld | undefined>;
  /** Closes the connection if it is still open (the apply ended before the check): the process does not wait on charon. */
  cancel(): void;
}

/**
 * The ownership check's questions to charon, asked early: right after verify, for every connection the bundle lists
 * that the current release's entry of its tenant does not (a superset of what the check will need: it also leaves
 * out a connection another touched tenant held). charon answers on its own core while apply resolves secrets and
 * stages (at 10,000 tenants the exchanges took 60-140 ms of wall time, little of it either side's CPU), and the check
 * uses the answers when they cover every name it needs; otherwise (or when charon did not answer) it asks again.
 * Undefined when there is nothing to ask (no new connection) or the check would not ask charon over VICI.
 */
export function prefetchSwanOwnership(runner: Runner, from: Manifest | undefined, to: Manifest): SwanOwnershipPrefetch | undefined {
  if (runner.skipped('strongswan') || runner.via?.length) return undefined;
  const a = from?.tenants ?? {};
  const names = new Set<string>();
  for (const t of Object.keys(to.tenants)) {
    const y = to.tenants[t];
    const x = a[t];
    // deriveManifest shares one entry where the tenant's line is the same bytes in both manifests.
    if (x === y) continue;
    for (const c of y.connections) if (!x?.connections.includes(c)) names.add(c);
  }
  if (!names.size) return undefined;
  let client: ViciClient | undefined;
  let cancelled = false;
  // One try to connect (charon is up on a host it holds connections on); the check itself waits for a starting charon.
  const held = swanHeld(runner, [...names], {
    opened: (c) => {
      client = c;
      if (cancelled) void c.close();
    },
  });
  return {
    names,
    held,
    cancel: () => {
      cancelled = true;
      void client?.close();
    },
  };
}

/** strongSwan: charon holds no connection or shared secret, of a name a new connection would load, that s2sgw did not load. */
async function swanRefusals(ctx: StepContext): Promise<Refusal[]> {
  const added = addedConnections(ctx);
  if (!added.size) return [];
  const { runner } = ctx;
  let conns: string[] = [];
  let shared: string[] = [];
  if (runner.via?.length) {
    const r = await runner.look('swanctl', ['--list-conns', ...vicis(runner)]);
    if (r.code !== 0) return [];
    conns = loadedConnections(r.stdout);
  } else {
    const early = ctx.swanPrefetch && [...added.keys()].every((n) => ctx.swanPrefetch!.names.has(n)) ? await ctx.swanPrefetch.held : undefined;
    // charon not answering is the health check's to report; nothing of its state can be taken over now.
    const held = early ?? (await swanHeld(runner, [...added.keys()]));
    if (!held) return [];
    ({ conns, shared } = held);
  }
  const out: Refusal[] = [];
  for (const c of conns.filter((n) => added.has(n)).sort()) out.push({ message: `charon already holds connection ${c}, which s2sgw did not load: refusing to replace it`, detail: `connection ${c}: ${added.get(c)}`, where: added.get(c) });
  for (const id of shared.sort()) {
    const c = /^[a-z]+-(.+)$/.exec(id)?.[1];
    if (c && added.has(c)) out.push({ message: `charon already holds shared secret ${id}, which s2sgw did not load: refusing to replace it`, detail: `shared secret ${id}: ${added.get(c)}`, where: added.get(c) });
  }
  return out;
}

/**
 * Before a switch changes anything: every host object it would create, change or delete is absent or apply's own
 * (src/apply/owned.ts): links, the routing tables of new VRFs, the nftables table, FRR's VRF and BGP blocks,
 * charon's connections and shared secrets. One that is not is refused, naming it and the tenant line.
 */
export async function checkOwnership(ctx: StepContext): Promise<void> {
  const { runner } = ctx;
  const all = await Promise.all([
    runner.skipped('links') ? [] : linkRefusals(ctx),
    runner.skipped('links') || runner.skipped('vrf') ? [] : tableRefusals(ctx),
    runner.skipped('nftables') ? [] : nftRefusals(ctx),
    runner.skipped('frr') ? [] : frrRefusals(ctx),
    runner.skipped('strongswan') ? [] : swanRefusals(ctx),
  ]);
  const refusals = all.flat();
  if (!refusals.length) return;
  const more = refusals.length > 1 ? ` (and ${refusals.length - 1} more)` : '';
  throw new StepError('ownership', `${refusals[0].message}${more}; the host was not changed`, refusals.map((r) => r.detail).join('\n'), refusals[0].where);
}

export const STEPS: Step[] = [
  {
    name: 'reload-sysctl',
    owner: 'sysctl',
    async run(ctx) {
      if (!ctx.full && !ctx.cs.fileChanged(SYSCTL_FILE)) return false;
      const live = ctx.runner.host('/etc/sysctl.d/90-s2sgw.conf');
      if (!ctx.liveExists('/etc/sysctl.d/90-s2sgw.conf')) return false;
      // A host loads modules-load.d only at boot, and some keys (net.vrf.strict_mode) exist only once their module is
      // loaded: on a fresh host sysctl would stop there. Load the bundle's modules first (the lab found it).
      const mods = file(ctx.to, 'modules-load.d/s2sgw.conf');
      const names = mods ? fs.readFileSync(mods, 'utf8').split('\n').map((m) => m.trim()).filter((m) => m && !m.startsWith('#')) : [];
      if (names.length) await ctx.runner.must('modprobe', ['-a', ...names]);
      await ctx.runner.must('sysctl', ['-q', '-p', live]);
      return true;
    },
  },
  {
    name: 'reload-links',
    owner: 'links',
    async run(ctx) {
      const work = linkWork(ctx);
      const own = await ownLinks(ctx, [...work.recreate, ...work.batches.flatMap((b) => b.lines)]);
      // Devices whose identity changed (VLAN id, VNI, if_id) cannot be modified in place.
      if (work.recreate.length) await batch(ctx, 'ip', own(work.recreate), /Cannot find device/);
      for (const b of work.batches) {
        const lines = own(b.lines);
        // Re-running a batch meets links and addresses that already exist: those lines are no-ops. Every link apply
        // adds carries its mark (src/apply/owned.ts).
        await batch(ctx, b.tool, b.tool === 'ip' ? markLinkAdds(lines) : lines, /File exists|already exists/);
        // FRR 8.4's zebra, running while one quick batch makes a VRF, its VLAN and the VLAN's address, can miss the
        // address (the lab saw it for the second tenant every run; bgpd then finds no interface for the session's
        // source and BGP stays Idle). Announcing the touched tenants' addresses again fixes it (docs/lab.md).
        if (b.tool === 'ip') await batch(ctx, 'ip', lines.filter((l) => l.startsWith('address add ')).map((l) => l.replace('address add ', 'address replace ')), /^$/);
      }
      return work.recreate.length > 0 || work.batches.some((b) => b.lines.length > 0);
    },
  },
  {
    name: 'reload-frr',
    owner: 'frr',
    async run(ctx) {
      if (!ctx.full && !ctx.cs.fileChanged(FRR_FILE)) return false;
      // The incremental sequence reads no live file: with the host's frr.conf there already (the switch's copy renames
      // over it), it goes while that copy is still on its way. frr-reload.py reads the live file: it waits for it.
      if (!ctx.full && ctx.liveExists('/etc/frr/frr.conf') && (await frrIncremental(ctx))) return true;
      await ctx.liveReady;
      // No live file: nothing to load, unless FRR still runs what the old release wrote (a rollback to a host that had none).
      if (!ctx.liveExists('/etc/frr/frr.conf') && !file(ctx.from, FRR_FILE)) return false;
      if (ctx.proven) ctx.proven.frrWhole = true;
      return frrReloadFull(ctx);
    },
  },
  {
    name: 'reload-strongswan',
    owner: 'strongswan',
    async run(ctx) {
      const { cs, runner } = ctx;
      // Any swanctl/ file changed: each manifest's paths walked once, and the list kept for swanPlan (40,000 paths at
      // 10,000 tenants; a set and arrays of them took 15 ms of a change that leaves strongSwan alone).
      const swanChanged = () => changedSwanctl(ctx.from?.manifest.files ?? {}, ctx.to?.manifest.files ?? {}).length > 0;
      if (!ctx.full && !cs.secretsChanged && !swanChanged()) return false;
      if (ctx.full || cs.fileChanged('swanctl/strongswan.d/s2sgw.conf')) await runner.must('swanctl', ['--reload-settings', ...vicis(runner)]);
      // The gateway identity's key (linked into swanctl's private/ at the switch) reaches charon only through a credentials
      // load; VICI load-conn carries certificates, not keys. The lab found it: the first certificate or EAP connection
      // applied incrementally failed with "no private key found".
      if (!ctx.full && cs.fileChanged('swanctl/private.refs') && ctx.to?.manifest.files['swanctl/private.refs'] && !runner.via?.length) {
        await runner.must('swanctl', ['--load-creds', '--noprompt', '--file', runner.host('/etc/swanctl/swanctl.conf'), ...vicis(runner)]);
      }
      if (!ctx.full && ctx.from && ctx.to && !runner.via?.length) return swanIncremental(ctx, ctx.from, ctx.to);
      if (!ctx.from && ctx.to && !runner.via?.length) return swanFirst(ctx, ctx.to);
      return swanLoadAll(ctx);
    },
  },
  {
    name: 'reload-nftables',
    owner: 'nftables',
    alongsidePrevious: true,
    async run(ctx) {
      if (!ctx.full && !ctx.cs.fileChanged(NFT_FILE)) return false;
      if (!ctx.full && (await nftIncremental(ctx))) return true;
      return nftFull(ctx);
    },
  },
  {
    name: 'reload-tc',
    owner: 'tc',
    async run(ctx) {
      if (!ctx.full && !ctx.cs.fileChanged(TC_FILE)) return false;
      const f = file(ctx.to, TC_FILE);
      if (!f) return false;
      const lines = touchedLines(fs.readFileSync(f), ctx.cs, ctx.full);
      await batch(ctx, 'tc', lines, /^$/);
      return lines.length > 0;
    },
  },
  {
    name: 'reload-keepalived',
    owner: 'keepalived',
    async run(ctx) {
      if (!ctx.full && !ctx.cs.fileChanged(KEEPALIVED_FILE)) return false;
      const had = !!file(ctx.from, KEEPALIVED_FILE);
      const has = !!file(ctx.to, KEEPALIVED_FILE) && ctx.liveExists('/etc/keepalived/keepalived.conf');
      if (!had && !has) return false;
      const pid = keepalivedPid(ctx.runner);
      if (!has) {
        // The last HA tenant left this gateway: stop the daemon s2sgw started, so it releases the addresses.
        if (pid) await ctx.runner.must('kill', ['-TERM', pid]);
        return !!pid;
      }
      // The drain file's folder must exist before keepalived's track_file creates the file (init_file).
      if (!ctx.runner.dryRun) fs.mkdirSync(path.dirname(ctx.runner.host(DRAIN_FILE)), { recursive: true });
      // The notify listener keepalived starts (src/apply/ha-listen.ts): its script, and the FIFO's folder.
      if (!ctx.runner.dryRun) writeListener(ctx.runner);
      if (pid) await ctx.runner.must('kill', ['-HUP', pid]);
      else
        await ctx.runner.must('keepalived', [
          '-f', ctx.runner.host('/etc/keepalived/keepalived.conf'),
          '-p', ctx.runner.host(KEEPALIVED_PID),
          '-r', ctx.runner.host(KEEPALIVED_CHILD_PIDS.vrrp),
          '-c', ctx.runner.host(KEEPALIVED_CHILD_PIDS.checkers),
        ]);
      return true;
    },
  },
  {
    name: 'remove-links',
    owner: 'links',
    async run(ctx) {
      const lines = linkWork(ctx).removals;
      const own = await ownLinks(ctx, lines);
      await batch(ctx, 'ip', own(lines), /Cannot find device/);
      return lines.length > 0;
    },
  },  {
    name: 'remove-frr',
    owner: 'frr',
    run: frrRemove,
  },
];

/** A word for sh, in single quotes. */
const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Writes the script keepalived runs as its vrrp_notify_fifo_script (LISTENER_SCRIPT): this s2sgw's listener with
 * charon's VICI socket and the live keepalived.conf; keepalived appends the FIFO. From dist/ node runs ha-listen.js,
 * the single executable runs itself with the arguments it embeds. Creates the FIFO's folder (keepalived does not).
 */
export function writeListener(runner: Runner): void {
  fs.mkdirSync(runner.host(HA_STATE_DIR), { recursive: true });
  const args = [process.execPath, ...(embedded.listenerArgs ?? [path.join(__dirname, 'ha-listen.js')])];
  const log = runner.host('/var/log/s2sgw/ha-listen.log');
  fs.mkdirSync(path.dirname(log), { recursive: true });
  const script = runner.host(LISTENER_SCRIPT);
  fs.mkdirSync(path.dirname(script), { recursive: true });
  const text = [
    '#!/bin/sh',
    '# Written by s2sgw apply: keepalived\'s notify listener (docs/ha.md). keepalived passes its FIFO as the last argument.',
    // The pid file at once (exec keeps the pid): the notify commands leave the tunnels to the listener from keepalived's
    // first event on, not only once node has started (seconds under the lab's emulation, where both dialed at the start
    // and left two IKE_SAs per site).
    `echo $$ > ${shq(LISTENER_PID)} 2>/dev/null`,
    `exec ${[...args, '--vici', runner.vici, '--conf', runner.host('/etc/keepalived/keepalived.conf')].map(shq).join(' ')} "$@" 2>> ${shq(log)}`,
    '',
  ].join('\n');
  const tmp = `${script}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o755 });
  fs.renameSync(tmp, script);
}

/** keepalived's pid when its pid file names a live process, else undefined. */
export function keepalivedPid(runner: Runner): string | undefined {
  const pid = readIfExists(runner.host(KEEPALIVED_PID))?.trim();
  if (!pid || !/^\d+$/.test(pid)) return undefined;
  return fs.existsSync(`/proc/${pid}`) ? pid : undefined;
}

/** The connections charon holds, by `swanctl --list-conns` (through `via`), or its error text. */
async function swanctlConns(runner: Runner): Promise<string[] | string> {
  const r = await runner.run('swanctl', ['--list-conns', ...vicis(runner)]);
  return r.code === 0 ? loadedConnections(r.stdout).map(baseName) : (r.stderr || r.stdout).trim();
}

/** One VICI session for a health question, logged through the runner; the answer, or the error's text. */
async function viciAsk<T>(runner: Runner, argv: string[], fn: (client: ViciClient) => Promise<T[]>): Promise<T[] | string> {
  try {
    return (
      (await runner.call(argv, async () => {
        const client = await ViciClient.connect(runner.vici, { timeoutMs: 10_000 });
        try {
          return await fn(client);
        } finally {
          await client.close();
        }
      })) ?? []
    );
  } catch (e) {
    return (e as Error).message;
  }
}

/** The connections charon holds, by VICI get-conns, or its error text. */
function viciConns(runner: Runner): Promise<string[] | string> {
  return viciAsk(runner, ['vici', '--get-conns'], async (c) => (await c.getConns()).map(baseName));
}

/**
 * Which of `names` charon holds (under the name or its alternate), or its error text: one get-conns exchange searched
 * for the names and their alternates (ViciClient.heldOf: one walk of charon's connections, where list-conns of each
 * name, then of the alternates of those not found, walked them once a name: six walks for a removed tenant).
 */
async function viciHeld(runner: Runner, names: string[]): Promise<string[] | string> {
  if (!names.length) return [];
  return viciAsk(runner, ['vici', '--get-conns', ...names], async (c) => {
    // A connection lives under its name or its alternate (a make-before-break replaced it: src/apply/incremental/swan.ts).
    const held = await c.heldOf(names.flatMap((n) => [n, alternateOf(n)]));
    return names.filter((n) => held.has(n) || held.has(alternateOf(n)));
  });
}

/** After the reload: each daemon answers, charon holds exactly the bundle's connections, each VRF exists with its table. */
/** Is `inet s2sgw` there? Every nft `list` (even `list tables`) fetches the whole ruleset first: 5 s at 10,000 tenants.
 * Adding a chain with -c (checked, never committed) fails when the table is not there, in milliseconds, and changes nothing. */
async function nftProbe(runner: Runner): Promise<string[]> {
  const r = await runner.run('nft', ['-c', 'add', 'chain', ...NFT_TABLE, NFT_PROBE_CHAIN]);
  return r.code !== 0 ? [`nft has no table ${NFT_TABLE.join(' ')}: ${(r.stderr || r.stdout).trim()}`] : [];
}

/**
 * Starts health's nft probe as soon as the change set is known (before ownership and the switch), beside the steps,
 * when none of them will touch nft (an incremental switch whose s2sgw.nft is the current release's: reload-nftables
 * has nothing to send): what it asks, is the table there, this switch does not change, so its answer is the same
 * then as after the reloads, and its process start and nft's read (20-120 ms on a loaded machine, through `ip netns
 * exec` in the bench) no longer wait for them. Logged under the health step, as when health runs it.
 */
export function startNftProbe(ctx: StepContext): void {
  const { runner, from, to } = ctx;
  if (runner.dryRun || ctx.full || !from || runner.skipped('nftables') || !file(to, NFT_FILE) || ctx.cs.fileChanged(NFT_FILE)) return;
  const view = Object.create(runner) as Runner;
  view.step = 'health';
  ctx.nftProbe = nftProbe(view).catch((e: unknown) => [`nft: ${(e as Error).message}`]);
}

export async function health(ctx: StepContext): Promise<void> {
  const { runner, to, from } = ctx;
  // An incremental switch checks what it touched: its cost follows the change, not the host's size.
  const scope = !ctx.full && from && to ? ctx.cs.touched : undefined;
  // The daemons are asked at the same time (charon over VICI, FRR and nft in their own processes); the problems are
  // reported in this order.
  const checks: Array<() => Promise<string[]>> = [];
  if (!runner.skipped('strongswan'))
    checks.push(async () => {
      const problems: string[] = [];
      // An incremental switch asks charon about the touched tenants' connections only (a few list-conns calls); a full
      // one lists every connection: get-conns over VICI answers in milliseconds where `swanctl --list-conns` prints
      // every connection in full, but at 30,000 connections it is still 0.1 s.
      const tenantsOf = (r: Release | null) => (r ? (scope ? scope.map((t) => r.manifest.tenants[t]).filter((t) => t !== undefined) : Object.values(r.manifest.tenants)) : []);
      const ours = new Set([...tenantsOf(from), ...tenantsOf(to)].flatMap((t) => t.connections));
      const loaded = runner.via?.length ? await swanctlConns(runner) : scope ? await viciHeld(runner, [...ours].sort()) : await viciConns(runner);
      if (typeof loaded === 'string') problems.push(`charon does not answer on ${runner.vici}: ${loaded}`);
      else {
        const want = tenantsOf(to).flatMap((t) => t.connections).sort();
        const wanted = new Set(want);
        const have = loaded.filter((c) => ours.has(c));
        const held = new Set(have);
        const missing = want.filter((c) => !held.has(c));
        const extra = have.filter((c) => !wanted.has(c));
        if (missing.length) problems.push(`charon lacks connection${missing.length === 1 ? '' : 's'} ${missing.join(', ')}`);
        if (extra.length) problems.push(`charon still holds removed connection${extra.length === 1 ? '' : 's'} ${extra.join(', ')}`);
      }
      return problems;
    });
  // A vtysh sequence went through moments ago in this switch (reload-frr, remove-frr): FRR answers, and `vtysh -c
  // 'show version'` would start vtysh again (it connects to every daemon) to learn the same.
  if (!runner.skipped('frr') && file(to, FRR_FILE) && !ctx.proven?.frrAnswers)
    checks.push(async () => {
      const r = await runner.run('vtysh', [...vtysh(runner), '-c', 'show version']);
      return r.code !== 0 ? [`FRR does not answer (vtysh ${vtysh(runner).join(' ')}): ${(r.stderr || r.stdout).trim()}`] : [];
    });
  // An `nft -f` of the table went through moments ago in this switch: the table is there, and the probe would spend
  // another nft run reading the whole ruleset (0.1-0.3 s at 2,000 tenants, and a process spawned).
  const probe = ctx.nftProbe;
  if (probe) checks.push(() => probe);
  else if (!runner.skipped('nftables') && file(to, NFT_FILE) && !ctx.proven?.nftTable) checks.push(() => nftProbe(runner));
  // An incremental switch looks at the touched tenants' VRFs (their summaries are the only ones parsed); a full one at all.
  const vrfTenants = to ? (scope ? scope.filter((t) => to.manifest.tenants[t]) : Object.keys(to.manifest.tenants)) : [];
  if (!runner.skipped('vrf') && !runner.skipped('links') && to && vrfTenants.length)
    checks.push(async () => {
      const problems: string[] = [];
      const one = scope && vrfTenants.length <= 20;
      const vrfs = new Map<string, { ifname: string; linkinfo?: { info_data?: { table?: number } } }>();
      for (const args of one ? vrfTenants.map((t) => ['dev', t]) : [['type', 'vrf']]) {
        const r = await runner.run('ip', ['-j', '-d', 'link', 'show', ...args]);
        // A missing device is "does not exist" below, not an unreadable answer.
        if (one && r.code !== 0 && /does not exist/.test(r.stderr)) continue;
        try {
          for (const v of JSON.parse(r.stdout || '[]') as Array<{ ifname: string; linkinfo?: { info_kind?: string; info_data?: { table?: number } } }>) if (!one || v.linkinfo?.info_kind === 'vrf') vrfs.set(v.ifname, v);
        } catch {
          problems.push(`ip -j link show ${args.join(' ')}: ${r.stderr.trim() || 'unreadable output'}`);
        }
      }
      for (const t of vrfTenants) {
        const v = vrfs.get(t);
        const table = to.manifest.tenants[t].summary?.vrf?.table;
        if (!v) problems.push(`VRF ${t} does not exist`);
        else if (table !== undefined && v.linkinfo?.info_data?.table !== table) problems.push(`VRF ${t} has table ${v.linkinfo?.info_data?.table}, not ${table}`);
      }
      return problems;
    });
  const problems = (await Promise.all(checks.map((c) => c()))).flat();
  if (problems.length) throw new StepError('health', `health check failed (${problems.length} problem${problems.length === 1 ? '' : 's'})`, problems.join('\n'));
}

/** Pre-switch checks of the staged release with the real tools, against this host (nft -c, vtysh -C). Change nothing. */
export async function checkRelease(runner: Runner, l: Layout, r: Release, from: Release | null = null, early?: Promise<boolean>, earlyWhole?: Promise<WholeNftCheck>): Promise<void> {
  const nft = file(r, NFT_FILE);
  // The tenants whose generated lines differ (by their digests): all the sections can tell. No plan impact needed here.
  const touched = from ? digestTouched(from, r) : [];
  // Against the release the host runs, only what changes is checked: the changed tenants' transaction with `nft -c`
  // against the live table, their frr.conf sections (with the gateway's head) with `vtysh -C`. A refusal there is
  // checked again with the whole file, so a host whose state drifted is not taken for a bad bundle.
  const nftPart = async (): Promise<Checked> => {
    const out: Checked = { problems: [] };
    if (nft && !runner.skipped('nftables') && from && (await (early ?? nftCheckDelta(runner, l, from, r, touched)))) {
      /* checked */
    } else if (nft && !runner.skipped('nftables')) {
      // Started before stage (a first apply, --full): the same bytes, checked while the release was written.
      const w = await (earlyWhole ?? nftCheckWhole(runner, fs.readFileSync(nft), nft));
      const outside = w.outside;
      if (outside) {
        out.where = whereIs(r, outside.line);
        out.problems.push(`${NFT_FILE} line ${outside.n} reaches outside table ${NFT_OWN}: ${outside.line}`);
      }
      const c = w.result;
      if (c.missing) out.problems.push('nft is not installed');
      else if (c.code !== 0) {
        const e = parseNftErrors(c.stderr)[0];
        const line = e?.line ? fs.readFileSync(nft, 'utf8').split('\n')[e.line - 1] : undefined;
        out.where = line ? whereIs(r, line) : undefined;
        out.problems.push(`nft -c rejected ${NFT_FILE}:\n${c.stderr.trim()}`);
      }
    }
    return out;
  };
  const frrPart = async (): Promise<Checked> => {
    const out: Checked = { problems: [] };
    const whole = file(r, FRR_FILE);
    if (!whole || runner.skipped('frr')) return out;
    // The very frr.conf the host runs (the manifests' sha256): it was checked when that release was applied.
    if (from && from.manifest.files[FRR_FILE]?.sha256 === r.manifest.files[FRR_FILE]?.sha256) return out;
    // A dry run changes nothing under --root: its scratch folder is a temporary one outside it, removed after.
    const dir = runner.dryRun ? fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-dry-run-')) : path.join(l.tmp, 'vtysh');
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      fs.writeFileSync(path.join(dir, 'vtysh.conf'), '');
      const part = from ? frrCheckPart(from, r, touched) : undefined;
      const frr = part !== undefined ? path.join(dir, 'changed.conf') : whole;
      if (part !== undefined && !runner.dryRun) fs.writeFileSync(frr, part, { mode: 0o600 });
      const c = await runner.run('vtysh', ['--config_dir', dir, '-C', '-f', frr]);
      if (c.missing) out.problems.push('vtysh is not installed');
      else if (c.code !== 0) {
        const m = /^line (\d+): (.*)$/m.exec(c.stdout + c.stderr);
        if (m) out.where = whereIs(r, fs.readFileSync(frr, 'utf8').split('\n')[Number(m[1]) - 1] ?? '');
        out.problems.push(`vtysh -C rejected ${FRR_FILE}:\n${(c.stdout + c.stderr).trim()}`);
      }
    } finally {
      if (runner.dryRun) fs.rmSync(dir, { recursive: true, force: true });
    }
    return out;
  };
  // nft and vtysh check at the same time (each reads a whole file for seconds on a first apply of thousands of
  // tenants); a dry run echoes them in order. nft's problems come first, and its line names the tenant when it has one.
  const [n, f] = runner.dryRun ? [await nftPart(), await frrPart()] : await Promise.all([nftPart(), frrPart()]);
  const problems = [...n.problems, ...f.problems];
  if (problems.length) throw new StepError('check', `the release fails its checks; the host was not changed`, problems.join('\n'), n.where ?? f.where);
}

/** What one of check's tools found: its problems and the tenant line the first maps to. */
interface Checked {
  problems: string[];
  where?: string;
}

/**
 * Whether the incremental transaction can stand for the whole file in check: true when there is none (the same file,
 * or no tenant line changed) or it stays inside s2sgw's table; false when only the whole file can be checked (the
 * table's skeleton changed, or a line reaches outside the table: the whole-file check says where). The transaction
 * is not given to `nft -c` (a second read of the whole ruleset, 0.1 s of CPU at 10,000 tenants): reload-nftables'
 * `nft -f` checks it as it loads it, all-or-nothing, and a refusal there rolls the switch back with the table as it
 * was (test/apply-incremental.test.ts). A dry run still runs `nft -c` (echoed).
 */
async function nftCheckDelta(runner: Runner, l: Layout, from: Release, to: Pick<Release, 'dir' | 'manifest' | 'patched'>, touched: string[], read?: (p: string) => Buffer | undefined): Promise<boolean> {
  const a = src(from, NFT_FILE);
  const b = src(to, NFT_FILE, read);
  if (!a || !b) return false;
  // The same file (by the manifests' sha256): no transaction, and neither 20 MB file needs reading (a change of
  // routes, proposals or addresses leaves s2sgw.nft alone: reading and hashing both copies was 0.3 s at 10,000 tenants).
  if (a.sha === b.sha) return true;
  const plan = memo('nft', a, b, touched, () => nftPlanOf(from, to, a, b, touched));
  if (plan.headChanged) return false;
  if (!plan.script) return true;
  // A transaction reaching outside s2sgw's table: the whole-file check says where.
  if (nftOutsideOwnTable(plan.script)) return false;
  if (runner.dryRun) return (await runner.run('nft', ['-c', '-f', path.join(l.tmp, 'incremental.nft')])).code === 0;
  return true;
}

/**
 * Plans the incremental transaction from the verified bundle (its bytes as verify read them), before stage: the same
 * transaction is what reload-nftables later runs (the plan is keyed by the files' sha256). Resolves to false when
 * only the whole file can be checked (check then runs nft -c on it).
 */
export function startNftCheck(runner: Runner, l: Layout, from: Release | null, bundle: Pick<Release, 'dir' | 'manifest'>, read: (p: string) => Buffer | undefined, patched?: (p: string) => PatchedFile | undefined): Promise<boolean> | undefined {
  if (!from || runner.dryRun || runner.skipped('nftables') || !bundle.manifest.files[NFT_FILE]) return undefined;
  return nftCheckDelta(runner, l, from, { ...bundle, patched }, digestTouched(from, bundle), read).catch(() => false);
}

/** `nft -c` of a whole nftables file, unless a line reaches outside s2sgw's table (then nothing is run). */
export interface WholeNftCheck {
  outside?: { n: number; line: string };
  result: { code: number; stderr: string; missing?: boolean };
}

async function nftCheckWhole(runner: Runner, bytes: Buffer, f: string): Promise<WholeNftCheck> {
  // The file may touch only s2sgw's own table: nft -c would accept a `delete table ip filter` as well.
  const outside = nftOutsideOwnTable(bytes.toString('utf8'));
  if (outside) return { outside, result: { code: 0, stderr: '' } };
  return { result: await runner.run('nft', ['-c', '-f', f]) };
}

/**
 * check's `nft -c` of the whole file, started before stage when there is no incremental transaction (a first apply,
 * --full): at 2,000 tenants nft reads the file for seconds, which now overlap resolving the secrets and staging.
 * The verified bytes go to a scratch file under the state folder (0600), so what nft checks is what stage writes.
 * Logged under check (a fault injected at check fails it as before). Undefined when check must run it itself.
 */
export function startNftCheckWhole(runner: Runner, l: Layout, bundle: Pick<Release, 'manifest'>, read: (p: string) => Buffer | undefined): Promise<WholeNftCheck> | undefined {
  if (runner.dryRun || runner.skipped('nftables') || !bundle.manifest.files[NFT_FILE]) return undefined;
  const view = Object.create(runner) as Runner;
  view.step = 'check';
  try {
    const bytes = read(NFT_FILE);
    if (!bytes) return undefined;
    fs.mkdirSync(l.tmp, { recursive: true, mode: 0o700 });
    const f = path.join(l.tmp, 'check-whole.nft');
    fs.writeFileSync(f, bytes, { mode: 0o600 });
    return nftCheckWhole(view, bytes, f).catch((e) => ({ result: { code: 1, stderr: (e as Error).message } }));
  } catch {
    // check runs it itself (and reports what fails there).
    return undefined;
  }
}

/** The part of the new frr.conf worth a syntax check: the head and the changed tenants' sections (undefined: the whole file). */
function frrCheckPart(from: Release, to: Release, touched: string[]): string | undefined {
  const a = src(from, FRR_FILE);
  const b = src(to, FRR_FILE);
  if (!a || !b) return undefined;
  const plan = memo('frr', a, b, touched, () => frrPlanOf(from, to, a, b, touched));
  if (plan.headChanged) return undefined;
  // The texts the plan was made from: the new file's head and at least the sections that differ, as in the whole file.
  const now = planTexts('frr', FRR_FILE, FRR_MARKER, from, to, a, b, touched).now;
  return headOf(now, FRR_MARKER) + plan.tenants.map((t) => sectionOf(now, FRR_MARKER, t)).join('');
}

/** Tenants added, removed, or whose per-tenant digest (over their generated lines) moved. */
export function digestTouched(from: Pick<Release, 'manifest'>, to: Pick<Release, 'manifest'>): string[] {
  // Asked by plan-nft, secrets and check for the same two manifests: 2 x 10,000 entries each time.
  const a = from.manifest.tenants;
  const b = to.manifest.tenants;
  let byB = touchedOf.get(a);
  if (!byB) touchedOf.set(a, (byB = new WeakMap()));
  let out = byB.get(b);
  if (!out) byB.set(b, (out = touchedUncached(a, b)));
  return [...out];
}

const touchedOf = new WeakMap<object, WeakMap<object, readonly string[]>>();

function touchedUncached(a: Release['manifest']['tenants'], b: Release['manifest']['tenants']): string[] {
  // No set or sort of 10,000 names: only the few that differ are collected and sorted.
  const out: string[] = [];
  for (const t in a) if (a[t].digest !== b[t]?.digest) out.push(t);
  for (const t in b) if (!(t in a)) out.push(t);
  return out.sort();
}
