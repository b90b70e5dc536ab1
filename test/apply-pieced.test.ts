// Large files verified and staged part by part against the current release (manifest `parts`): only the parts a
// change touched are read from the bundle; every byte staged is still bound by the manifest, a tampered part is
// refused or never used, and the release is byte-identical to one staged from the whole file.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES } from './helpers';
import { fixtureBundle } from '../src/apply/sandbox';
import { Runner, StepError } from '../src/apply/runner';
import { layout } from '../src/apply/layout';
import { contentOf, openRelease, patchedOf, releasePath, stage, verifyBundle } from '../src/apply/release';
import { changedSections } from '../src/apply/incremental/patched';
import { nftPlan } from '../src/apply/incremental/nft';
import { NFT_MARKER } from '../src/apply/incremental/sections';
import { formatManifest, partsOf, PARTS_MIN } from '../src/bundle/manifest';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-apply-pieced-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const BIG = 'nftables/big.nft';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A gateway-wide file of `n` tenants' sections (about 3 MB at 18,000), `extra` added after tenant 9000. */
function bigText(n: number, extra = ''): Buffer {
  const out: string[] = ['table inet s2sgw {\n'];
  for (let t = 1; t <= n; t++) {
    out.push(`# tenant t${t} (tenants/t${t}.yaml)\nchain t${t}_in {\n  ip saddr 10.${t >> 8}.${t & 255}.0/24 accept\n  counter drop comment "t${t} ${'x'.repeat(t % 97)}"\n}\n`);
    if (t === 9000) out.push(extra);
  }
  return Buffer.from(out.join(''));
}

/** A fixture bundle with BIG added and listed with its sha256 and parts. */
function bundleWith(dir: string, big: Buffer): void {
  fixtureBundle(path.join(FIXTURES, 'apply', 'v1'), dir);
  fs.mkdirSync(path.dirname(path.join(dir, BIG)), { recursive: true });
  fs.writeFileSync(path.join(dir, BIG), big);
  const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  m.files[BIG] = { sha256: sha(big), mode: '0644', parts: partsOf(big) };
  m.files = Object.fromEntries(Object.entries(m.files).sort(([a], [b]) => (a < b ? -1 : 1)));
  fs.writeFileSync(path.join(dir, 'manifest.json'), formatManifest(m));
}

const v1 = bigText(18000);
const v2 = bigText(18000, '# tenant t9000a (tenants/t9000a.yaml)\nchain t9000a_in {\n  accept\n}\n');

/** A host root with v1 staged as its release; v2's bundle (fresh) next to it. */
async function host(name: string) {
  const runner = new Runner({ root: path.join(tmp, name, 'root') });
  const l = layout(runner);
  const a = path.join(tmp, name, 'a');
  bundleWith(a, v1);
  const r1 = await stage(verifyBundle(a), 'secrets {\n}\n', l, runner);
  const current = openRelease(l, r1.name)!;
  const b = path.join(tmp, name, 'b');
  bundleWith(b, v2);
  return { runner, l, current, b };
}

test('partsOf: the same bytes cut alike; a section added in the middle changes the parts around it only', () => {
  assert.ok(v1.length >= PARTS_MIN);
  const p1 = partsOf(v1);
  assert.equal(partsOf(Buffer.from(v1)), p1);
  assert.is(p1.reduce((n, [len]) => n + len, 0), v1.length);
  assert.ok(p1.length > 20, `${p1.length} parts`);
  const held = new Set(p1.map(([len, s]) => `${len}:${s}`));
  const fresh = partsOf(v2).filter(([len, s]) => !held.has(`${len}:${s}`));
  assert.ok(fresh.length >= 1 && fresh.length <= 3, `${fresh.length} of ${p1.length} parts changed`);
});

test('verify reads only the changed parts; the staged file is byte-identical to the bundle\'s and to a whole staging', async () => {
  const { runner, l, current, b } = await host('same');
  const v = verifyBundle(b, { reuse: current });
  const f = v.files.find((x) => x.path === BIG)!;
  assert.ok(f.pieces, 'verified part by part');
  assert.not.ok(f.content, 'the whole file was not read');
  const read = f.pieces!.filter((x) => x.bytes).reduce((n, x) => n + x.len, 0);
  assert.ok(read > 0 && read * 10 < v2.length, `${read} of ${v2.length} bytes read from the bundle`);
  const r2 = await stage(v, 'secrets {\n}\n', l, runner, current);
  assert.ok(fs.readFileSync(releasePath(r2, BIG)).equals(v2), 'piecewise-staged file = the bundle\'s');
  assert.ok(contentOf(v, BIG)!.equals(v2), 'contentOf assembles the same bytes');
  // The same bundle staged whole (no current release) in another root: every file the same bytes.
  const other = new Runner({ root: path.join(tmp, 'same', 'root-whole') });
  const whole = await stage(verifyBundle(b), 'secrets {\n}\n', layout(other), other);
  assert.is(whole.name, r2.name);
  for (const p of [...Object.keys(v.manifest.files), 'manifest.json']) assert.ok(fs.readFileSync(releasePath(r2, p)).equals(fs.readFileSync(releasePath(whole, p))), p);
});

test('a plan reads the sections around the changed parts (patchedOf), not the whole file: the same nft plan, the file never assembled', async () => {
  const { runner, l, current, b } = await host('patched');
  const v = verifyBundle(b, { reuse: current });
  const p = patchedOf(v, BIG);
  assert.ok(p, 'pieced');
  assert.is(p!.old, releasePath(current, BIG));
  assert.is(patchedOf(v, 'manifest.json'), undefined);
  const cut = changedSections(p!, NFT_MARKER);
  assert.ok(cut && cut.now.length * 4 < v2.length, 'a small cut');
  const touched = ['t9000a', 't17'];
  assert.equal(nftPlan(cut!.old, cut!.now, touched), nftPlan(v1, v2, touched));
  assert.ok(nftPlan(cut!.old, cut!.now, touched).script.includes('chain t9000a_in'));
  assert.not.ok(v.files.find((x) => x.path === BIG)!.content, 'the whole file was not assembled');
  // The staged release answers the same (check and the reload steps plan from it).
  const r2 = await stage(v, 'secrets {\n}\n', l, runner, current);
  assert.equal(changedSections(r2.patched!(BIG)!, NFT_MARKER), cut);
});

test('a tampered changed part of the bundle, or a file of another length, is refused', async () => {
  const { current, b } = await host('tampered-new');
  const file = path.join(b, BIG);
  const at = v2.indexOf('t9000a_in');
  const bad = Buffer.from(v2);
  bad[at] ^= 1;
  fs.writeFileSync(file, bad);
  let err: unknown;
  try {
    verifyBundle(b, { reuse: current });
  } catch (e) {
    err = e;
  }
  assert.instance(err, StepError);
  assert.match((err as StepError).tool ?? '', new RegExp(`${BIG}: sha256 .* does not match the manifest's part`));
  fs.writeFileSync(file, Buffer.concat([v2, Buffer.from('\n')]));
  err = undefined;
  try {
    verifyBundle(b, { reuse: current });
  } catch (e) {
    err = e;
  }
  assert.instance(err, StepError);
  assert.match((err as StepError).tool ?? '', `${BIG}: ${v2.length + 1} bytes, not the ${v2.length} of the manifest's parts`);
});

test('a tampered unchanged part of the bundle is never used: the release holds the signed bytes', async () => {
  const { runner, l, current, b } = await host('tampered-unchanged');
  const bad = Buffer.from(v2);
  bad[100] ^= 1;
  fs.writeFileSync(path.join(b, BIG), bad);
  const v = verifyBundle(b, { reuse: current });
  const r2 = await stage(v, 'secrets {\n}\n', l, runner, current);
  assert.ok(fs.readFileSync(releasePath(r2, BIG)).equals(v2));
  assert.ok(contentOf(v, BIG)!.equals(v2));
});

test('a tampered unchanged part of the current release is caught: the bundle\'s copy (checked whole) is used, or apply stops', async () => {
  const { runner, l, current, b } = await host('tampered-release');
  const file = releasePath(current, BIG);
  const bad = Buffer.from(v1);
  bad[100] ^= 1;
  // Releases are never written in place: replace the file as someone who tampered with it would.
  fs.rmSync(file);
  fs.writeFileSync(file, bad);
  const v = verifyBundle(b, { reuse: current });
  assert.ok(contentOf(v, BIG)!.equals(v2), 'contentOf falls back to the bundle\'s copy');
  const v2b = verifyBundle(b, { reuse: current });
  const r2 = await stage(v2b, 'secrets {\n}\n', l, runner, current);
  assert.ok(fs.readFileSync(releasePath(r2, BIG)).equals(v2), 'stage did not copy the damaged part');
  // Both copies damaged: nothing of it is staged.
  fs.rmSync(r2.dir, { recursive: true });
  const worse = Buffer.from(v2);
  worse[100] ^= 1;
  fs.writeFileSync(path.join(b, BIG), worse);
  let err: unknown;
  try {
    await stage(verifyBundle(b, { reuse: current }), 'secrets {\n}\n', l, runner, current);
  } catch (e) {
    err = e;
  }
  assert.instance(err, StepError);
  assert.match(String((err as StepError).message) + ((err as StepError).tool ?? ''), /sha256 does not match the manifest/);
  assert.not.ok(fs.existsSync(r2.dir));
});

test('a current release without parts (staged before them): the file is verified and staged whole', async () => {
  const runner = new Runner({ root: path.join(tmp, 'old', 'root') });
  const l = layout(runner);
  const a = path.join(tmp, 'old', 'a');
  bundleWith(a, v1);
  const m = JSON.parse(fs.readFileSync(path.join(a, 'manifest.json'), 'utf8'));
  delete m.files[BIG].parts;
  fs.writeFileSync(path.join(a, 'manifest.json'), formatManifest(m));
  const r1 = await stage(verifyBundle(a), 'secrets {\n}\n', l, runner);
  const current = openRelease(l, r1.name)!;
  const b = path.join(tmp, 'old', 'b');
  bundleWith(b, v2);
  const v = verifyBundle(b, { reuse: current });
  const f = v.files.find((x) => x.path === BIG)!;
  assert.not.ok(f.pieces);
  assert.ok(f.content!.equals(v2));
  const r2 = await stage(v, 'secrets {\n}\n', l, runner, current);
  assert.ok(fs.readFileSync(releasePath(r2, BIG)).equals(v2));
});

test.run();
