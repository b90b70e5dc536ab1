// Durable file operations for apply: write beside and rename, fsync file and folder, so a crash leaves the old bytes or the new ones.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    /* some filesystems refuse fsync on a folder; the rename is still atomic */
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Creates `file` (it must not exist) with `content` and `mode`, synced to disk before it returns. */
export function writeNewSynced(file: string, content: string | Buffer, mode: number): void {
  const fd = fs.openSync(file, 'wx', mode);
  try {
    fs.writeSync(fd, typeof content === 'string' ? Buffer.from(content) : content);
    fs.fchmodSync(fd, mode);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes `file` by writing a synced temporary sibling and renaming it over the target. Never in place. */
export function writeDurable(file: string, content: string | Buffer, mode = 0o644): void {
  writeWhole(file, content, mode, true);
}

/**
 * writeDurable without the folder's fsync: the new bytes are on disk before the rename, so after a crash the name
 * holds either the old bytes (themselves written durably before) or the new ones, whole; only which of the two is
 * not certain. For a record whose every version is as good to recover from (the journal's step marks: recovery
 * reads the phase, which changes only through writeDurable), at half the fsyncs.
 */
export function writeWhole(file: string, content: string | Buffer, mode = 0o644, durable = false): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeNewSynced(tmp, content, mode);
    fs.renameSync(tmp, file);
    if (durable) fsyncDir(path.dirname(file));
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * writeDurable of another file's bytes, copied by the kernel (copy_file_range: no read into this process and no
 * buffer for them; frr.conf is 14 MB at 10,000 tenants): the copy synced, renamed over `file`, the folder synced.
 */
export function copyDurable(from: string, file: string, mode = 0o644): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    fs.copyFileSync(from, tmp, fs.constants.COPYFILE_EXCL);
    const fd = fs.openSync(tmp, 'r+');
    try {
      fs.fchmodSync(fd, mode);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    fsyncDir(path.dirname(file));
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Replaces `file` by rename, neither synced: for a record that is only a hint, where a version lost or torn in a crash
 * (read back as unreadable, so as none) costs work but never a wrong answer (live.ts's stamps).
 */
export function writeHint(file: string, content: string, mode = 0o600): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    fs.writeFileSync(tmp, content, { mode, flag: 'wx' });
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Points symlink `link` at `target` atomically (a new symlink renamed over the old one). */
export function symlinkAtomic(target: string, link: string): void {
  fs.mkdirSync(path.dirname(link), { recursive: true });
  const tmp = path.join(path.dirname(link), `.${path.basename(link)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    fs.symlinkSync(target, tmp);
    fs.renameSync(tmp, link);
    fsyncDir(path.dirname(link));
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Removes a file or symlink if present, durably. */
export function removeDurable(file: string): void {
  try {
    fs.unlinkSync(file);
    fsyncDir(path.dirname(file));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

export function readIfExists(file: string): string | undefined {
  return readBytesIfExists(file)?.toString('utf8');
}

export function readBytesIfExists(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
