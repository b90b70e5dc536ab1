// Durable file operations for apply: write beside and rename, fsync file and folder, so a crash leaves the old bytes or the new ones.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

/** A fresh temporary name beside `file` (hidden, random): written there, then renamed over `file`. */
export function tmpSibling(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
}

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

/**
 * fsyncs put off (the switch's: a forward apply's live files, which must be on disk by its commit and not before).
 * A write given one renames its file into place unsynced and records the file and its folder here; flush() then syncs
 * them all on libuv's threads (files first, then folders) while the reload steps run, and the commit awaits it. A crash
 * before the commit is rolled back with every live file compared and rewritten (switchTo of the old release), so until
 * then the files need only be whole in memory, not on disk. (frr.conf's 14 MB at 10,000 tenants: its fsync and its
 * folder's were 10-25 ms of the switch of every change that touches FRR.)
 */
export class Syncs {
  private readonly files = new Set<string>();
  private readonly dirs = new Set<string>();
  private readonly copies: Array<Promise<void>> = [];

  /**
   * copyDurable on libuv's threads: `from` copied to a temporary sibling of `file`, given `mode`, renamed over `file`
   * (then `placed` is called), its sync recorded. What reads `file` awaits copied() first; flush() awaits it too and
   * fails with the copy's error.
   */
  copy(from: string, file: string, mode: number, placed?: () => void): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = tmpSibling(file);
    const done = (async () => {
      try {
        await fs.promises.copyFile(from, tmp, fs.constants.COPYFILE_EXCL);
        await fs.promises.chmod(tmp, mode);
        fs.renameSync(tmp, file);
        this.file(file);
        placed?.();
      } finally {
        await fs.promises.rm(tmp, { force: true });
      }
    })();
    done.catch(() => undefined);
    this.copies.push(done);
  }

  /** Settles when every copy started is in place or failed (never rejects). */
  async copied(): Promise<void> {
    await Promise.allSettled(this.copies);
  }

  file(p: string): void {
    this.files.add(p);
    this.dirs.add(path.dirname(p));
  }

  dir(p: string): void {
    this.dirs.add(p);
  }

  get size(): number {
    return this.files.size + this.dirs.size + this.copies.length;
  }

  /** Syncs what was recorded, once the copies are in place; a file gone since (removed) is skipped, its folder's sync records that. */
  async flush(): Promise<void> {
    await Promise.all(this.copies);
    const files = [...this.files];
    const dirs = [...this.dirs];
    this.files.clear();
    this.dirs.clear();
    await Promise.all(files.map((f) => syncPath(f, false)));
    await Promise.all(dirs.map((d) => syncPath(d, true)));
  }
}

async function syncPath(p: string, dir: boolean): Promise<void> {
  let h: fs.promises.FileHandle | undefined;
  try {
    h = await fs.promises.open(p, 'r');
    await h.sync();
  } catch (e) {
    // As fsyncDir: a folder some filesystem refuses to sync; a file removed since it was written.
    if (!dir && (e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  } finally {
    await h?.close();
  }
}

/** Creates `file` (it must not exist) with `content` and `mode`, synced to disk before it returns (unless `synced` is false). */
export function writeNewSynced(file: string, content: string | Buffer, mode: number, synced = true): void {
  const fd = fs.openSync(file, 'wx', mode);
  try {
    fs.writeSync(fd, typeof content === 'string' ? Buffer.from(content) : content);
    fs.fchmodSync(fd, mode);
    if (synced) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes `file` by writing a synced temporary sibling and renaming it over the target. Never in place. With `later`, the syncs are recorded there instead (Syncs). */
export function writeDurable(file: string, content: string | Buffer, mode = 0o644, later?: Syncs): void {
  if (!later) return writeWhole(file, content, mode, true);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = tmpSibling(file);
  try {
    writeNewSynced(tmp, content, mode, false);
    fs.renameSync(tmp, file);
    later.file(file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * writeDurable without the folder's fsync: the new bytes are on disk before the rename, so after a crash the name
 * holds either the old bytes (themselves written durably before) or the new ones, whole; only which of the two is
 * not certain. For a record whose every version is as good to recover from (the journal's step marks: recovery
 * reads the phase, which changes only through writeDurable), at half the fsyncs.
 */
export function writeWhole(file: string, content: string | Buffer, mode = 0o644, durable = false): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = tmpSibling(file);
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
export function copyDurable(from: string, file: string, mode = 0o644, later?: Syncs): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = tmpSibling(file);
  try {
    fs.copyFileSync(from, tmp, fs.constants.COPYFILE_EXCL);
    const fd = fs.openSync(tmp, 'r+');
    try {
      fs.fchmodSync(fd, mode);
      if (!later) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    if (later) later.file(file);
    else fsyncDir(path.dirname(file));
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Replaces `file` by rename, neither synced: for a record that is only a hint, where a version lost or torn in a crash
 * (read back as unreadable, so as none) costs work but never a wrong answer (live.ts's stamps).
 */
export function writeHint(file: string, content: string, mode = 0o600): void {
  const tmp = tmpSibling(file);
  try {
    fs.writeFileSync(tmp, content, { mode, flag: 'wx' });
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Points symlink `link` at `target` atomically (a new symlink renamed over the old one); the folder synced, or recorded in `later`. */
export function symlinkAtomic(target: string, link: string, later?: Syncs): void {
  fs.mkdirSync(path.dirname(link), { recursive: true });
  const tmp = tmpSibling(link);
  try {
    fs.symlinkSync(target, tmp);
    fs.renameSync(tmp, link);
    if (later) later.dir(path.dirname(link));
    else fsyncDir(path.dirname(link));
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Removes a file or symlink if present, durably (or its folder's sync recorded in `later`). */
export function removeDurable(file: string, later?: Syncs): void {
  try {
    fs.unlinkSync(file);
    if (later) later.dir(path.dirname(file));
    else fsyncDir(path.dirname(file));
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
