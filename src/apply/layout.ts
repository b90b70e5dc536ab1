// Where apply keeps things on the host (all under --root), and the small state files it reads back.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readIfExists, writeDurable } from './fsx';
import type { Runner } from './runner';

export const STATE_DIR = '/var/lib/s2sgw';

export interface Layout {
  state: string;
  releases: string;
  /** Folders of per-tenant connection files that releases share (release.ts: stage). */
  shards: string;
  current: string;
  journal: string;
  stateFile: string;
  pending: string;
  /** The last apply's result, time and duration (for `s2sgw metrics`). */
  lastApply: string;
  baseline: string;
  /** What switch last wrote to each live file it copies (live.ts: the manifest's sha256 and the file's stat then). */
  liveStamps: string;
  tmp: string;
}

export function layout(r: Pick<Runner, 'host'>): Layout {
  const s = r.host(STATE_DIR);
  return {
    state: s,
    releases: path.join(s, 'releases'),
    shards: path.join(s, 'shards'),
    current: path.join(s, 'current'),
    journal: path.join(s, 'journal.json'),
    stateFile: path.join(s, 'state.json'),
    pending: path.join(s, 'pending-confirm.json'),
    lastApply: path.join(s, 'last-apply.json'),
    baseline: path.join(s, 'baseline'),
    liveStamps: path.join(s, 'live-stamps.json'),
    tmp: path.join(s, 'tmp'),
  };
}

/** One time a release became current, and by which command. */
export interface HistoryEntry {
  release: string;
  at: string;
  op: 'apply' | 'rollback' | 'confirm-timeout' | 'recover';
}

/**
 * What is applied: the current release's name (folder under releases/), the one before it, and the history of
 * releases that were current, oldest first, the last being `current`. A plain rollback goes to the entry before
 * the last and drops the last (so a second rollback goes further back, never forth again).
 */
export interface State {
  current: string | null;
  previous: string | null;
  history: HistoryEntry[];
}

export function readState(l: Layout): State {
  const text = readIfExists(l.stateFile);
  const s = text ? (JSON.parse(text) as Partial<State>) : {};
  const current = s.current ?? null;
  const previous = s.previous ?? null;
  // A state file written before history was kept: its two names are the history.
  const history = s.history ?? [previous, current].filter((n): n is string => n !== null).map((release) => ({ release, at: '', op: 'apply' as const }));
  return { current, previous, history };
}

export function writeState(l: Layout, s: Pick<State, 'current' | 'history'>): void {
  // `previous` stays in the file for readers of the older format; it is the history's entry before the last.
  const previous = s.history.length >= 2 && s.history.at(-1)?.release === s.current ? s.history.at(-2)!.release : null;
  writeDurable(l.stateFile, JSON.stringify({ current: s.current, previous, history: s.history }, null, 2) + '\n', 0o600);
}

/** The history after `release` became current by `op`: rolled back to an entry it holds (what followed is dropped), else appended. */
export function historyTo(history: HistoryEntry[], release: string | null, op: HistoryEntry['op'], back: boolean): HistoryEntry[] {
  if (release === null) return [];
  if (history.at(-1)?.release === release) return history;
  if (back) {
    for (let i = history.length - 2; i >= 0; i--) if (history[i].release === release) return history.slice(0, i + 1);
  }
  return [...history, { release, at: new Date().toISOString(), op }];
}

/** The release `current` points at, or null. */
export function currentLink(l: Layout): string | null {
  try {
    return path.basename(fs.readlinkSync(l.current));
  } catch {
    return null;
  }
}

/** A confirm that apply --confirm is waiting for. */
export interface Pending {
  release: string;
  previous: string | null;
  deadline: string;
  timerPid?: number;
  runner: import('./runner').RunnerOptions;
}

export function readPending(l: Layout): Pending | undefined {
  const t = readIfExists(l.pending);
  return t ? (JSON.parse(t) as Pending) : undefined;
}
