// The host-wide apply lock: flock(2) on a file under the root's state folder, taken by util-linux `flock` on the
// open file description apply hands it (its fd 3) and kept by apply's own descriptor. A file lock belongs to the inode,
// so it is one per root whatever the network namespace (the abstract socket used before existed once per namespace:
// two applies in two netns both ran). When apply dies, even by SIGKILL, the kernel closes its descriptor and drops
// the lock: no lock goes stale.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { StepError } from './runner';
import { STATE_DIR } from './layout';
import { which } from '../util/exec';
import { childEnv } from '../util/env';

export interface Holder {
  pid: number;
  command: string;
  since: string;
}

export interface HostLock {
  release(): Promise<void>;
}

/** The lock file of `root`: its content names the holder (pid, command, since when) while it holds the lock. */
export function lockPath(root: string): string {
  return path.join(root, STATE_DIR, 'apply.lock');
}

/** Who holds (or last held) the lock, from the lock file; undefined when it says nothing readable. */
export function readHolder(file: string): Holder | undefined {
  try {
    const h = JSON.parse(fs.readFileSync(file, 'utf8')) as Holder;
    return typeof h.pid === 'number' ? h : undefined;
  } catch {
    return undefined;
  }
}

/** flock's exit code when the lock is busy past the wait (`--conflict-exit-code`). */
const BUSY = 75;

/**
 * Locks `fd` (this process's open lock file): flock(1) locks the open file description it inherits as its fd 3 and
 * exits, and the lock stays with that description, held by this process until it closes the fd or ends, however it
 * ends. One program run, none left running (a `sh -c 'echo held; exec cat'` holding it cost two more).
 * Resolves true once held, false when the lock stayed busy for waitMs.
 */
function takeFlock(fd: number, file: string, waitMs: number): Promise<boolean> {
  const wait = waitMs > 0 ? ['--timeout', (waitMs / 1000).toFixed(3)] : ['--nonblock'];
  const p = spawn(which('flock') ?? 'flock', ['--exclusive', ...wait, '--conflict-exit-code', String(BUSY), '3'], {
    stdio: ['ignore', 'ignore', 'pipe', fd],
    env: childEnv(),
  });
  return new Promise((resolve, reject) => {
    let err = '';
    p.stderr!.on('data', (d) => (err += d));
    p.on('error', (e) => reject(new StepError('lock', `cannot run flock (util-linux) for the host lock: ${e.message}`)));
    p.on('close', (code) => {
      if (code === 0) resolve(true);
      else if (code === BUSY) resolve(false);
      else reject(new StepError('lock', `flock ${file} exited ${code}`, err.trim()));
    });
  });
}

/**
 * Takes the lock for `root`, waiting up to waitMs for a holder to finish. On timeout throws a StepError
 * naming the holder (pid, command, since when).
 */
export async function acquire(root: string, command: string, waitMs: number): Promise<HostLock> {
  const file = lockPath(root);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // Opened close-on-exec (node's default): no program apply runs inherits the lock.
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
  let held = false;
  try {
    held = await takeFlock(fd, file, waitMs);
  } finally {
    if (!held) fs.closeSync(fd);
  }
  if (!held) {
    const holder = readHolder(file);
    const who = holder ? `pid ${holder.pid} (${holder.command}, since ${holder.since})` : 'another process';
    throw new StepError('lock', `another s2sgw holds the host lock for ${root}: ${who}; waited ${Math.round(waitMs / 1000)} s`);
  }
  const me: Holder = { pid: process.pid, command, since: new Date().toISOString() };
  fs.writeFileSync(file, JSON.stringify(me) + '\n', { mode: 0o600 });
  let open = true;
  return {
    release: async () => {
      if (open) fs.closeSync(fd);
      open = false;
    },
  };
}
