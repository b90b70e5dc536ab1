// apply, rollback, confirm and crash recovery: the ordered, journaled switch between two releases, undone on any failure.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Runner, StepError } from './runner';
import { acquire, HostLock } from './host-lock';
import { HistoryEntry, historyTo, Layout, layout, Pending, readPending, readState, writeState } from './layout';
import { Journal, JournalWriter, readJournal } from './journal';
import { checkOwnership, checkRelease, digestTouched, health, prefetchSwanOwnership, startNftCheck, startNftCheckWhole, startNftProbe, Step, STEPS, StepContext, SwanOwnershipPrefetch } from './steps';
import { changeSet } from './change-set';
import { abortStage, beginStage, checkPrivateKey, contentOf, openRelease, patchedOf, planPrune, PriorSecrets, pruneReleases, readReleaseBytes, readReleaseFile, Release, resolveSecrets, SECRETS_CONF, SECRETS_REFS, stage, VerifiedBundle, verifyBundle } from './release';
import { liveContents, switchTo } from './live';
import { PRIVATE_REFS_PATH } from '../targets/strongswan/host';
import type { Manifest } from '../bundle/manifest';
import { removeDurable, Syncs, writeDurable, writeWhole } from './fsx';
import { childEnv } from '../util/env';
import { checkTrust, describeProvenance, Provenance, recordGateway } from './trust';
import { SIGNATURE } from './signature';
import { rememberRelease } from './audit';
import { embedded } from '../util/embedded';

export interface Outcome {
  code: 0 | 1;
  release?: string | null;
  error?: StepError;
  /** Set when a failure was undone: the host is back on this release. */
  rolledBackTo?: string | null;
  /** apply: where the bundle came from (gateway, commit, signer), once checked. */
  provenance?: Provenance;
}

export interface ApplyRequest {
  bundle: string;
  env: NodeJS.ProcessEnv;
  /** The gateway this host is (`--gateway`); else /etc/s2sgw/gateway or the name its first apply recorded. */
  gateway?: string;
  dryRun?: boolean;
  full?: boolean;
  confirmSeconds?: number;
  /** How long a second apply waits for the lock before it gives up naming the holder. */
  lockWaitMs?: number;
  /** Releases kept on the host after the commit (current, previous and an unconfirmed one always are). */
  keep?: number;
  /**
   * `--peer-first`: for a rekey-class change of a connection the gateway starts, how long (ms) the peer has to initiate
   * the new connection before the gateway does (StepContext.peerFirstMs; 0 or unset: at once). Not for a rollback.
   */
  peerFirstMs?: number;
  say: (line: string) => void;
}

export const DEFAULT_LOCK_WAIT_MS = 60_000;
export const DEFAULT_KEEP = 5;

/** Formats a failure as apply prints it: the step, the tool's own message, and the tenant line it maps to. */
export function describeError(e: StepError): string {
  return [`step ${e.step}: ${e.message}`, ...(e.where ? [`  maps to: ${e.where}`] : []), ...(e.tool ? e.tool.split('\n').map((l) => `  | ${l}`) : [])].join('\n');
}

function asStepError(e: unknown, step: string): StepError {
  if (e instanceof StepError) return e;
  const err = e as NodeJS.ErrnoException;
  return new StepError(step, err.code === 'ENOSPC' ? 'the disk is full' : 'unexpected error', err.message);
}

/** Times work between the steps (reading the current release, planning, comparing): not journaled, no commands. */
function timed<T>(runner: Runner, name: string, fn: () => T): T {
  const t0 = performance.now();
  try {
    return fn();
  } finally {
    runner.timings.push({ step: name, ms: performance.now() - t0 });
  }
}

/** timed() for work that is awaited (the commit). */
async function timedAwait<T>(runner: Runner, name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    runner.timings.push({ step: name, ms: performance.now() - t0 });
  }
}

/** Runs one journaled step: "begin" is durable before it acts, "done" after; kill faults fire between its action and "done". */
async function step<T>(runner: Runner, journal: JournalWriter | undefined, name: string, fn: () => Promise<T> | T): Promise<T> {
  runner.step = name;
  journal?.mark(name, 'begin');
  const t0 = performance.now();
  try {
    const r = await fn();
    await runner.point(name);
    journal?.mark(name, 'done');
    return r;
  } catch (e) {
    throw asStepError(e, name);
  } finally {
    runner.timings.push({ step: name, ms: performance.now() - t0 });
  }
}

function context(runner: Runner, l: Layout, from: Release | null, to: Release | null, full: boolean, say: (s: string) => void, peerFirstMs = 0): StepContext {
  const live = runner.dryRun ? liveContents(l, runner, to) : undefined;
  return {
    runner,
    l,
    from,
    to,
    cs: changeSet(from, to),
    full,
    say,
    peerFirstMs,
    liveExists: (host) => (live ? live.get(host)?.content !== undefined || !!live.get(host)?.link : fs.existsSync(runner.host(host))),
    proven: {},
  };
}

/**
 * The ordered switch: live files, then every reload step, then the health check. Throws the first failure.
 * `leaveAlone`: owners whose steps do not run (a rollback's: what the failed switch proved it never changed).
 * `later`: the switch's fsyncs go there (a forward apply's: see Syncs); they run beside the reload steps, and the
 * promise returned settles when they are done (the commit awaits it).
 */
async function reloadAll(ctx: StepContext, journal: JournalWriter | undefined, withHealth: boolean, leaveAlone: ReadonlySet<string> = new Set(), later?: Syncs): Promise<Promise<void>> {
  const { runner, say } = ctx;
  const changed = await step(runner, journal, 'switch', () => (runner.dryRun ? [] : switchTo(ctx.l, runner, ctx.to, ctx.full ? undefined : ctx.cs.fileChanged, later)));
  // A live file still being copied (Syncs.copy) is awaited by the steps that read live files (FRR's).
  if (later) ctx.liveReady = later.copied();
  const synced = later?.size ? later.flush() : Promise.resolve();
  // Awaited by the commit; a failure before it leaves the syncs to the rollback's own durable switch.
  synced.catch(() => undefined);
  if (runner.dryRun) say(`  switch: ${ctx.l.current} -> ${ctx.to ? `releases/${ctx.to.name}` : '(none)'}; the live links into it switch with it, the other live files rewritten by rename`);
  else if (changed.length) say(`  switch: ${changed.join(', ')}`);
  for (let i = 0; i < STEPS.length; i++) {
    const s = STEPS[i];
    if (leaveAlone.has(s.owner)) {
      say(`  ${s.name}: left alone (the failed switch did not change it)`);
      continue;
    }
    if (runner.skipped(s.owner)) {
      if (runner.dryRun) say(`  ${s.name}: skipped (--skip ${s.owner})`);
      continue;
    }
    const next = STEPS[i + 1];
    if (next?.alongsidePrevious && !runner.skipped(next.owner) && !leaveAlone.has(next.owner) && !runner.dryRun) {
      await together(ctx, journal, [next, s]);
      i++;
      continue;
    }
    if (runner.dryRun) say(`  ${s.name}:`);
    const ran = await step(runner, journal, s.name, () => s.run(ctx));
    if (!ran && runner.dryRun) say('    (nothing to do)');
  }
  if (withHealth && !runner.dryRun) await step(runner, journal, 'health', () => health(ctx));
  else if (withHealth) say('  health: daemons answer, loaded connections = bundle, VRFs with their tables');
  return synced;
}

/**
 * Runs steps at the same time, each journaled as usual and each with its own view of the runner (so commands and
 * faults are logged under the right step). Waits for all of them; then throws the first failure in `steps` order.
 */
async function together(ctx: StepContext, journal: JournalWriter | undefined, steps: Step[]): Promise<void> {
  const runs = steps.map((s) => {
    const view = Object.create(ctx.runner) as Runner;
    return step(view, journal, s.name, () => s.run({ ...ctx, runner: view }));
  });
  const results = await Promise.allSettled(runs);
  ctx.runner.step = steps[steps.length - 1].name;
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

/** Arms the confirm timer: a detached process that rolls back at the deadline unless `s2sgw confirm` removed the pending file. */
export function armTimer(l: Layout, runner: Runner): number | undefined {
  // From dist/ node runs the timer's script; the single executable runs itself with the arguments it embeds.
  const args = [...(embedded.timerArgs ?? [path.join(__dirname, 'confirm-timer.js')]), runner.root];
  const log = runner.host('/var/log/s2sgw/confirm-timer.log');
  fs.mkdirSync(path.dirname(log), { recursive: true });
  const fd = fs.openSync(log, 'a');
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', fd, fd], env: { ...childEnv(), S2SGW_FAULTS: '' } });
  fs.closeSync(fd);
  child.unref();
  return child.pid;
}

/**
 * The commit: the journal says committed, then state, then the pending confirm (and its timer), then the journal goes.
 * journal.json and state.json share a folder: the phase's rename is made durable by state.json's folder fsync (before
 * it, a crash leaves the journal forward or committed with the state old or new: the first rolls back, the second
 * finishes forward, both whole). The state written holds the history already pruned (planPrune), so pruning after
 * it does not write the state file a second time.
 */
async function commit(l: Layout, runner: Runner, journal: JournalWriter, confirmSeconds: number | undefined): Promise<void> {
  const j = journal.j;
  runner.step = 'commit';
  journal.phase('committed', undefined, false);
  const keep = j.keep ?? DEFAULT_KEEP;
  const prune = planPrune(l, [j.to, j.from], keep, { current: j.to, history: committedHistory(l, j) });
  writeState(l, { current: j.to, history: prune.history });
  // A crash from here on is finished forward by recover(): the new release passed its health check.
  await runner.point('commit');
  armConfirm(l, runner, j.to, j.from, confirmSeconds);
  pruneReleases(l, [j.to, j.from], keep, prune);
  journal.finish();
}

/** The history a committed switch leaves (journals written before history was kept: the target appended). */
function committedHistory(l: Layout, j: Journal): HistoryEntry[] {
  return j.history ?? historyTo(readState(l).history, j.to, j.op === 'apply' ? 'apply' : 'rollback', j.op !== 'apply');
}

function armConfirm(l: Layout, runner: Runner, release: string | null, previous: string | null, confirmSeconds: number | undefined, timer = true): void {
  if (confirmSeconds === undefined || release === null) return;
  const pending: Pending = { release, previous, deadline: new Date(Date.now() + confirmSeconds * 1000).toISOString(), runner: runner.options() };
  writeDurable(l.pending, JSON.stringify(pending, null, 2) + '\n', 0o600);
  // At boot (recover, files only) no timer: the release was never confirmed and recover rolls it back right after.
  if (!timer) return;
  pending.timerPid = armTimer(l, runner);
  writeDurable(l.pending, JSON.stringify(pending, null, 2) + '\n', 0o600);
}

/**
 * Goes back to journal.from after a failure or a crash: the same ordered reload, aimed at the old release.
 * `full` after a crash, when nobody knows which steps ran. `leaveAlone`: owners the failed switch left as they were
 * (nftables when nft refused its transactions: each `nft -f` is all-or-nothing), whose steps the rollback skips.
 */
async function revert(runner: Runner, l: Layout, journal: JournalWriter, full: boolean, say: (s: string) => void, filesOnly = false, leaveAlone?: ReadonlySet<string>): Promise<void> {
  const j = journal.j;
  if (j.phase !== 'reverting') journal.phase('reverting');
  const from = openRelease(l, j.to);
  const to = openRelease(l, j.from);
  say(`rolling back to ${to ? `release ${to.name.slice(0, 12)}` : 'the host as it was before s2sgw'}${filesOnly ? ' (files only: the daemons start from them)' : full ? ' (full reload)' : ''}`);
  if (filesOnly) await step(runner, journal, 'switch', () => switchTo(l, runner, to));
  else await reloadAll(context(runner, l, from, to, full, say), journal, false, leaveAlone);
  // Back where it started: the state file still names j.from as current unless the crash came after commit.
  const s = readState(l);
  writeState(l, { current: j.from, history: s.current === j.from ? s.history : historyTo(s.history, j.from, 'recover', true) });
  journal.finish();
}

/** Finishes what a crashed apply left in the journal: its switch (committed) or a rollback (anything before). */
export async function recover(runner: Runner, say: (s: string) => void, filesOnly = false): Promise<boolean> {
  const l = layout(runner);
  const j = readJournal(l);
  if (!j) return false;
  const journal = JournalWriter.resume(l, j);
  if (j.phase === 'committed') {
    say(`recovering: the last ${j.op} committed release ${j.to?.slice(0, 12)} before it stopped; finishing it`);
    writeState(l, { current: j.to, history: committedHistory(l, j) });
    armConfirm(l, runner, j.to, j.from, j.confirmSeconds, !filesOnly);
    pruneReleases(l, [j.to, j.from], j.keep ?? DEFAULT_KEEP);
    journal.finish();
    return true;
  }
  say(`recovering: the last ${j.op} (${j.from?.slice(0, 12) ?? 'none'} -> ${j.to?.slice(0, 12) ?? 'none'}) stopped during ${j.steps.at(-1)?.step ?? 'its start'}`);
  await revert(runner, l, journal, true, say, filesOnly);
  return true;
}

/** Whether the confirm timer a pending confirm names still runs (it does not after a reboot). */
function timerAlive(p: Pending): boolean {
  try {
    return !!p.timerPid && fs.readFileSync(`/proc/${p.timerPid}/cmdline`, 'utf8').includes('confirm-timer');
  } catch {
    return false;
  }
}

/**
 * `s2sgw recover`, at boot before strongSwan and FRR start (or on a running host with `reload`): finishes or rolls
 * back what a crashed apply left in the journal, then rolls back a release still waiting for its confirm whose
 * deadline passed or whose timer is gone (always so at boot: nobody would roll it back). Without `reload` only files
 * change (the `current` link, the live files, state.json): the daemons and networkd read them when they start.
 * Idempotent; with no state at all it does nothing.
 */
export async function recoverHost(runner: Runner, opts: { say: (s: string) => void; lockWaitMs?: number; reload?: boolean }): Promise<Outcome> {
  const l = layout(runner);
  const say = opts.say;
  // A host s2sgw never applied to has nothing to recover: not even the lock file is made (recover runs at every boot).
  if (!fs.existsSync(l.state)) {
    say('nothing to recover');
    return { code: 0 };
  }
  try {
    return await withLock(runner, 'recover', opts.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS, async () => {
      const finished = await recover(runner, say, !opts.reload);
      const state = readState(l);
      const pending = readPending(l);
      if (pending && pending.release !== state.current) {
        removeDurable(l.pending);
        say(`removed a stale confirm for release ${pending.release.slice(0, 12)} (not the current one)`);
      } else if (pending) {
        const late = Date.parse(pending.deadline) <= Date.now();
        if (!late && timerAlive(pending)) {
          say(`release ${pending.release.slice(0, 12)} waits for \`s2sgw confirm\` until ${pending.deadline}; its timer runs: left alone`);
          return { code: 0, release: state.current };
        }
        say(`release ${pending.release.slice(0, 12)} was never confirmed (${late ? `deadline ${pending.deadline} passed` : 'its confirm timer is gone'}): rolling back`);
        stopTimer(pending);
        const target = state.history.at(-2)?.release ?? null;
        const out = opts.reload ? await switchRelease(runner, l, 'confirm-timeout', openRelease(l, target), true, undefined, say) : await switchFiles(runner, l, 'confirm-timeout', openRelease(l, target), say);
        if (out.code === 0) removeDurable(l.pending);
        return out;
      }
      if (!finished) say('nothing to recover');
      return { code: 0, release: state.current };
    });
  } catch (e) {
    return { code: 1, error: asStepError(e, 'recover') };
  }
}

/** A journaled switch of the files only (boot: the daemons are not running yet), committed like any switch. */
async function switchFiles(runner: Runner, l: Layout, op: Journal['op'], to: Release | null, say: (s: string) => void): Promise<Outcome> {
  const state = readState(l);
  const journal = JournalWriter.start(l, { op, from: state.current, to: to?.name ?? null, phase: 'forward', history: historyTo(state.history, to?.name ?? null, op === 'apply' ? 'apply' : op, true) });
  try {
    const changed = await step(runner, journal, 'switch', () => switchTo(l, runner, to));
    say(`switched to ${to ? `release ${to.name.slice(0, 12)}` : 'the host as it was before s2sgw'}${changed.length ? `: ${changed.join(', ')}` : ''}`);
    await commit(l, runner, journal, undefined);
    return { code: 0, release: to?.name ?? null };
  } catch (e) {
    const err = asStepError(e, runner.step);
    if (journal.j.phase === 'committed') {
      await recover(runner, say, true);
      return { code: 0, release: to?.name ?? null };
    }
    // The journal stays: the next recover (or apply) finishes going back.
    return { code: 1, error: err };
  }
}

/** Switches from the current release to `to` with a journal; undoes it on any failure. */
async function switchRelease(runner: Runner, l: Layout, op: Journal['op'], to: Release | null, full: boolean, confirmSeconds: number | undefined, say: (s: string) => void, opened?: Release | null, keep?: number, peerFirstMs = 0, swanPrefetch?: SwanOwnershipPrefetch): Promise<Outcome> {
  const state = readState(l);
  // The current release as the caller already opened it (its manifest is tens of MB at 10,000 tenants).
  const from = opened && opened.name === state.current ? opened : openRelease(l, state.current);
  // apply appends to the history; a rollback goes back to the target's last entry (or appends one it no longer holds).
  const history = historyTo(state.history, to?.name ?? null, op === 'apply' ? 'apply' : op, op !== 'apply');
  const ctx = timed(runner, 'compare', () => context(runner, l, from, to, full || !from, say, peerFirstMs));
  if (from === opened) ctx.swanPrefetch = swanPrefetch;
  const cs = ctx.cs;
  // health's nft probe, when this switch leaves s2sgw.nft as the host has it: from here on, beside ownership, the
  // switch and the reload steps (its process start and nft's read were most of a hitless change's health step).
  startNftProbe(ctx);
  // Host objects of the same names that s2sgw did not make: refused before the journal starts, so nothing changed.
  await step(runner, undefined, 'ownership', () => checkOwnership(ctx));
  const journal = runner.dryRun
    ? undefined
    : JournalWriter.start(l, { op, from: from?.name ?? null, to: to?.name ?? null, phase: 'forward', history, ...(keep !== undefined ? { keep } : {}), ...(confirmSeconds !== undefined ? { confirmSeconds } : {}) });
  say(`${runner.dryRun ? 'would switch' : 'switching'} ${from ? from.name.slice(0, 12) : '(none)'} -> ${to ? to.name.slice(0, 12) : '(none)'}: ${cs.added.length} added, ${cs.changed.length} changed, ${cs.removed.length} removed, ${cs.untouched.length} untouched${ctx.full ? ' (full reload)' : ''}`);
  for (const t of cs.touched) say(`  tenant ${t}: ${cs.added.includes(t) ? 'added' : cs.removed.includes(t) ? 'removed' : 'changed'}`);
  if (cs.terminate.length) say(`  SAs to terminate: ${cs.terminate.join(', ')}`);
  // The switch's copies and fsyncs, made beside the reload steps (a forward switch's; not a dry run's).
  const later = journal ? new Syncs() : undefined;
  try {
    // The live files are on disk before the commit point: the switch's fsyncs, made meanwhile, are awaited first.
    const synced = await reloadAll(ctx, journal, true, undefined, later);
    if (journal)
      await timedAwait(runner, 'commit', async () => {
        runner.step = 'commit';
        await synced;
        return commit(l, runner, journal, confirmSeconds);
      });
    return { code: 0, release: to?.name ?? null };
  } catch (e) {
    const err = asStepError(e, runner.step);
    if (!journal) throw err;
    // A live file still being copied lands before anything is written back over it.
    await later?.copied();
    if (journal.j.phase === 'committed') {
      // Past the commit point the new release stands; only bookkeeping failed, and recover() finishes it.
      say(`after the commit: ${describeError(err)}; finishing the switch`);
      await recover(runner, say);
      return { code: 0, release: to?.name ?? null };
    }
    say(`failed: ${describeError(err)}`);
    journal.phase('reverting', `${err.step}: ${err.message}`);
    try {
      // nft refused both its transactions: the table never changed, and loading the old release's delta (which
      // deletes what was never added) would be refused in turn and fall back to the whole file: seconds, for nothing.
      await revert(runner, l, journal, false, say, false, ctx.proven?.nftRefused ? new Set(['nftables']) : undefined);
    } catch (e2) {
      const err2 = asStepError(e2, runner.step);
      return { code: 1, error: new StepError(err.step, `${err.message}; the rollback failed too at ${err2.step}: ${err2.message} (the journal is kept: the next s2sgw apply or rollback finishes it)`, [err.tool, err2.tool].filter(Boolean).join('\n'), err.where) };
    }
    return { code: 1, error: err, rolledBackTo: from?.name ?? null };
  }
}

/**
 * The current release's resolved secrets, for resolving only the touched tenants' references (undefined: resolve
 * them all). Its secrets.conf is read from the state folder (root's alone, written by the apply that staged it).
 */
function priorSecrets(current: Release | null, bundle: VerifiedBundle, newRefs?: Buffer, newText?: string): PriorSecrets | undefined {
  if (!current) return undefined;
  // The same bytes as the bundle's (a change that moves no secret reference): its text, not a second 2 MB decoded
  // (10,000 tenants), and resolveSecrets sees one string and compares nothing outside the touched tenants' lines.
  const bytes = readReleaseBytes(current, SECRETS_REFS);
  const refs = bytes !== undefined && newRefs !== undefined && newText !== undefined && bytes.equals(newRefs) ? newText : bytes?.toString('utf8');
  const conf = readReleaseFile(current, SECRETS_CONF);
  if (refs === undefined || conf === undefined) return undefined;
  return { refs, conf, tenants: current.manifest.tenants, touched: digestTouched(current, bundle) };
}

/** The current release for reuse (hard links at stage, incremental checks), or null when it cannot be read. */
function openReleaseQuietly(l: Layout, name: string | null, like?: { bytes: Buffer; manifest: Manifest }): Release | null {
  try {
    return openRelease(l, name, false, like);
  } catch {
    return null;
  }
}

async function withLock<T>(runner: Runner, what: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
  let lock: HostLock | undefined;
  try {
    lock = await acquire(runner.root, what, waitMs);
    return await fn();
  } finally {
    await lock?.release();
  }
}

/** `s2sgw apply`: verify, resolve secrets, stage, check, then switch with a journal; roll back on any failure. */
export async function apply(runner: Runner, req: ApplyRequest): Promise<Outcome> {
  const l = layout(runner);
  const say = req.say;
  let prov: Provenance | undefined;
  let swanPrefetch: SwanOwnershipPrefetch | undefined;
  const run = async (): Promise<Outcome> => {
    try {
      // Before anything changes (even a crashed apply's recovery): is the bundle for this host, signed by a key it trusts?
      prov = timed(runner, 'trust', () => checkTrust(path.resolve(req.bundle), l, (p) => runner.host(p), { gateway: req.gateway, warn: say }));
      say(`bundle from ${describeProvenance(prov)}`);
      const accepted = prov;
      // A successful apply records the host's gateway name (its first) and who signed the release (for the audit).
      const done = (o: Outcome): Outcome => {
        if (o.code === 0 && !runner.dryRun && o.release) {
          recordGateway(l, (p) => runner.host(p), accepted.gateway);
          rememberRelease(l, o.release, accepted, path.resolve(req.bundle));
        }
        return o;
      };
      if (!runner.dryRun) await recover(runner, say);
      else if (readJournal(l)) say(`a journal is left from an interrupted apply: a real apply finishes it first`);
      const pending = readPending(l);
      if (pending && !runner.dryRun) throw new StepError('confirm', `release ${pending.release.slice(0, 12)} waits for \`s2sgw confirm\` until ${pending.deadline}: confirm or roll back before another apply`);
      // Files the current release holds unchanged are neither read nor hashed again: stage links them.
      // The current release's manifest is made from the bundle's and the lines the two differ in (not parsed whole):
      // opened once verify parsed the bundle's, and timed within verify.
      let opened: Release | null = null;
      const openCurrent = (m: Manifest) => (opened = runner.dryRun ? null : openReleaseQuietly(l, readState(l).current, { bytes: accepted.manifestBytes, manifest: m }));
      const bundle = await step(runner, undefined, 'verify', () => verifyBundle(path.resolve(req.bundle), { reuse: openCurrent, allowExtra: [SIGNATURE], manifestBytes: accepted.manifestBytes }));
      const current = opened as Release | null;
      if (bundle.manifest.gateway !== accepted.gateway) throw new StepError('verify', `manifest.json says gateway ${bundle.manifest.gateway} in its body but ${accepted.gateway} in its head`);
      // The ownership check's questions to charon about the bundle's new connections, first: charon answers while
      // the nft transaction is planned, the secrets resolved and the release staged.
      swanPrefetch = prefetchSwanOwnership(runner, current?.manifest, bundle.manifest);
      // The incremental nft transaction, planned from the verified bytes (reload-nftables' nft -f is its check).
      const early = req.full ? undefined : timed(runner, 'plan-nft', () => startNftCheck(runner, l, current, bundle, (p) => contentOf(bundle, p), (p) => patchedOf(bundle, p)));
      // Without an incremental transaction (a first apply, --full), the whole file's nft -c: seconds at thousands of tenants.
      const earlyWhole = req.full || !current ? timed(runner, 'plan-nft', () => startNftCheckWhole(runner, l, bundle, (p) => contentOf(bundle, p))) : undefined;
      // So does staging: libuv's threads write the bundle's files into a temporary release folder meanwhile. Its start
      // (the folders, the shard links, the jobs queued: 40-50 ms of CPU when a release is staged anew at 10,000
      // tenants) is timed as stage's too: untimed, it was most of what `done in` held besides its named steps.
      const staging = runner.dryRun ? undefined : timed(runner, 'stage', () => beginStage(bundle, l, runner, current));
      let secrets: string;
      try {
        secrets = await step(runner, undefined, 'secrets', () => {
          const key = checkPrivateKey(contentOf(bundle, PRIVATE_REFS_PATH)?.toString('utf8'), runner);
          const refs = contentOf(bundle, SECRETS_REFS);
          const text = refs?.toString('utf8');
          return resolveSecrets(text, req.env, runner, { tenants: bundle.manifest.tenants, privateKey: key?.key }, req.full ? undefined : priorSecrets(current, bundle, refs, text));
        });
      } catch (e) {
        await abortStage(staging);
        throw e;
      }
      const release = runner.dryRun
        ? { name: bundle.digest, dir: bundle.dir, manifest: bundle.manifest, flat: true }
        : await step(runner, undefined, 'stage', () => stage(bundle, secrets, l, runner, current, staging));
      say(`bundle ${bundle.manifest.gateway} ${bundle.digest.slice(0, 12)}: verified, secrets resolved${runner.dryRun ? '' : `, staged as ${path.relative(runner.root, release.dir)}`}`);
      await step(runner, undefined, 'check', () => checkRelease(runner, l, release, req.full ? null : current, early, earlyWhole));
      const state = readState(l);
      if (state.current === release.name && !req.full) {
        say('already applied: nothing to do');
        return done({ code: 0, release: release.name });
      }
      return done(await switchRelease(runner, l, 'apply', release, !!req.full, req.confirmSeconds, say, current, req.keep, req.peerFirstMs, swanPrefetch));
    } catch (e) {
      return { code: 1, error: asStepError(e, runner.step) };
    } finally {
      swanPrefetch?.cancel();
    }
  };
  const withProvenance = (o: Outcome): Outcome => (prov ? { ...o, provenance: prov } : o);
  if (runner.dryRun) {
    runner.echo = say;
    return withProvenance(await run());
  }
  const started = new Date();
  let out: Outcome;
  try {
    out = withProvenance(await withLock(runner, `apply --bundle ${req.bundle}`, req.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS, run));
  } catch (e) {
    out = withProvenance({ code: 1, error: asStepError(e, 'lock') });
  }
  recordLastApply(l, started, out);
  return out;
}

/** What `s2sgw metrics` reports of the last apply: var/lib/s2sgw/last-apply.json. */
export interface LastApply {
  result: 'success' | 'failure';
  /** When it started (ISO 8601) and how long it took. */
  at: string;
  durationSeconds: number;
  release: string | null;
  step?: string;
}

function recordLastApply(l: Layout, started: Date, out: Outcome): void {
  const rec: LastApply = { result: out.code === 0 ? 'success' : 'failure', at: started.toISOString(), durationSeconds: (Date.now() - started.getTime()) / 1000, release: out.release ?? readState(l).current, ...(out.error ? { step: out.error.step } : {}) };
  try {
    // Whole, not durable (the folder is not fsynced): after a power loss `s2sgw metrics` may report the apply before.
    writeWhole(l.lastApply, JSON.stringify(rec, null, 2) + '\n', 0o600);
  } catch {
    /* bookkeeping for metrics only: never turns an apply's outcome around */
  }
}

function stopTimer(p: Pending | undefined): void {
  if (!p?.timerPid || p.timerPid === process.pid) return;
  try {
    // Only our own timer: a recycled pid must not be hit.
    if (fs.readFileSync(`/proc/${p.timerPid}/cmdline`, 'utf8').includes('confirm-timer')) process.kill(p.timerPid, 'SIGTERM');
  } catch {
    /* already gone */
  }
}

/**
 * `s2sgw rollback`: back to the release before the current one in the history (a second rollback goes further back),
 * or to `to`, any release the host keeps. With `expect`, only if that release is still the current one (the confirm timer).
 */
export async function rollback(runner: Runner, opts: { say: (s: string) => void; lockWaitMs?: number; expect?: string; op?: Journal['op']; to?: string }): Promise<Outcome> {
  const l = layout(runner);
  try {
    return await withLock(runner, 'rollback', opts.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS, async () => {
      await recover(runner, opts.say);
      const state = readState(l);
      const pending = readPending(l);
      if (opts.expect !== undefined && (state.current !== opts.expect || pending?.release !== opts.expect)) {
        opts.say('nothing to roll back: the release was confirmed or replaced');
        return { code: 0, release: state.current };
      }
      if (state.current === null) throw new StepError('rollback', 'nothing is applied on this host');
      const target = opts.to !== undefined ? findRelease(l, opts.to) : (state.history.at(-2)?.release ?? null);
      if (target === state.current) throw new StepError('rollback', `release ${target.slice(0, 12)} is already the current one`);
      const to = openRelease(l, target);
      const out = await switchRelease(runner, l, opts.op ?? 'rollback', to, false, undefined, opts.say);
      if (out.code === 0) {
        removeDurable(l.pending);
        stopTimer(pending);
      }
      return out;
    });
  } catch (e) {
    return { code: 1, error: asStepError(e, 'rollback') };
  }
}

/** A kept release by its name or a unique prefix of it (at least 6 characters, as `s2sgw releases` prints 12). */
export function findRelease(l: Layout, name: string): string {
  let names: string[] = [];
  try {
    names = fs.readdirSync(l.releases).filter((n) => !n.startsWith('.'));
  } catch {
    /* no releases yet */
  }
  if (names.includes(name)) return name;
  const hits = name.length >= 6 ? names.filter((n) => n.startsWith(name)) : [];
  if (hits.length === 1) return hits[0];
  throw new StepError('rollback', hits.length ? `release ${name} is ambiguous: ${hits.map((h) => h.slice(0, 16)).join(', ')}` : `no release ${name} on this host (\`s2sgw releases\` lists them)`);
}

/** `s2sgw confirm`: keeps the release an `apply --confirm` put on probation. */
export async function confirm(runner: Runner, opts: { say: (s: string) => void; lockWaitMs?: number }): Promise<Outcome> {
  const l = layout(runner);
  try {
    return await withLock(runner, 'confirm', opts.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS, async () => {
      await recover(runner, opts.say);
      const pending = readPending(l);
      const state = readState(l);
      if (!pending || pending.release !== state.current) {
        removeDurable(l.pending);
        throw new StepError('confirm', `no apply is waiting for a confirm (current release: ${state.current?.slice(0, 12) ?? 'none'})`);
      }
      removeDurable(l.pending);
      stopTimer(pending);
      opts.say(`confirmed release ${pending.release.slice(0, 12)}`);
      return { code: 0, release: pending.release };
    });
  } catch (e) {
    return { code: 1, error: asStepError(e, 'confirm') };
  }
}
