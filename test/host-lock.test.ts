// The host lock: one per --root whatever the network namespace, freed by the kernel when its holder dies (even by SIGKILL).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { acquire, lockPath } from '../src/apply/host-lock';
import { StepError } from '../src/apply/runner';

const DIST = path.resolve(__dirname, '..');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-host-lock-'));
const id = randomBytes(3).toString('hex');
const nsA = `s2sgw-lka-${id}`;
const nsB = `s2sgw-lkb-${id}`;
for (const ns of [nsA, nsB]) assert.is(spawnSync('ip', ['netns', 'add', ns]).status, 0, `ip netns add ${ns}`);
process.on('exit', () => {
  for (const ns of [nsA, nsB]) spawnSync('ip', ['netns', 'del', ns]);
  fs.rmSync(root, { recursive: true, force: true });
});

/** A node process in network namespace `ns` that takes the lock (waiting up to waitMs), prints "took" or the error, then holds it. */
function inNetns(ns: string, waitMs: number) {
  const code = `require(${JSON.stringify(path.join(DIST, 'src/apply/host-lock'))}).acquire(${JSON.stringify(root)}, 'apply --bundle x', ${waitMs}).then(() => { console.log('took'); setInterval(() => {}, 1000); }, (e) => { console.log('refused: ' + e.message); process.exit(1); });`;
  const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const said = new Promise<string>((r) => p.stdout.on('data', (d) => ((out += d), out.includes('\n') && r(out.trim()))));
  const done = new Promise<number | null>((r) => p.on('close', (c) => r(c)));
  return { p, said, done };
}

test('two applies in two network namespaces on one root: the second is refused naming the first; the lock frees when the first is SIGKILLed', async () => {
  const a = inNetns(nsA, 0);
  assert.is(await a.said, 'took');
  // The lock file names its holder: the node process inside `ip netns exec`.
  const holder = JSON.parse(fs.readFileSync(lockPath(root), 'utf8'));
  assert.is(holder.command, 'apply --bundle x');
  const b = inNetns(nsB, 300);
  assert.is(await b.said, `refused: another s2sgw holds the host lock for ${root}: pid ${holder.pid} (apply --bundle x, since ${holder.since}); waited 0 s`);
  assert.is(await b.done, 1);
  // This process (the host's namespace) is refused too.
  try {
    await acquire(root, 'rollback', 0);
    assert.unreachable('the lock was taken twice');
  } catch (e) {
    assert.instance(e, StepError);
    assert.match((e as Error).message, new RegExp(`pid ${holder.pid} \\(apply --bundle x`));
  }
  // A waiter in the other namespace gets the lock once the holder dies by SIGKILL (nobody cleans up after it).
  const c = inNetns(nsB, 20000);
  await new Promise((r) => setTimeout(r, 300));
  process.kill(holder.pid, 'SIGKILL');
  assert.is(await c.said, 'took');
  c.p.kill('SIGKILL');
  await c.done;
  await a.done;
});

test('release frees the lock at once for the next apply; the lock file stays 0600 under the state folder', async () => {
  const l = await acquire(root, 'apply --bundle y', 0);
  assert.is(fs.statSync(lockPath(root)).mode & 0o777, 0o600);
  await l.release();
  const l2 = await acquire(root, 'confirm', 0);
  await l2.release();
});

test.run();
