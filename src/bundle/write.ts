// Writing results to disk without ever leaving a half-written file or folder: stage beside, then rename.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { BundleFile } from './bundle';

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
export function writeTreeReusing(dir: string, files: BundleFile[], from: string): number {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const made = new Set<string>();
  let linked = 0;
  for (const f of files) {
    const parts = f.path.split('/');
    const p = path.join(dir, ...parts);
    const sub = path.dirname(p);
    if (!made.has(sub)) {
      fs.mkdirSync(sub, { recursive: true });
      made.add(sub);
    }
    if (sameFile(path.join(from, ...parts), f)) {
      try {
        fs.linkSync(path.join(from, ...parts), p);
        linked++;
        continue;
      } catch {
        // A file system without hard links (or a race with another writer): write it.
      }
    }
    fs.writeFileSync(p, f.content, { mode: f.mode });
    fs.chmodSync(p, f.mode);
  }
  return linked;
}

/** Whether `p` is a regular file with exactly `f`'s mode and bytes (size first: most changed files differ in it). */
function sameFile(p: string, f: BundleFile): boolean {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch {
    return false;
  }
  if (!st.isFile() || (st.mode & 0o7777) !== f.mode || st.size !== Buffer.byteLength(f.content) || st.nlink !== 1) return false;
  try {
    return fs.readFileSync(p, 'utf8') === f.content;
  } catch {
    return false;
  }
}

/**
 * Replaces `target` (a folder) with a folder holding exactly `files`: the new tree is written
 * beside it (unchanged files hard-linked from the old one, see writeTreeReusing), then swapped
 * in with two renames, so a reader sees the old tree or the new one.
 */
export function replaceTree(target: string, files: BundleFile[]): void {
  const parent = path.dirname(target);
  fs.mkdirSync(parent, { recursive: true });
  const tag = randomBytes(4).toString('hex');
  const staged = path.join(parent, `.${path.basename(target)}.new-${tag}`);
  const old = path.join(parent, `.${path.basename(target)}.old-${tag}`);
  try {
    if (fs.existsSync(target) && fs.lstatSync(target).isDirectory()) writeTreeReusing(staged, files, target);
    else writeTree(staged, files);
    if (fs.existsSync(target)) fs.renameSync(target, old);
    fs.renameSync(staged, target);
  } finally {
    fs.rmSync(staged, { recursive: true, force: true });
    fs.rmSync(old, { recursive: true, force: true });
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
