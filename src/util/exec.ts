// Running the real tools for checks: one helper that captures output, times out, and can enter a throwaway network namespace.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { childEnv } from './env';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Set when the program could not be started (not installed). */
  missing?: boolean;
}

export interface RunOptions {
  /** Run inside this network namespace (via `ip netns exec`). */
  netns?: string;
  input?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Where a program is, or undefined. Looks in PATH and the sbin folders a non-login root shell may lack. */
export function which(program: string): string | undefined {
  if (program.includes('/')) return fs.existsSync(program) ? program : undefined;
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/lib/frr', '/usr/lib/ipsec'];
  for (const d of dirs) {
    const p = path.join(d, program);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** Runs a program to completion. Never throws for the program's own failure. */
export function run(program: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const bin = which(program);
  if (!bin) return Promise.resolve({ code: 127, stdout: '', stderr: `${program}: not found`, missing: true });
  const [cmd, argv] = opts.netns ? [which('ip') ?? 'ip', ['netns', 'exec', opts.netns, bin, ...args]] : [bin, args];
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { env: opts.env ?? childEnv(), cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: `${stderr}${e.message}`, missing: true });
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr: signal ? `${stderr}killed by ${signal}` : stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Creates a throwaway network namespace, runs fn in it, and deletes it whatever happens. */
export async function withNetns<T>(fn: (ns: string) => Promise<T>): Promise<T> {
  const ns = `s2sgw-chk-${randomBytes(4).toString('hex')}`;
  const add = spawnSync(which('ip') ?? 'ip', ['netns', 'add', ns], { encoding: 'utf8' });
  if (add.status !== 0) throw new Error(`cannot create network namespace ${ns}: ${add.stderr.trim() || add.error?.message}`);
  try {
    spawnSync(which('ip') ?? 'ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    return await fn(ns);
  } finally {
    spawnSync(which('ip') ?? 'ip', ['netns', 'del', ns]);
  }
}

/** A fresh temporary folder, removed after fn. */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `s2sgw-${prefix}-`));
  try {
    return await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
