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
import { stage, stageSync, verifyBundle } from '../src/apply/release';

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

test.run();
