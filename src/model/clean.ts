// Which of the config folder's files Git already knows byte for byte: their object ids, so a warm run keys them without reading them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

/** One entry of `git ls-files -z -s -v --debug`: tag, mode, object id, stage, path, then its stat data. */
const ENTRY = /^(\S) (\d+) ([0-9a-f]{40}|[0-9a-f]{64}) (\d)\t([^\0]*)\0 {2}ctime: (\d+):(\d+)\n {2}mtime: (\d+):(\d+)\n {2}dev: \d+\tino: (\d+)\n {2}uid: \d+\tgid: \d+\n {2}size: (\d+)\tflags: [0-9a-f]+\n/gm;

const ns = (s: string, n: string) => BigInt(s) * 1000000000n + BigInt(n);

/**
 * The tracked files below gateways/ and tenants/ of `dir` that the work tree holds exactly as Git's index does, each
 * with its content id (`sha1:<blob id>`, or `sha256:` in a repository of that object format); undefined when `dir` is
 * not in a Git work tree or git cannot run (then every file is read, as without this).
 *
 * Why the id is safe as a cache key: the index holds each file's object id with the lstat data the file had when git
 * hashed it (ctime and mtime to the nanosecond, inode, size). A file is trusted only when its lstat data now are
 * exactly those, to the nanosecond: any write, truncation, chmod or rename over it sets its ctime to the time of the
 * change, which only the clock can set back, so a file changed with the same size and its mtime put back is read.
 * Stricter than `git status`, which compares whole seconds unless git was built with USE_NSEC. As in git's own
 * "racy" rule, a file whose ctime or mtime is not older than the index file itself may have changed in the same clock
 * tick as git looked at it, and is read. Left out, and so read as before: untracked files, files git is told not to
 * look at (assume-unchanged, skip-worktree), anything but a regular file in the index (a link), unmerged entries.
 */
export function cleanFiles(dir: string): Map<string, string> | undefined {
  const run = (args: string[]) => spawnSync('git', ['-C', dir, ...args], { maxBuffer: 1 << 30 });
  const where = run(['rev-parse', '--git-path', 'index']);
  if (where.error || where.status !== 0) return undefined;
  let since: bigint;
  try {
    since = fs.statSync(path.resolve(dir, where.stdout.toString('utf8').trim()), { bigint: true }).mtimeNs;
  } catch {
    return undefined;
  }
  // -v: tag H for a file git checks; lowercase (assume-unchanged) and S (skip-worktree) are not trusted.
  const ls = run(['ls-files', '-z', '-s', '-v', '--debug', '--', 'gateways', 'tenants']);
  if (ls.error || ls.status !== 0) return undefined;
  const out = new Map<string, string>();
  const seen = new Set<string>();
  for (const m of ls.stdout.toString('utf8').matchAll(ENTRY)) {
    const [, tag, mode, id, stage, p, cs, cn, ms, mn, ino, size] = m;
    // An unmerged path has several entries: none is the work tree's.
    if (seen.has(p)) {
      out.delete(p);
      continue;
    }
    seen.add(p);
    if (tag !== 'H' || (mode !== '100644' && mode !== '100755') || stage !== '0') continue;
    let st: fs.BigIntStats;
    try {
      st = fs.lstatSync(path.join(dir, p), { bigint: true });
    } catch {
      continue;
    }
    const ctime = ns(cs, cn);
    const mtime = ns(ms, mn);
    // The index keeps the low 32 bits of the inode and size.
    if (!st.isFile() || st.ctimeNs !== ctime || st.mtimeNs !== mtime || (st.ino & 0xffffffffn) !== BigInt(ino) || (st.size & 0xffffffffn) !== BigInt(size)) continue;
    if (st.ctimeNs >= since || st.mtimeNs >= since) continue;
    out.set(p, `${id.length === 64 ? 'sha256' : 'sha1'}:${id}`);
  }
  return out;
}
