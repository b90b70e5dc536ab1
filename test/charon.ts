// One private charon-systemd for a test: in a given network namespace, with its own strongswan.conf, VICI socket and
// log in a given folder; started, waited for (its socket), and stopped (SIGTERM, SIGKILL after 5 s) whatever happens.
// Used by test/vici.test.ts and test/keepalived.test.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import * as assert from 'uvu/assert';
import { run, which } from '../src/util/exec';

/** A small plugin list: enough for PSK IKEv2 with AES-GCM and ECP/X25519, VICI, the kernel's XFRM; quick to load. */
export const SMALL_LOAD = 'random nonce openssl pem pkcs1 x509 pubkey curve25519 aes sha1 sha2 hmac gcm kdf kernel-netlink socket-default vici';

/** charon-systemd reads its settings from the `charon-systemd` section; logs to stderr (the test's log file). */
export function smallStrongswanConf(sock: string): string {
  return `charon-systemd {
  load = ${SMALL_LOAD}
  install_routes = no
  journal {
    default = -1
  }
  filelog {
    stderr {
      default = 1
    }
  }
  plugins {
    vici {
      socket = unix://${sock}
    }
  }
}
swanctl {
  load = pem pkcs1 x509 openssl random nonce
  socket = unix://${sock}
}
`;
}

export interface CharonOptions {
  /** The network namespace charon runs in. */
  ns: string;
  /** A folder of the test's, with a short path (a unix socket path has 108 bytes): socket, conf and log go there. */
  dir: string;
  /** Names the files when several charons share the folder. */
  name?: string;
  /** strongswan.conf's text for the socket (default smallStrongswanConf). */
  conf?: (sock: string) => string;
  /** How long charon may take to open its socket. */
  deadlineMs?: number;
}

export interface Charon {
  ns: string;
  /** The VICI socket's path (no unix:// prefix). */
  sock: string;
  /** The environment that points swanctl (and charon) at this charon's strongswan.conf. */
  env: NodeJS.ProcessEnv;
  /** charon's log so far. */
  log: () => string;
  /** swanctl against this charon, in its namespace. */
  swanctl: (...args: string[]) => ReturnType<typeof run>;
  stop: () => Promise<void>;
}

/** Starts charon-systemd and waits for its socket; fails the test (with charon's log) when it exits or is late. */
export async function startCharon(o: CharonOptions): Promise<Charon> {
  const bin = which('charon-systemd');
  assert.ok(bin, 'charon-systemd not found: install the Debian package charon-systemd (CI does)');
  const name = o.name ?? 'charon';
  const sock = path.join(o.dir, `${name}.vici`);
  const conf = path.join(o.dir, `${name}.conf`);
  fs.writeFileSync(conf, (o.conf ?? smallStrongswanConf)(sock));
  const logFile = path.join(o.dir, `${name}.log`);
  const out = fs.openSync(logFile, 'w');
  const env = { ...process.env, STRONGSWAN_CONF: conf };
  const child = spawn(which('ip')!, ['netns', 'exec', o.ns, bin!], { env, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const log = (): string => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '');
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const late = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(late);
    }
  };
  const deadline = Date.now() + (o.deadlineMs ?? 15_000);
  while (!fs.existsSync(sock)) {
    if (child.exitCode !== null) {
      await stop();
      assert.unreachable(`charon-systemd exited (${child.exitCode}) before opening its socket:\n${log()}`);
    }
    if (Date.now() > deadline) {
      await stop();
      assert.unreachable(`charon-systemd did not open ${sock} in time:\n${log()}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const swanctl = (...args: string[]) => run('swanctl', args, { netns: o.ns, env, timeoutMs: 30_000 });
  return { ns: o.ns, sock, env, log, swanctl, stop };
}

/** startCharon, fn, and charon stopped whatever happens. */
export async function withCharon<T>(o: CharonOptions, fn: (c: Charon) => Promise<T>): Promise<T> {
  const c = await startCharon(o);
  try {
    return await fn(c);
  } finally {
    await c.stop();
  }
}
