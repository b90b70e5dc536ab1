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
 * Replaces `target` (a folder) with a folder holding exactly `files`: the new tree is written
 * beside it, then swapped in with two renames, so a reader sees the old tree or the new one.
 */
export function replaceTree(target: string, files: BundleFile[]): void {
  const parent = path.dirname(target);
  fs.mkdirSync(parent, { recursive: true });
  const tag = randomBytes(4).toString('hex');
  const staged = path.join(parent, `.${path.basename(target)}.new-${tag}`);
  const old = path.join(parent, `.${path.basename(target)}.old-${tag}`);
  try {
    writeTree(staged, files);
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
