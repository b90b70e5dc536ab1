// verify against the current release: the shortcut (an unchanged file is taken from the release, not read) refuses a
// tampered changed file, a missing unchanged one and an extra one with the same diagnostics as a whole verify.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES } from './helpers';
import { fixtureBundle } from '../src/apply/sandbox';
import { StepError } from '../src/apply/runner';
import { verifyBundle } from '../src/apply/release';
import { parseManifest } from '../src/bundle/manifest';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-apply-verify-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function refused(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.instance(e, StepError);
    assert.is((e as StepError).step, 'verify');
    return (e as StepError).tool ?? '';
  }
  assert.unreachable('verify should refuse');
  return '';
}

test('against a release: a tampered changed file, a missing unchanged one and an extra one are refused as without it', () => {
  const rel = path.join(tmp, 'v1');
  fixtureBundle(path.join(FIXTURES, 'apply', 'v1'), rel);
  const current = { name: 'current', dir: rel, manifest: parseManifest(fs.readFileSync(path.join(rel, 'manifest.json'))), flat: true };
  const b = path.join(tmp, 'v2');
  fixtureBundle(path.join(FIXTURES, 'apply', 'v2'), b);
  const v = verifyBundle(b, { reuse: current });
  const changed = v.files.filter((f) => f.content).map((f) => f.path);
  const unchanged = v.files.filter((f) => !f.content).map((f) => f.path);
  assert.ok(changed.length > 0 && unchanged.length > 0, 'v1 -> v2 changes some files and keeps others');
  // A changed file is read and hashed: tampering with it after signing is caught.
  fs.appendFileSync(path.join(b, changed[0]), '# tampered\n');
  assert.match(refused(() => verifyBundle(b, { reuse: current })), new RegExp(`^${changed[0].replace(/[.]/g, '\\.')}: sha256 .* does not match the manifest's`, 'm'));
  fixtureBundle(path.join(FIXTURES, 'apply', 'v2'), b);
  // An unchanged file the bundle lacks is missing, as without a release.
  fs.rmSync(path.join(b, unchanged[0]));
  assert.match(refused(() => verifyBundle(b, { reuse: current })), new RegExp(`^${unchanged[0].replace(/[.]/g, '\\.')}: listed in the manifest but missing$`, 'm'));
  assert.match(refused(() => verifyBundle(b)), new RegExp(`^${unchanged[0].replace(/[.]/g, '\\.')}: listed in the manifest but missing$`, 'm'));
  fixtureBundle(path.join(FIXTURES, 'apply', 'v2'), b);
  // An extra file among the per-tenant files the release shares.
  fs.writeFileSync(path.join(b, 'swanctl/conf.d/extra.conf'), 'connections {}\n');
  assert.match(refused(() => verifyBundle(b, { reuse: current })), /^swanctl\/conf\.d\/extra\.conf: not in the manifest \(an extra file\)$/m);
});

test.run();
