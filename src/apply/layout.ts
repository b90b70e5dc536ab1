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
  baseline: string;
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
    baseline: path.join(s, 'baseline'),
    tmp: path.join(s, 'tmp'),
  };
}

/** What is applied: the current release's name (folder under releases/) and the one before it. */
export interface State {
  current: string | null;
  previous: string | null;
}

export function readState(l: Layout): State {
  const text = readIfExists(l.stateFile);
  const s = text ? (JSON.parse(text) as State) : { current: null, previous: null };
  return { current: s.current ?? null, previous: s.previous ?? null };
}

export function writeState(l: Layout, s: State): void {
  writeDurable(l.stateFile, JSON.stringify(s, null, 2) + '\n', 0o600);
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
