// apply, rollback, confirm and crash recovery: the ordered, journaled switch between two releases, undone on any failure.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Runner, StepError } from './runner';
import { acquire, HostLock } from './host-lock';
import { Layout, layout, Pending, readPending, readState, writeState } from './layout';
import { Journal, JournalWriter, readJournal } from './journal';
import { checkRelease, health, startNftCheck, Step, STEPS, StepContext } from './steps';
import { changeSet } from './change-set';
import { abortStage, beginStage, checkPrivateKey, contentOf, openRelease, pruneReleases, Release, resolveSecrets, SECRETS_REFS, stage, verifyBundle } from './release';
import { liveContents, switchTo } from './live';
import { PRIVATE_REFS_PATH } from '../targets/strongswan/host';
import { removeDurable, writeDurable } from './fsx';
import { childEnv } from '../env';
import { embedded } from '../embedded';

export interface Outcome {
  code: 0 | 1;
  release?: string | null;
  error?: StepError;
  /** Set when a failure was undone: the host is back on this release. */
  rolledBackTo?: string | null;
}

export interface ApplyRequest {
  bundle: string;
  env: NodeJS.ProcessEnv;
  dryRun?: boolean;
  full?: boolean;
  confirmSeconds?: number;
  /** How long a second apply waits for the lock before it gives up naming the holder. */
  lockWaitMs?: number;
  say: (line: string) => void;
}

export const DEFAULT_LOCK_WAIT_MS = 60_000;

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

function context(runner: Runner, l: Layout, from: Release | null, to: Release | null, full: boolean, say: (s: string) => void): StepContext {
  const live = runner.dryRun ? liveContents(l, runner, to) : undefined;
  return {
    runner,
    l,
    from,
    to,
    cs: changeSet(from, to),
    full,
    say,
    liveExists: (host) => (live ? live.get(host)?.content !== undefined : fs.existsSync(runner.host(host))),
  };
}

/** The ordered switch: live files, then every reload step, then the health check. Throws the first failure. */
async function reloadAll(ctx: StepContext, journal: JournalWriter | undefined, withHealth: boolean): Promise<void> {
  const { runner, say } = ctx;
  const changed = await step(runner, journal, 'switch', () => (runner.dryRun ? [] : switchTo(ctx.l, runner, ctx.to, ctx.full ? undefined : ctx.cs.fileChanged)));
  if (runner.dryRun) say(`  switch: ${ctx.l.current} -> ${ctx.to ? `releases/${ctx.to.name}` : '(none)'}; live files rewritten by rename`);
  else if (changed.length) say(`  switch: ${changed.join(', ')}`);
  for (let i = 0; i < STEPS.length; i++) {
    const s = STEPS[i];
    if (runner.skipped(s.owner)) {
      if (runner.dryRun) say(`  ${s.name}: skipped (--skip ${s.owner})`);
      continue;
    }
    const next = STEPS[i + 1];
    if (next?.alongsidePrevious && !runner.skipped(next.owner) && !runner.dryRun) {
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

/** The commit: the journal says committed, then state, then the pending confirm (and its timer), then the journal goes. */
async function commit(l: Layout, runner: Runner, journal: JournalWriter, confirmSeconds: number | undefined): Promise<void> {
  const j = journal.j;
  runner.step = 'commit';
  journal.phase('committed');
  writeState(l, { current: j.to, previous: j.from });
  // A crash from here on is finished forward by recover(): the new release passed its health check.
  await runner.point('commit');
  armConfirm(l, runner, j.to, j.from, confirmSeconds);
  pruneReleases(l, [j.to, j.from]);
  journal.finish();
}

function armConfirm(l: Layout, runner: Runner, release: string | null, previous: string | null, confirmSeconds: number | undefined): void {
  if (confirmSeconds === undefined || release === null) return;
  const pending: Pending = { release, previous, deadline: new Date(Date.now() + confirmSeconds * 1000).toISOString(), runner: runner.options() };
  writeDurable(l.pending, JSON.stringify(pending, null, 2) + '\n', 0o600);
  pending.timerPid = armTimer(l, runner);
  writeDurable(l.pending, JSON.stringify(pending, null, 2) + '\n', 0o600);
}

/**
 * Goes back to journal.from after a failure or a crash: the same ordered reload, aimed at the old release.
 * `full` after a crash, when nobody knows which steps ran.
 */
async function revert(runner: Runner, l: Layout, journal: JournalWriter, full: boolean, say: (s: string) => void): Promise<void> {
  const j = journal.j;
  if (j.phase !== 'reverting') journal.phase('reverting');
  const from = openRelease(l, j.to);
  const to = openRelease(l, j.from);
  say(`rolling back to ${to ? `release ${to.name.slice(0, 12)}` : 'the host as it was before s2sgw'}${full ? ' (full reload)' : ''}`);
  const ctx = context(runner, l, from, to, full, say);
  await reloadAll(ctx, journal, false);
  // Back where it started: the state file still names j.from as current unless the crash came after commit.
  writeState(l, j.op === 'apply' ? { ...readState(l), current: j.from } : { current: j.from, previous: j.to });
  journal.finish();
}

/** Finishes what a crashed apply left in the journal: its switch (committed) or a rollback (anything before). */
export async function recover(runner: Runner, say: (s: string) => void): Promise<boolean> {
  const l = layout(runner);
  const j = readJournal(l);
  if (!j) return false;
  const journal = JournalWriter.resume(l, j);
  if (j.phase === 'committed') {
    say(`recovering: the last ${j.op} committed release ${j.to?.slice(0, 12)} before it stopped; finishing it`);
    writeState(l, { current: j.to, previous: j.from });
    armConfirm(l, runner, j.to, j.from, j.confirmSeconds);
    pruneReleases(l, [j.to, j.from]);
    journal.finish();
    return true;
  }
  say(`recovering: the last ${j.op} (${j.from?.slice(0, 12) ?? 'none'} -> ${j.to?.slice(0, 12) ?? 'none'}) stopped during ${j.steps.at(-1)?.step ?? 'its start'}`);
  await revert(runner, l, journal, true, say);
  return true;
}

/** Switches from the current release to `to` with a journal; undoes it on any failure. */
async function switchRelease(runner: Runner, l: Layout, op: Journal['op'], to: Release | null, full: boolean, confirmSeconds: number | undefined, say: (s: string) => void, opened?: Release | null): Promise<Outcome> {
  const state = readState(l);
  // The current release as the caller already opened it (its manifest is tens of MB at 10,000 tenants).
  const from = opened && opened.name === state.current ? opened : openRelease(l, state.current);
  const journal = runner.dryRun ? undefined : JournalWriter.start(l, { op, from: from?.name ?? null, to: to?.name ?? null, phase: 'forward', ...(confirmSeconds !== undefined ? { confirmSeconds } : {}) });
  const ctx = timed(runner, 'compare', () => context(runner, l, from, to, full || !from, say));
  const cs = ctx.cs;
  say(`${runner.dryRun ? 'would switch' : 'switching'} ${from ? from.name.slice(0, 12) : '(none)'} -> ${to ? to.name.slice(0, 12) : '(none)'}: ${cs.added.length} added, ${cs.changed.length} changed, ${cs.removed.length} removed, ${cs.untouched.length} untouched${ctx.full ? ' (full reload)' : ''}`);
  for (const t of cs.touched) say(`  tenant ${t}: ${cs.added.includes(t) ? 'added' : cs.removed.includes(t) ? 'removed' : 'changed'}`);
  if (cs.terminate.length) say(`  SAs to terminate: ${cs.terminate.join(', ')}`);
  try {
    await reloadAll(ctx, journal, true);
    if (journal) await timedAwait(runner, 'commit', () => commit(l, runner, journal, confirmSeconds));
    return { code: 0, release: to?.name ?? null };
  } catch (e) {
    const err = asStepError(e, runner.step);
    if (!journal) throw err;
    if (journal.j.phase === 'committed') {
      // Past the commit point the new release stands; only bookkeeping failed, and recover() finishes it.
      say(`after the commit: ${describeError(err)}; finishing the switch`);
      await recover(runner, say);
      return { code: 0, release: to?.name ?? null };
    }
    say(`failed: ${describeError(err)}`);
    journal.phase('reverting', `${err.step}: ${err.message}`);
    try {
      await revert(runner, l, journal, false, say);
    } catch (e2) {
      const err2 = asStepError(e2, runner.step);
      return { code: 1, error: new StepError(err.step, `${err.message}; the rollback failed too at ${err2.step}: ${err2.message} (the journal is kept: the next s2sgw apply or rollback finishes it)`, [err.tool, err2.tool].filter(Boolean).join('\n'), err.where) };
    }
    return { code: 1, error: err, rolledBackTo: from?.name ?? null };
  }
}

/** The current release for reuse (hard links at stage, incremental checks), or null when it cannot be read. */
function openReleaseQuietly(l: Layout, name: string | null): Release | null {
  try {
    return openRelease(l, name);
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
  const run = async (): Promise<Outcome> => {
    try {
      if (!runner.dryRun) await recover(runner, say);
      else if (readJournal(l)) say(`a journal is left from an interrupted apply: a real apply finishes it first`);
      const pending = readPending(l);
      if (pending && !runner.dryRun) throw new StepError('confirm', `release ${pending.release.slice(0, 12)} waits for \`s2sgw confirm\` until ${pending.deadline}: confirm or roll back before another apply`);
      // Files the current release holds unchanged are neither read nor hashed again: stage links them.
      const current = runner.dryRun ? null : timed(runner, 'current', () => openReleaseQuietly(l, readState(l).current));
      const bundle = await step(runner, undefined, 'verify', () => verifyBundle(path.resolve(req.bundle), { reuse: current }));
      // check's nft -c runs in its own process while this one resolves secrets and stages.
      const early = req.full ? undefined : timed(runner, 'plan-nft', () => startNftCheck(runner, l, current, bundle, (p) => contentOf(bundle, p)));
      // So does staging: libuv's threads write the bundle's files into a temporary release folder meanwhile.
      const staging = runner.dryRun ? undefined : beginStage(bundle, l, runner, current);
      let secrets: string;
      try {
        secrets = await step(runner, undefined, 'secrets', () => {
          checkPrivateKey(contentOf(bundle, PRIVATE_REFS_PATH)?.toString('utf8'), runner);
          return resolveSecrets(contentOf(bundle, SECRETS_REFS)?.toString('utf8'), req.env, runner);
        });
      } catch (e) {
        await abortStage(staging);
        throw e;
      }
      const release = runner.dryRun
        ? { name: bundle.digest, dir: bundle.dir, manifest: bundle.manifest, flat: true }
        : await step(runner, undefined, 'stage', () => stage(bundle, secrets, l, runner, current, staging));
      say(`bundle ${bundle.manifest.gateway} ${bundle.digest.slice(0, 12)}: verified, secrets resolved${runner.dryRun ? '' : `, staged as ${path.relative(runner.root, release.dir)}`}`);
      await step(runner, undefined, 'check', () => checkRelease(runner, l, release, req.full ? null : current, early));
      const state = readState(l);
      if (state.current === release.name && !req.full) {
        say('already applied: nothing to do');
        return { code: 0, release: release.name };
      }
      return await switchRelease(runner, l, 'apply', release, !!req.full, req.confirmSeconds, say, current);
    } catch (e) {
      return { code: 1, error: asStepError(e, runner.step) };
    }
  };
  if (runner.dryRun) {
    runner.echo = say;
    return run();
  }
  try {
    return await withLock(runner, `apply --bundle ${req.bundle}`, req.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS, run);
  } catch (e) {
    return { code: 1, error: asStepError(e, 'lock') };
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

/** `s2sgw rollback`: back to the previous release (or, with `expect`, only if that release is still the current one). */
export async function rollback(runner: Runner, opts: { say: (s: string) => void; lockWaitMs?: number; expect?: string; op?: Journal['op'] }): Promise<Outcome> {
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
      const to = openRelease(l, state.previous);
      const out = await switchRelease(runner, l, opts.op ?? 'rollback', to, false, undefined, opts.say);
      if (out.code === 0) {
        writeState(l, { current: state.previous, previous: state.current });
        removeDurable(l.pending);
        stopTimer(pending);
      }
      return out;
    });
  } catch (e) {
    return { code: 1, error: asStepError(e, 'rollback') };
  }
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
