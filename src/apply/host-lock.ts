// The host-wide apply lock: an abstract unix socket, which the kernel frees when its holder dies (even by SIGKILL), so no lock goes stale.
import * as fs from 'node:fs';
import * as net from 'node:net';
import { createHash } from 'node:crypto';
import { StepError } from './runner';

export interface Holder {
  pid: number;
  command: string;
  since: string;
}

export interface HostLock {
  release(): Promise<void>;
}

/** The lock's name: one per --root (abstract sockets live in the network namespace apply runs in). */
export function lockName(root: string): string {
  let real = root;
  try {
    real = fs.realpathSync(root);
  } catch {
    /* a root that does not exist yet is still a name */
  }
  return `\0s2sgw-apply-${createHash('sha256').update(real).digest('hex').slice(0, 32)}`;
}

function tryListen(name: string, me: Holder): Promise<net.Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((sock) => sock.end(JSON.stringify(me)));
    server.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' ? resolve(undefined) : reject(e)));
    server.listen(name, () => {
      server.unref();
      resolve(server);
    });
  });
}

/** Asks the holder who it is; undefined when it went away meanwhile. */
export function askHolder(name: string): Promise<Holder | undefined> {
  return new Promise((resolve) => {
    let data = '';
    const s = net.connect(name);
    const done = (h: Holder | undefined) => {
      s.destroy();
      resolve(h);
    };
    s.setTimeout(2000, () => done(undefined));
    s.on('data', (d) => (data += d));
    s.on('end', () => {
      try {
        done(JSON.parse(data) as Holder);
      } catch {
        done(undefined);
      }
    });
    s.on('error', () => done(undefined));
  });
}

/**
 * Takes the lock for `root`, waiting up to waitMs for a holder to finish. On timeout throws a StepError
 * naming the holder (pid, command, since when).
 */
export async function acquire(root: string, command: string, waitMs: number): Promise<HostLock> {
  const name = lockName(root);
  const me: Holder = { pid: process.pid, command, since: new Date().toISOString() };
  const deadline = Date.now() + waitMs;
  let holder: Holder | undefined;
  for (;;) {
    const server = await tryListen(name, me);
    if (server) {
      return {
        release: () => new Promise((r) => server.close(() => r())),
      };
    }
    holder = (await askHolder(name)) ?? holder;
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, Math.min(200, Math.max(10, deadline - Date.now()))));
  }
  const who = holder ? `pid ${holder.pid} (${holder.command}, since ${holder.since})` : 'another process';
  throw new StepError('lock', `another s2sgw holds the host lock for ${root}: ${who}; waited ${Math.round(waitMs / 1000)} s`);
}
