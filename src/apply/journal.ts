// The apply journal: one durable file recording each step before and after it, so an apply after a crash knows what to finish.
import * as fs from 'node:fs';
import { readIfExists, removeDurable, tmpSibling, writeWhole } from './fsx';
import type { Layout } from './layout';

/**
 * forward: switching from `from` to `to`, not yet committed (a crash here is rolled back to `from`);
 * reverting: going back to `from` after a failure (a crash here finishes going back);
 * committed: `to` passed its health check (a crash here finishes the switch: only bookkeeping is left).
 */
export type Phase = 'forward' | 'reverting' | 'committed';

export interface JournalEntry {
  step: string;
  at: 'begin' | 'done';
  t: string;
}

export interface Journal {
  op: 'apply' | 'rollback' | 'confirm-timeout';
  /** Release names (folders under releases/); null is the host as it was before s2sgw. */
  from: string | null;
  to: string | null;
  phase: Phase;
  /** Why a revert started: the failing step and message. */
  reason?: string;
  /** apply --confirm SECONDS: re-armed if a crash came after the commit. */
  confirmSeconds?: number;
  /** The release history state.json holds once this switch commits (written again if a crash came after the commit). */
  history?: import('./layout').HistoryEntry[];
  /** How many releases to keep when pruning after the commit. */
  keep?: number;
  steps: JournalEntry[];
}

export function readJournal(l: Layout): Journal | undefined {
  const t = readIfExists(l.journal);
  if (t === undefined) return undefined;
  try {
    return JSON.parse(t) as Journal;
  } catch {
    // writeDurable renames whole files, so a torn journal means outside damage; treat as an unfinished forward apply we cannot trust.
    throw new Error(`${l.journal} is not valid JSON: inspect it, then remove it to continue`);
  }
}

export class JournalWriter {
  constructor(
    private readonly l: Layout,
    readonly j: Journal,
  ) {}

  static start(l: Layout, j: Omit<Journal, 'steps'>): JournalWriter {
    fs.mkdirSync(l.state, { recursive: true, mode: 0o700 });
    const w = new JournalWriter(l, { ...j, steps: [] });
    w.flush();
    return w;
  }

  static resume(l: Layout, j: Journal): JournalWriter {
    return new JournalWriter(l, j);
  }

  /** Bumped by every write: a mark's write still syncing renames its file into place only if none came after it. */
  private gen = 0;
  /** Marks' temporary files still syncing (removed by the next phase or the finish). */
  private readonly syncing = new Set<string>();

  /**
   * A step's begin or end. Recovery does not depend on which steps ran (a crash before the commit is always rolled
   * back with a full reload; the phase decides, and phases are written durably): the marks are for the operator
   * (`status`, the recovery message). So a mark is written to a temporary file here, and synced and renamed into place
   * on libuv's threads while the step runs, without the folder's fsync: after a crash the journal is this version or
   * an earlier one, whole either way, never a later write undone (a mark renames only if nothing was written after it).
   * Under other programs' disk writes one fsync took up to 90 ms, on every step's path. A "done" is written with the
   * next mark or phase, not on its own: after a crash between two steps the journal names the last step begun (or one
   * before it), as after a crash inside it, and recovery does the same (one write per step, not two).
   */
  mark(step: string, at: 'begin' | 'done'): void {
    this.j.steps.push({ step, at, t: new Date().toISOString() });
    if (at === 'begin') this.flushLater();
  }

  private flushLater(): void {
    const gen = ++this.gen;
    const file = this.l.journal;
    const tmp = tmpSibling(file);
    let fd: number;
    try {
      fd = fs.openSync(tmp, 'wx', 0o600);
    } catch {
      return;
    }
    this.syncing.add(tmp);
    const done = (rename: boolean) => {
      fs.close(fd, () => undefined);
      try {
        if (rename && gen === this.gen && this.syncing.has(tmp)) fs.renameSync(tmp, file);
      } catch {
        /* the next write carries this mark */
      } finally {
        this.syncing.delete(tmp);
        fs.rmSync(tmp, { force: true });
      }
    };
    try {
      fs.writeSync(fd, JSON.stringify(this.j, null, 2) + '\n');
    } catch {
      return done(false);
    }
    fs.fsync(fd, (e) => done(!e));
  }

  /** Marks still syncing are dropped: a phase or the finish written after them stands. */
  private dropMarks(): void {
    this.gen++;
    for (const t of this.syncing) fs.rmSync(t, { force: true });
    this.syncing.clear();
  }

  /**
   * A new phase, durably; with `folderSynced` false the folder's fsync is left to the caller's next durable write in
   * the state folder (the commit's state.json: one folder fsync makes both renames durable, and a crash between the two
   * leaves a pair recovery handles either way: docs/apply.md, "Crash safety").
   */
  phase(p: Phase, reason?: string, folderSynced = true): void {
    this.j.phase = p;
    if (reason !== undefined) this.j.reason = reason;
    this.flush(folderSynced);
  }

  finish(): void {
    this.dropMarks();
    removeDurable(this.l.journal);
  }

  private flush(durable = true): void {
    this.dropMarks();
    writeWhole(this.l.journal, JSON.stringify(this.j, null, 2) + '\n', 0o600, durable);
  }
}
