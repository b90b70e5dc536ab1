// switch without a host's daemons: the live files it copies (frr.conf) are compared by their stamp while their stat has
// not moved, read and compared byte for byte otherwise, and a hand edit is always put back.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES } from './helpers';
import { fixtureBundle } from '../src/apply/sandbox';
import { Runner } from '../src/apply/runner';
import { layout } from '../src/apply/layout';
import { Release, stage, verifyBundle } from '../src/apply/release';
import { switchTo } from '../src/apply/live';
// The module object itself (`import * as` gives a copy of getters): what live.ts's reads go through.
import rawFs = require('node:fs');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-apply-live-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const FRR = '/etc/frr/frr.conf';

/** The paths fs.readFileSync read while `fn` ran. */
function reads<T>(fn: () => T): { out: T; read: string[] } {
  const real = rawFs.readFileSync;
  const read: string[] = [];
  (rawFs as { readFileSync: unknown }).readFileSync = (p: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
    if (typeof p === 'string') read.push(p);
    return (real as (...a: unknown[]) => unknown)(p, ...rest);
  };
  try {
    return { out: fn(), read };
  } finally {
    (rawFs as { readFileSync: unknown }).readFileSync = real;
  }
}

async function host(name: string): Promise<{ runner: Runner; l: ReturnType<typeof layout>; r1: Release; r2: Release; live: string }> {
  const runner = new Runner({ root: path.join(tmp, name, 'root') });
  const l = layout(runner);
  const staged: Release[] = [];
  for (const v of ['v1', 'v2']) {
    const b = path.join(tmp, name, v);
    fixtureBundle(path.join(FIXTURES, 'apply', v), b);
    // A release as opened from disk (no bytes held from verify): switch reads what it needs.
    const r = await stage(verifyBundle(b), 'secrets {\n}\n', l, runner);
    staged.push({ ...r, read: undefined });
  }
  return { runner, l, r1: staged[0], r2: staged[1], live: runner.host(FRR) };
}

test('switch: an unchanged live frr.conf whose stat has not moved since switch wrote it is not read again', async () => {
  const { runner, l, r1, live } = await host('unchanged');
  const want = fs.readFileSync(path.join(r1.dir, 'frr/frr.conf'));
  assert.ok(switchTo(l, runner, r1).includes(FRR));
  assert.equal(fs.readFileSync(live), want);
  const stamps = JSON.parse(fs.readFileSync(l.liveStamps, 'utf8'));
  assert.is(stamps[FRR].sha, r1.manifest.files['frr/frr.conf'].sha256);
  const again = reads(() => switchTo(l, runner, r1));
  assert.not.ok(again.out.includes(FRR));
  assert.not.ok(again.read.includes(live), 'the live copy is not read');
  assert.not.ok(again.read.some((p) => p.endsWith('frr/frr.conf')), "nor the release's");
});

test('switch: a hand edit of the live frr.conf is put back, even at the same size with its modification time put back', async () => {
  const { runner, l, r1, live } = await host('edited');
  switchTo(l, runner, r1);
  const want = fs.readFileSync(live);
  const st = fs.statSync(live);
  const edited = Buffer.from(want);
  edited[edited.length - 2] = edited[edited.length - 2] === 0x21 ? 0x23 : 0x21;
  fs.writeFileSync(live, edited);
  fs.utimesSync(live, st.atime, st.mtime);
  assert.ok(switchTo(l, runner, r1).includes(FRR), 'written again');
  assert.equal(fs.readFileSync(live), want);
  // Replaced by rename with the same bytes (another inode): compared, left, and stamped anew.
  fs.writeFileSync(`${live}.new`, want);
  fs.renameSync(`${live}.new`, live);
  const compared = reads(() => switchTo(l, runner, r1));
  assert.ok(compared.read.includes(live), 'read to compare');
  assert.not.ok(compared.out.includes(FRR), 'the same bytes are left');
  assert.not.ok(reads(() => switchTo(l, runner, r1)).read.includes(live), 'stamped: not read the next time');
});

test('switch: a damaged or missing stamp record only costs a comparison; another release\'s frr.conf is written', async () => {
  const { runner, l, r1, r2, live } = await host('damaged');
  switchTo(l, runner, r1);
  for (const bad of ['{"/etc/frr/frr.conf":', '[]', null]) {
    if (bad === null) fs.rmSync(l.liveStamps);
    else fs.writeFileSync(l.liveStamps, bad);
    const r = reads(() => switchTo(l, runner, r1));
    assert.ok(r.read.includes(live), `compared (${bad})`);
    assert.not.ok(r.out.includes(FRR));
  }
  assert.ok(r2.manifest.files['frr/frr.conf'].sha256 !== r1.manifest.files['frr/frr.conf'].sha256, 'the fixture changes frr.conf');
  // A stamp of r1's bytes does not stand for r2's: r2's frr.conf is written.
  // Copied from the release's file by the kernel (its bytes are not held here), with the live file's mode.
  assert.ok(switchTo(l, runner, r2).includes(FRR));
  assert.equal(fs.readFileSync(live), fs.readFileSync(path.join(r2.dir, 'frr/frr.conf')));
  assert.is(fs.statSync(live).mode & 0o777, 0o640);
  assert.is(fs.readdirSync(path.dirname(live)).filter((n) => n.endsWith('.tmp')).length, 0, 'no temporary copy left');
  assert.not.ok(reads(() => switchTo(l, runner, r2)).read.includes(live), 'stamped when copied');
  assert.ok(switchTo(l, runner, r1).includes(FRR));
  assert.equal(fs.readFileSync(live), fs.readFileSync(path.join(r1.dir, 'frr/frr.conf')));
  // No release: the host as it was (no frr.conf before s2sgw), and no stamp left for it.
  switchTo(l, runner, null);
  assert.not.ok(fs.existsSync(live));
  assert.is(JSON.parse(fs.readFileSync(l.liveStamps, 'utf8'))[FRR], undefined);
});

test.run();
