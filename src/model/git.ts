// Reads a config repository's files as they are at a Git ref, without touching the work tree.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Input, MAX_FILE_BYTES, MAX_LOCK_BYTES, Refused, UsageError } from './load';
import { cleanFiles } from './clean';

export interface RefFiles {
  commit: string;
  inputs: Input[];
  lock?: Buffer | number | { refused: Refused };
}

function git(cwd: string, args: string[], input?: string): { code: number; out: Buffer; err: string } {
  const r = spawnSync('git', ['-C', cwd, ...args], { input, maxBuffer: 1 << 30 });
  if (r.error) throw new UsageError(`cannot run git: ${r.error.message}`, 'install git, or pass --against a folder of built bundles');
  return { code: r.status ?? 1, out: r.stdout, err: r.stderr.toString() };
}

/** Whether `ref` names a commit in the repository holding `dir`. */
export function isRef(dir: string, ref: string): boolean {
  return git(dir, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]).code === 0;
}

/** Git's object id of a blob with these bytes (sha1, or sha256 in a repository of that object format). */
export function blobId(bytes: Buffer, algorithm: 'sha1' | 'sha256'): string {
  return createHash(algorithm).update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

/**
 * The gateways/, tenants/ and lock files of the config folder `dir` at `ref` (dir may be a subfolder of the repository).
 * `have`: bytes already read (the work tree's files by the same relative path). A blob whose object id is the id of
 * those bytes is those bytes, so only the blobs that differ are read from Git: a one-tenant change reads one blob of
 * 10,000, not 20 MB through `git cat-file`. A `have` that is a file Git holds unchanged (`Known`: its content id from
 * Git's index, its bytes read when asked for) with the blob's id is the blob, and stays unread: its input is lazy
 * too (its bytes, when asked for, are checked against the blob's id and taken from Git if they differ by then).
 */
export function filesAt(dir: string, ref: string, have?: Map<string, Buffer | Known>): RefFiles {
  const rev = git(dir, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  if (rev.code !== 0) throw new UsageError(`--against ${ref} is neither a folder nor a commit of the repository at ${dir}`, 'pass a folder of built bundles (e.g. out/) or a Git ref such as origin/main or HEAD~1');
  const commit = rev.out.toString().trim();
  // Run inside dir: pathspecs and printed paths are relative to it, so a config folder may be a subfolder of the repository.
  const ls = git(dir, ['ls-tree', '-r', '-z', '--long', commit, '--', 'gateways', 'tenants', 'allocations.lock.yaml']);
  const entries = ls.out
    .toString()
    .split('\0')
    .filter(Boolean)
    .map((l) => {
      const [meta, p] = l.split('\t');
      const [mode, type, sha, size] = meta.trim().split(/\s+/);
      return { mode, type, sha, size: Number(size), path: p };
    })
    .filter((e) => e.type === 'blob');
  // Git's index says which work-tree files are still the blob it hashed (cleanFiles: stat data to the nanosecond, as
  // validate and build key them); any other file's bytes are hashed. Not `git diff`: it compares whole seconds and
  // missed a same-size edit whose mtime was put back (test/cache.test.ts).
  // Files given as Known were found clean by the caller, its Buffers changed: no need to ask Git again.
  const clean = have?.size && [...have.values()].every((b) => Buffer.isBuffer(b)) ? cleanFiles(dir) : undefined;
  // A symlink's blob is never taken from a file of the same name on disk (that file was read as a regular file, or refused).
  const known = new Map<number, Known>();
  const blobs: Array<Buffer | undefined> = entries.map((e, i) => {
    const b = e.mode !== '120000' ? have?.get(e.path) : undefined;
    const algorithm = e.sha.length === 64 ? 'sha256' : 'sha1';
    if (b && !Buffer.isBuffer(b)) {
      if (b.id !== `${algorithm}:${e.sha}` || e.size > MAX_FILE_BYTES || e.path === 'allocations.lock.yaml') return undefined;
      known.set(i, b);
      return EMPTY;
    }
    if (!b || b.length !== e.size) return undefined;
    const id = clean?.get(e.path);
    return (id !== undefined ? id === `${algorithm}:${e.sha}` : blobId(b, algorithm) === e.sha) ? b : undefined;
  });
  const wanted = entries.filter((_, i) => blobs[i] === undefined);
  if (wanted.length) {
    const batch = git(dir, ['cat-file', '--batch'], wanted.map((e) => e.sha).join('\n') + '\n');
    let off = 0;
    for (let i = 0; i < entries.length; i++) {
      if (blobs[i] !== undefined) continue;
      const nl = batch.out.indexOf(10, off);
      const size = Number(batch.out.subarray(off, nl).toString().split(' ')[2]);
      blobs[i] = batch.out.subarray(nl + 1, nl + 1 + size);
      off = nl + 1 + size + 1;
    }
  }
  const inputs: RefFiles['inputs'] = [];
  let lock: RefFiles['lock'];
  entries.forEach((e, i) => {
    const blob = blobs[i]!;
    const rel = e.path;
    // A symlink's blob (mode 120000) holds its target's path: refused as on disk, never followed.
    const refused: Refused | undefined = e.mode === '120000' ? 'symlink' : undefined;
    const bytes = blob.length > MAX_FILE_BYTES ? blob.length : blob;
    if (rel === 'allocations.lock.yaml') lock = refused ? { refused } : blob.length > MAX_LOCK_BYTES ? blob.length : blob;
    const m = /^(gateways|tenants)\/[^/]+\.ya?ml$/.exec(rel);
    if (!m) return;
    const kind = m[1] === 'gateways' ? 'gateway' : 'tenant';
    const k = known.get(i);
    if (k) {
      // The work tree's file, read only when asked for, and then only if it still is the blob.
      const algorithm = e.sha.length === 64 ? 'sha256' : 'sha1';
      const read = () => {
        const b = k.read();
        return Buffer.isBuffer(b) && b.length === e.size && blobId(b, algorithm) === e.sha ? b : catBlob(dir, e.sha);
      };
      inputs.push({ path: rel, kind, bytes: 0, lazy: { id: k.id, read } });
    } else inputs.push({ path: rel, kind, bytes, ...(refused ? { refused } : {}) });
  });
  return { commit, inputs, lock };
}

/** A work-tree file Git's index holds unchanged: its content id (`sha1:<blob id>`) and how to read its bytes. */
export interface Known {
  id: string;
  read: () => Buffer | number;
}

const EMPTY = Buffer.alloc(0);

/** One blob's bytes from Git. */
function catBlob(dir: string, sha: string): Buffer {
  const r = git(dir, ['cat-file', 'blob', sha]);
  if (r.code !== 0) throw new UsageError(`cannot read blob ${sha} from Git: ${r.err.trim()}`, 'check the repository');
  return r.out;
}

/** The inputs build reads, relative to the config folder: what makes a source "dirty" when it differs from HEAD. */
const INPUTS = ['gateways', 'tenants', 'allocations.lock.yaml'];

/**
 * The commit the config folder `dir` is at, and whether its inputs (gateways/, tenants/, the lock) differ from it
 * (changed, staged, untracked or ignored): what a bundle records as its source. Null when `dir` is not in a Git repository,
 * the repository has no commit yet, or git is not installed.
 */
export function sourceOf(dir: string): { commit: string; dirty: boolean } | null {
  const r = spawnSync('git', ['-C', dir, 'rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  // Ignored input files count too: the commit does not hold them either.
  const st = spawnSync('git', ['-C', dir, 'status', '--porcelain', '--untracked-files=all', '--ignored=matching', '--', ...INPUTS], { encoding: 'utf8', maxBuffer: 1 << 28 });
  // A status git cannot give is reported as dirty: claiming clean needs proof.
  return { commit: r.stdout.trim(), dirty: st.status !== 0 || st.stdout.trim() !== '' };
}
