// `s2sgw releases`: what the host keeps under var/lib/s2sgw/releases/, newest first, with the history's marks. Reads only.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { layout, readPending, readState } from './layout';
import { MANIFEST } from '../bundle/manifest';
import type { Runner } from './runner';

export interface ReleaseInfo {
  release: string;
  /** When the release folder was staged (ISO 8601). */
  staged: string;
  /** The last time it became current (apply or rollback), if the history holds it. */
  applied: string | null;
  gateway: string | null;
  /** The source commit the bundle was built from, when its manifest records one. */
  commit: string | null;
  dirty?: boolean;
  current: boolean;
  /** Where a plain `s2sgw rollback` goes. */
  previous: boolean;
  /** Applied with --confirm and not confirmed yet. */
  unconfirmed: boolean;
}

/** The manifest's head (gateway, commit): the first 64 KiB, not the whole file (tens of MB at 10,000 tenants). */
export function manifestHead(dir: string): { gateway: string | null; commit: string | null; dirty?: boolean } {
  let head = '';
  try {
    const fd = fs.openSync(path.join(dir, MANIFEST), 'r');
    try {
      const buf = Buffer.alloc(65536);
      head = buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return { gateway: null, commit: null };
  }
  const gateway = /"gateway"\s*:\s*"([^"]*)"/.exec(head)?.[1] ?? null;
  const commit = /"commit"\s*:\s*"([0-9a-f]{7,64})"/.exec(head)?.[1] ?? null;
  const dirty = /"dirty"\s*:\s*(true|false)/.exec(head)?.[1];
  return { gateway, commit, ...(dirty ? { dirty: dirty === 'true' } : {}) };
}

export function listReleases(runner: Pick<Runner, 'host'>): ReleaseInfo[] {
  const l = layout(runner);
  const state = readState(l);
  const pending = readPending(l);
  const applied = new Map<string, string>();
  for (const h of state.history) if (h.at) applied.set(h.release, h.at);
  let names: string[] = [];
  try {
    names = fs.readdirSync(l.releases).filter((n) => !n.startsWith('.'));
  } catch {
    /* nothing staged yet */
  }
  const previous = state.history.at(-2)?.release ?? null;
  return names
    .map((n) => {
      const dir = path.join(l.releases, n);
      return {
        release: n,
        staged: fs.statSync(dir).mtime.toISOString(),
        applied: applied.get(n) ?? null,
        ...manifestHead(dir),
        current: n === state.current,
        previous: n === previous,
        unconfirmed: pending?.release === n,
      };
    })
    .sort((a, b) => (b.applied ?? b.staged).localeCompare(a.applied ?? a.staged) || a.release.localeCompare(b.release));
}

/** One line per release: marks, id (12), applied, staged, gateway, commit. */
export function formatReleases(list: ReleaseInfo[]): string {
  if (!list.length) return 'no releases on this host\n';
  const rows = list.map((r) => {
    const marks = [r.current ? 'current' : '', r.previous ? 'previous' : '', r.unconfirmed ? 'unconfirmed' : ''].filter(Boolean).join(',');
    return [r.release.slice(0, 12), marks || '-', r.applied ?? '-', r.staged, r.gateway ?? '-', r.commit ? `${r.commit.slice(0, 12)}${r.dirty ? '+dirty' : ''}` : '-'];
  });
  const head = ['RELEASE', 'STATE', 'APPLIED', 'STAGED', 'GATEWAY', 'COMMIT'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [head, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}
