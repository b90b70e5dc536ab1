// stage without a host: what the programs it starts are given (never the apply's environment, which holds the PSKs).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES } from './helpers';
import { fixtureBundle } from '../src/apply/sandbox';
import { Runner } from '../src/apply/runner';
import { layout } from '../src/apply/layout';
import { readReleaseFile, SECRETS_CONF, stage, stageSync, verifyBundle } from '../src/apply/release';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-apply-stage-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('stage: `sync -f` runs with the host tools\' environment, without the PSK variables apply resolves', async () => {
  const b = path.join(tmp, 'bundle');
  fixtureBundle(path.join(FIXTURES, 'apply', 'v1'), b);
  // A `sync` first on PATH that writes down the environment it was given, then syncs as the real one would.
  const bin = path.join(tmp, 'bin');
  const seen = path.join(tmp, 'sync-env');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'sync'), `#!/bin/sh\nenv > ${seen}\nexec /bin/sync "$@"\n`, { mode: 0o755 });
  const saved = { PATH: process.env.PATH, T1_SITE1_PSK: process.env.T1_SITE1_PSK, fsyncMax: stageSync.fsyncMax };
  process.env.PATH = `${bin}:${process.env.PATH}`;
  // The fixture's few files would be synced one by one: syncfs is for many.
  stageSync.fsyncMax = 0;
  process.env.T1_SITE1_PSK = 'stage-test-psk-0123456789-abcdef';
  try {
    const runner = new Runner({ root: path.join(tmp, 'root') });
    const r = await stage(verifyBundle(b), 'secrets {\n}\n', layout(runner), runner);
    assert.ok(fs.existsSync(path.join(r.dir, 'manifest.json')));
    const env = fs.readFileSync(seen, 'utf8');
    assert.match(env, /^PATH=/m, 'sync was run, with PATH');
    assert.not.match(env, /T1_SITE1_PSK|stage-test-psk/);
  } finally {
    stageSync.fsyncMax = saved.fsyncMax;
    process.env.PATH = saved.PATH;
    if (saved.T1_SITE1_PSK === undefined) delete process.env.T1_SITE1_PSK;
    else process.env.T1_SITE1_PSK = saved.T1_SITE1_PSK;
  }
});

test('stage: a few written files are synced one by one, without syncfs (which flushes every dirty page of the file system)', async () => {
  const b = path.join(tmp, 'bundle-few');
  fixtureBundle(path.join(FIXTURES, 'apply', 'v1'), b);
  const bin = path.join(tmp, 'bin-few');
  const seen = path.join(tmp, 'sync-ran');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'sync'), `#!/bin/sh\ntouch ${seen}\nexec /bin/sync "$@"\n`, { mode: 0o755 });
  const saved = process.env.PATH;
  process.env.PATH = `${bin}:${process.env.PATH}`;
  try {
    const runner = new Runner({ root: path.join(tmp, 'root-few') });
    const v = verifyBundle(b);
    assert.ok(v.files.length > 0 && v.files.length <= stageSync.fsyncMax);
    const r = await stage(v, 'secrets {\n}\n', layout(runner), runner);
    assert.ok(fs.existsSync(path.join(r.dir, 'manifest.json')));
    assert.not.ok(fs.existsSync(seen), 'sync -f was not run');
  } finally {
    process.env.PATH = saved;
  }
});

test('stage: secrets.conf is the current release\'s file (a hard link) when it holds the same secrets, a new file (0600) when they differ', async () => {
  const b1 = path.join(tmp, 'bundle-s1');
  const b2 = path.join(tmp, 'bundle-s2');
  fixtureBundle(path.join(FIXTURES, 'apply', 'v1'), b1);
  fixtureBundle(path.join(FIXTURES, 'apply', 'v2'), b2);
  const runner = new Runner({ root: path.join(tmp, 'root-secrets') });
  const l = layout(runner);
  const same = 'secrets {\n  ike-IfCe1 {\n    secret = 0sAAAA\n  }\n}\n';
  const r1 = await stage(verifyBundle(b1), same, l, runner);
  const conf = (r: { dir: string }) => path.join(r.dir, ...SECRETS_CONF.split('/'));
  const r2 = await stage(verifyBundle(b2, { reuse: r1 }), same, l, runner, r1);
  assert.is.not(r2.dir, r1.dir);
  assert.is(fs.statSync(conf(r2)).ino, fs.statSync(conf(r1)).ino, 'the same secrets: one file');
  assert.is(readReleaseFile(r2, SECRETS_CONF), same);
  assert.is(readReleaseFile(r1, SECRETS_CONF), same);
  // The same bundle with other secrets (a rotation) is a release of its own, its secrets.conf written anew.
  const other = same.replace('0sAAAA', '0sBBBB');
  const r3 = await stage(verifyBundle(b2, { reuse: r2 }), other, l, runner, r2);
  assert.is(path.basename(r3.dir), `${path.basename(r2.dir)}.1`);
  assert.is.not(fs.statSync(conf(r3)).ino, fs.statSync(conf(r2)).ino);
  assert.is(fs.readFileSync(conf(r3), 'utf8'), other);
  assert.is(fs.statSync(conf(r3)).mode & 0o777, 0o600);
  assert.is(fs.readFileSync(conf(r2), 'utf8'), same, 'the current release\'s file is never written');
  // A release whose secrets.conf is shared lives on when the other is removed (pruning removes a folder).
  fs.rmSync(r1.dir, { recursive: true, force: true });
  assert.is(fs.readFileSync(conf(r2), 'utf8'), same);
});

test.run();
