// Writing results to disk without ever leaving a half-written file or folder: stage beside, then rename.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { sha256 } from '../util/cache';
import type { BundleFile } from './bundle';
import type { WriteThread } from './write-thread';

/** Writes a file by writing a temporary sibling and renaming it over the target. */
export function writeFileAtomic(file: string, content: string | Buffer, mode = 0o644): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    fs.writeFileSync(tmp, content, { mode });
    fs.chmodSync(tmp, mode);
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Writes bundle files into a fresh folder (no other files in it). */
export function writeTree(dir: string, files: BundleFile[]): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const f of files) {
    const p = path.join(dir, ...f.path.split('/'));
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, f.content, { mode: f.mode });
    fs.chmodSync(p, f.mode);
  }
}

/**
 * Writes bundle files into a fresh folder like writeTree, but a file that `from` (the tree being
 * replaced) already holds with exactly the same bytes and mode is hard-linked from there instead
 * of written: a one-tenant change rewrites a few files, not 20,000 (and the old tree's removal
 * then frees no data). Equal means read and compared, never assumed from a manifest: a file
 * edited by hand in out/ is written again, as a build without the old tree would. Returns how
 * many files were linked.
 */
export function writeTreeReusing(dir: string, files: BundleFile[], from: string, known?: Known): number {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const made = new Set<string>();
  let linked = 0;
  for (const f of files) if (putFile(dir, made, f, from, known, known?.shas.get(f.path))) linked++;
  return linked;
}

/** Writes `f` into `dir` (its folder made once, `made`), or links it from `from` when that holds the same file (see writeTreeReusing); whether it linked. */
function putFile(dir: string, made: Set<string>, f: BundleFile, from: string | undefined, known: Omit<Known, 'shas'> | undefined, sha: string | undefined, bytes?: Buffer, writer?: WriteThread): boolean {
  const parts = f.path.split('/');
  const p = path.join(dir, ...parts);
  const sub = path.dirname(p);
  if (!made.has(sub)) {
    fs.mkdirSync(sub, { recursive: true });
    made.add(sub);
  }
  if (from !== undefined && sameFile(path.join(from, ...parts), f, known, sha, bytes)) {
    try {
      fs.linkSync(path.join(from, ...parts), p);
      return true;
    } catch {
      // A file system without hard links (or a race with another writer): write it.
    }
  }
  if (writer) writer.write(p, bytes ?? f.content, f.mode);
  else {
    fs.writeFileSync(p, bytes ?? f.content, { mode: f.mode });
    fs.chmodSync(p, f.mode);
  }
  return false;
}

/**
 * What the last replaceTree() of a tree recorded of its files (TreeIndex), and the new files' sha256s: a file whose
 * lstat data are still exactly what was recorded holds the bytes of the recorded sha256, so it is compared by that
 * sha256, not read.
 */
export interface Known {
  records: Record<string, TreeRecord>;
  /** The index's own mtime (ns): a file changed at or after it may share its timestamps with the record ("racy"), and is read. */
  since: bigint;
  shas: Map<string, string>;
}

/**
 * A file as written: inode, size, mtime and ctime in ns (as decimal strings), its sha256, and (build with a cache) its
 * recipe: a digest of what its text was made of (bundle.ts: its gateway sections' texts and the render key, target and
 * number of each tenant part in it), which gives the next build the sha256 of a file made of the same without making
 * its text.
 */
export type TreeRecord = [string, string, string, string, string] | [string, string, string, string, string, string];

/**
 * Where replaceTree() keeps a tree's records between builds (build: the work cache, entry kind `tree`). Safe as a
 * shortcut because every change to a file's bytes, mode or links sets its ctime to the time of the change, which
 * nothing but the clock itself can set back: a file edited by hand, even to the same size with its mtime put back,
 * no longer matches its record and is read and compared as before. A file whose times are not older than the index
 * (changed in the same clock tick as the record was made) is read too.
 */
export interface TreeIndex {
  load(): { records: Record<string, TreeRecord>; since: bigint } | undefined;
  save(records: Record<string, TreeRecord>): void;
}

/** Whether `p` is a regular file with exactly `f`'s mode and bytes (size first: most changed files differ in it); `sha`: `f`'s sha256, `bytes`: its text's, when made. */
function sameFile(p: string, f: BundleFile, known: Omit<Known, 'shas'> | undefined, sha: string | undefined, bytes?: Buffer): boolean {
  const st = fs.lstatSync(p, { bigint: true, throwIfNoEntry: false });
  if (!st || !st.isFile() || Number(st.mode & 0o7777n) !== f.mode || st.nlink !== 1n) return false;
  const rec = known && Object.hasOwn(known.records, f.path) ? known.records[f.path] : undefined;
  // The record first: equal sha256s are equal sizes too, and the new file's text is not made or touched (measuring a
  // 20 MB text's UTF-8 length is a scan of it; a file build took as its record's is joined only if it is written).
  if (rec && sha && asRecorded(st, rec, known!.since)) return rec[4] === sha;
  if (st.size !== BigInt(bytes ? bytes.length : Buffer.byteLength(f.content))) return false;
  try {
    return bytes ? fs.readFileSync(p).equals(bytes) : fs.readFileSync(p, 'utf8') === f.content;
  } catch {
    return false;
  }
}

/** A tenant in a tree's layout: its render key, then where each of its parts began in its file. */
export type TenantLayout = Array<string | number>;

/** Whether a file's lstat data are still exactly its record's, and older than the record (not "racy"): it holds the recorded bytes. */
function asRecorded(st: fs.BigIntStats, rec: TreeRecord, since: bigint): boolean {
  return st.isFile() && st.ctimeNs < since && st.mtimeNs < since && rec[0] === String(st.ino) && rec[1] === String(st.size) && rec[2] === String(st.mtimeNs) && rec[3] === String(st.ctimeNs);
}

/**
 * What the last build recorded of out/<gateway>/ (its TreeIndex): the recipe and sha256 of each file, and where each
 * tenant's parts begin in the files it wrote (`tenants`: name -> [render key, offset, offset, ...] in the order of the
 * tenant's parts in its `parts` entry; offsets in UTF-16 code units, as JavaScript indexes the file's text). A warm
 * build takes an unchanged tenant's part of a gateway-wide file out of the file as written there (read once, and only
 * when its lstat data are still its record's) instead of reading the tenant's `parts` entry, and the sha256 of a file
 * made of the same recipe from its record.
 */
export class PreviousTree {
  private readonly texts = new Map<string, string | null>();
  constructor(
    readonly dir: string,
    private readonly records: Record<string, TreeRecord>,
    private readonly since: bigint,
    private readonly tenants: Record<string, TenantLayout>,
  ) {}

  /** The sha256 of the file last written at `file` when it was made of exactly `recipe` (and was under `below` bytes, when given). */
  shaOf(file: string, recipe: string, below?: number): string | undefined {
    const r = Object.hasOwn(this.records, file) ? this.records[file] : undefined;
    if (below !== undefined && !(Number(r?.[1]) < below)) return undefined;
    return r && r[5] === recipe ? r[4] : undefined;
  }

  /** Where the tenant's parts began in the files last written, when they were written under render key `key` and are `count`. */
  offsets(tenant: string, key: string, count: number): number[] | undefined {
    const s = Object.hasOwn(this.tenants, tenant) ? this.tenants[tenant] : undefined;
    if (!Array.isArray(s) || s.length !== count + 1 || s[0] !== key) return undefined;
    for (let i = 1; i <= count; i++) if (!Number.isInteger(s[i]) || (s[i] as number) < 0) return undefined;
    return s.slice(1) as number[];
  }

  /**
   * `length` characters of the file last written at `file` from `at`: undefined when the file is not exactly as
   * recorded (gone, edited, replaced; checked by fstat of the descriptor it was read from) or too short.
   */
  slice(file: string, at: number, length: number): string | undefined {
    let t = this.texts.get(file);
    if (t === undefined) this.texts.set(file, (t = this.read(file)));
    return t !== null && at + length <= t.length ? t.slice(at, at + length) : undefined;
  }

  /** Whether `at` is a line's start in the file last written at `file` as slice() read it. */
  lineStart(file: string, at: number): boolean {
    const t = this.texts.get(file);
    return at === 0 || (typeof t === 'string' && t.charCodeAt(at - 1) === 10);
  }

  /** Lets go of the files' texts read (a later slice() reads the file again). */
  release(): void {
    this.texts.clear();
  }

  private read(file: string): string | null {
    const rec = Object.hasOwn(this.records, file) ? this.records[file] : undefined;
    if (!rec) return null;
    let fd: number | undefined;
    try {
      fd = fs.openSync(path.join(this.dir, ...file.split('/')), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      const bytes = fs.readFileSync(fd);
      // After the read: a write while it ran changed the mtime and ctime. A file not exactly as recorded (changed in
      // the clock tick of the record, say, as a small tree's files are) is used only if it hashes to its record's sha256.
      const as = asRecorded(fs.fstatSync(fd, { bigint: true }), rec, this.since) && String(bytes.length) === rec[1];
      return as || sha256(bytes) === rec[4] ? bytes.toString('utf8') : null;
    } catch {
      return null;
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  }
}

/**
 * Replaces `target` (a folder) with a folder holding exactly `files`: the new tree is written
 * beside it (unchanged files hard-linked from the old one, see writeTreeReusing), then swapped
 * in with two renames, so a reader sees the old tree or the new one.
 */
export function replaceTree(target: string, files: BundleFile[], index?: { tree: TreeIndex; shas: Map<string, string>; recipes?: Map<string, string> }): void {
  const t = new StagedTree(target, index?.tree);
  try {
    for (const f of files) t.put(f, index?.shas.get(f.path));
    t.commit(index ? { shas: index.shas, ...(index.recipes ? { recipes: index.recipes } : {}), save: (records) => index.tree.save(records) } : undefined);
  } finally {
    t.abort();
  }
}

/**
 * A tree written beside `target` file by file, then swapped in (replaceTree, and build as it renders: each file is
 * written as soon as it is made and its text let go, instead of holding a whole bundle's texts, over 100 MB at 10,000
 * tenants, until the write). A file the old tree holds with the same bytes and mode is linked from there (see
 * writeTreeReusing; by its record in `tree` when given). Until commit() nothing is visible at `target`; abort()
 * removes what was staged (a no-op after commit()). With a `writer`, files are written on its thread while the caller
 * goes on; commit() waits until every one is on disk before the swap, abort() before it removes the staged tree.
 */
export class StagedTree {
  readonly staged: string;
  private readonly old: string;
  private readonly made = new Set<string>();
  private from?: string | null;
  private known?: Omit<Known, 'shas'> | null;
  private committed = false;

  constructor(
    readonly target: string,
    private readonly tree?: TreeIndex,
    private readonly writer?: WriteThread,
  ) {
    const parent = path.dirname(target);
    const tag = randomBytes(4).toString('hex');
    this.staged = path.join(parent, `.${path.basename(target)}.new-${tag}`);
    this.old = path.join(parent, `.${path.basename(target)}.old-${tag}`);
  }

  /**
   * Writes `f` into the staged tree (or links it from the old tree); `sha`: its sha256, when known (to compare by the
   * old tree's record); `bytes`: its text's UTF-8 bytes, when already made (written as they are, not encoded again).
   */
  put(f: BundleFile, sha?: string, bytes?: Buffer): void {
    if (this.from === undefined) {
      fs.mkdirSync(path.dirname(this.target), { recursive: true });
      fs.mkdirSync(this.staged, { recursive: true, mode: 0o755 });
      this.made.add(this.staged);
      // No old tree (or not a folder): every file is written.
      this.from = fs.existsSync(this.target) && fs.lstatSync(this.target).isDirectory() ? this.target : null;
      this.known = (this.from !== null && this.tree?.load()) || null;
    }
    putFile(this.staged, this.made, f, this.from ?? undefined, this.known ?? undefined, sha, bytes, this.writer);
  }

  /** The text of a file put, read back from where it is now (the staged tree, or the target once committed). */
  read(file: string): string {
    if (!this.committed) this.writer?.drain();
    return fs.readFileSync(path.join(this.committed ? this.target : this.staged, ...file.split('/')), 'utf8');
  }

  /**
   * Swaps the staged tree in (the old one removed) and, with `index`, records each file with a sha256 in `shas`
   * (TreeIndex.save; with its recipe when given).
   */
  commit(index?: { shas: Map<string, string>; recipes?: Map<string, string>; save: TreeIndex['save'] }): void {
    if (this.from === undefined) {
      fs.mkdirSync(path.dirname(this.target), { recursive: true });
      fs.mkdirSync(this.staged, { recursive: true, mode: 0o755 });
    }
    // Whole before it is swapped in: every file written (a write's failure is thrown here, and abort() removes the rest).
    this.writer?.drain();
    try {
      if (fs.existsSync(this.target)) fs.renameSync(this.target, this.old);
      fs.renameSync(this.staged, this.target);
      this.committed = true;
    } finally {
      removeTree(this.old);
    }
    // Recorded once the old tree is gone: removing it changed the ctime of every file the two trees shared.
    if (index) {
      const records: Record<string, TreeRecord> = {};
      for (const [file, sha] of index.shas) {
        try {
          const st = fs.lstatSync(path.join(this.target, ...file.split('/')), { bigint: true });
          const recipe = index.recipes?.get(file);
          records[file] = recipe === undefined ? [String(st.ino), String(st.size), String(st.mtimeNs), String(st.ctimeNs), sha] : [String(st.ino), String(st.size), String(st.mtimeNs), String(st.ctimeNs), sha, recipe];
        } catch {
          // Gone already (another writer): no record, so it is read next time.
        }
      }
      index.save(records);
    }
  }

  /** Removes the staged tree unless it was committed. */
  abort(): void {
    if (this.committed) return;
    try {
      // No write lands in the staged tree after it is removed.
      this.writer?.drain();
    } catch {
      // A failed write: the thread writes nothing after it.
    }
    fs.rmSync(this.staged, { recursive: true, force: true });
  }
}

/**
 * Removes a folder s2sgw wrote (files and folders only), like fs.rmSync(dir, { recursive: true, force: true }) but from
 * the types readdir gives: node's own lstat()s every entry first (20,000 of them for a 10,000-tenant tree). Anything
 * else, or a failure, is left to fs.rmSync.
 */
function removeTree(dir: string): void {
  try {
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else fs.unlinkSync(p);
      }
      fs.rmdirSync(d);
    };
    walk(dir);
  } catch {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads a folder of files back as bundle files (sorted paths), e.g. a built out/<gateway>/. */
export function readTree(dir: string): BundleFile[] {
  const out: BundleFile[] = [];
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = fs.statSync(path.join(dir, r));
      if (st.isDirectory()) walk(r);
      else if (st.isFile()) out.push({ path: r, content: fs.readFileSync(path.join(dir, r), 'utf8'), mode: st.mode & 0o777 });
    }
  };
  walk('');
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
