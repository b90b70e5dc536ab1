// The host-wide apply lock: flock(2) on a file under the root's state folder, held by a small util-linux `flock`
// helper whose stdin is a pipe from apply. A file lock belongs to the inode, so it is one per root whatever the
// network namespace (the abstract socket used before existed once per namespace: two applies in two netns both ran).
// When apply dies, even by SIGKILL, the kernel closes the pipe, the helper's `cat` sees the end of its input and
// exits, and the kernel drops the lock with the helper's last file descriptor: no lock goes stale.
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

/** Starts the helper; resolves with it once it holds the lock, or undefined when the lock stayed busy for waitMs. */
function takeFlock(file: string, waitMs: number): Promise<import('node:child_process').ChildProcess | undefined> {
  const wait = waitMs > 0 ? ['--timeout', (waitMs / 1000).toFixed(3)] : ['--nonblock'];
  // `echo held` tells apply the lock is taken; `exec cat` then holds the lock until apply's end of the pipe closes.
  const p = spawn(which('flock') ?? 'flock', ['--exclusive', ...wait, '--conflict-exit-code', String(BUSY), file, 'sh', '-c', 'echo held; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: childEnv(),
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    p.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('held\n')) resolve(p);
    });
    p.stderr!.on('data', (d) => (err += d));
    p.on('error', (e) => reject(new StepError('lock', `cannot run flock (util-linux) for the host lock: ${e.message}`)));
    p.on('close', (code) => {
      if (out.includes('held\n')) return;
      if (code === BUSY) resolve(undefined);
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
  fs.closeSync(fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600));
  const p = await takeFlock(file, waitMs);
  if (!p) {
    const holder = readHolder(file);
    const who = holder ? `pid ${holder.pid} (${holder.command}, since ${holder.since})` : 'another process';
    throw new StepError('lock', `another s2sgw holds the host lock for ${root}: ${who}; waited ${Math.round(waitMs / 1000)} s`);
  }
  const me: Holder = { pid: process.pid, command, since: new Date().toISOString() };
  fs.writeFileSync(file, JSON.stringify(me) + '\n', { mode: 0o600 });
  // The helper must not keep node running; its pipe still closes when this process ends, however it ends.
  p.unref();
  for (const s of [p.stdin, p.stdout, p.stderr] as Array<{ unref?: () => void } | null>) s?.unref?.();
  const gone = new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('close', () => r())));
  return {
    release: async () => {
      p.ref();
      (p.stdout as unknown as { ref?: () => void }).ref?.();
      p.stdin!.end();
      await gone;
    },
  };
}
