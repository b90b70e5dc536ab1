// verify against the current release: the shortcut (an unchanged file is taken from the release, neither read nor
// looked for) refuses a damaged changed file with the same diagnostics as a whole verify, and never uses the bundle's
// copy of an unchanged one nor a file the manifest does not list.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES } from './helpers';
import { fixtureBundle } from '../src/apply/sandbox';
import { StepError } from '../src/apply/runner';
import { contentOf, openRelease, Release, verifyBundle } from '../src/apply/release';
import type { Layout } from '../src/apply/layout';
import { formatManifest, parseManifest } from '../src/bundle/manifest';

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

test('against a release: a damaged file under a differing line is refused as without it; under an identical line it is never used', () => {
  const rel = path.join(tmp, 'v1');
  fixtureBundle(path.join(FIXTURES, 'apply', 'v1'), rel);
  const current = { name: 'current', dir: rel, manifest: parseManifest(fs.readFileSync(path.join(rel, 'manifest.json'))), flat: true };
  const b = path.join(tmp, 'v2');
  fixtureBundle(path.join(FIXTURES, 'apply', 'v2'), b);
  const v = verifyBundle(b, { reuse: current });
  const changed = v.files.filter((f) => f.content).map((f) => f.path);
  const unchanged = v.files.filter((f) => !f.content).map((f) => f.path);
  assert.ok(changed.length > 0 && unchanged.length > 0, 'v1 -> v2 changes some files and keeps others');
  const re = (p: string) => p.replace(/[.]/g, '\\.');
  // A changed file is read and hashed: tampering with it after signing is caught, with or without a release.
  fs.appendFileSync(path.join(b, changed[0]), '# tampered\n');
  for (const reuse of [current, undefined]) assert.match(refused(() => verifyBundle(b, { reuse })), new RegExp(`^${re(changed[0])}: sha256 .* does not match the manifest's`, 'm'));
  fixtureBundle(path.join(FIXTURES, 'apply', 'v2'), b);
  // A changed file that is missing, or a symlink (even to the right bytes), or behind a symlinked folder.
  fs.rmSync(path.join(b, changed[0]));
  for (const reuse of [current, undefined]) assert.match(refused(() => verifyBundle(b, { reuse })), new RegExp(`^${re(changed[0])}: listed in the manifest but missing$`, 'm'));
  fs.symlinkSync(path.join(FIXTURES, 'apply', 'v2', changed[0]), path.join(b, changed[0]));
  for (const reuse of [current, undefined]) assert.match(refused(() => verifyBundle(b, { reuse })), new RegExp(`^${re(changed[0])}: not a regular file`, 'm'));
  fixtureBundle(path.join(FIXTURES, 'apply', 'v2'), b);
  const nested = changed.find((p) => p.includes('/'));
  assert.ok(nested, 'a changed file in a folder');
  const folder = nested!.slice(0, nested!.indexOf('/'));
  fs.renameSync(path.join(b, folder), path.join(tmp, 'moved'));
  fs.symlinkSync(path.join(tmp, 'moved'), path.join(b, folder));
  for (const reuse of [current, undefined]) {
    const tool = refused(() => verifyBundle(b, { reuse }));
    assert.match(tool, new RegExp(`^${re(folder)}: not a regular file`, 'm'));
    assert.match(tool, new RegExp(`^${re(nested!)}: listed in the manifest but missing$`, 'm'));
  }
  fs.rmSync(path.join(tmp, 'moved'), { recursive: true });
  fixtureBundle(path.join(FIXTURES, 'apply', 'v2'), b);
  // An unchanged file (its line the same as the release's) is the release's copy: the bundle's is never read, so
  // damage to it (tampered, missing, a symlink) changes nothing verify hands on. Without a release it is refused.
  const damages: Array<[string, (f: string) => void, RegExp]> = [
    ['tampered', (f) => fs.appendFileSync(f, '# tampered\n'), /: sha256 .* does not match/],
    ['a symlink', (f) => (fs.rmSync(f), fs.symlinkSync('/etc/passwd', f)), /: not a regular file/],
    ['missing', (f) => fs.rmSync(f), /: listed in the manifest but missing$/],
  ];
  for (const [what, damage, without] of damages) {
    for (const p of unchanged) damage(path.join(b, ...p.split('/')));
    const w = verifyBundle(b, { reuse: current });
    for (const p of unchanged) {
      const f = w.files.find((x) => x.path === p);
      assert.ok(f && !f.content && f.reused === path.join(rel, ...p.split('/')), `${p} (${what}) is the release's copy`);
      assert.equal(contentOf(w, p), fs.readFileSync(path.join(rel, ...p.split('/'))), `${p}'s bytes are the release's`);
    }
    const tool = refused(() => verifyBundle(b));
    for (const p of unchanged) assert.match(tool, new RegExp(`^${re(p)}${without.source}`, 'm'));
    fixtureBundle(path.join(FIXTURES, 'apply', 'v2'), b);
  }
  // A file the manifest does not list is never handed on (so never staged); against a release it is not looked
  // for, and without one (a first apply, s2sgw sign) it is refused.
  fs.writeFileSync(path.join(b, 'swanctl/conf.d/extra.conf'), 'connections {}\n');
  assert.not.ok(verifyBundle(b, { reuse: current }).files.some((f) => f.path === 'swanctl/conf.d/extra.conf'));
  assert.match(refused(() => verifyBundle(b)), /^swanctl\/conf\.d\/extra\.conf: not in the manifest \(an extra file\)$/m);
});

test('against a release: a listed path that is not plain is refused, never looked up; odd entries as without it', () => {
  const rel = path.join(tmp, 'v1p');
  fixtureBundle(path.join(FIXTURES, 'apply', 'v1'), rel);
  const current = { name: 'current', dir: rel, manifest: parseManifest(fs.readFileSync(path.join(rel, 'manifest.json'))), flat: true };
  const b = path.join(tmp, 'v1q');
  fixtureBundle(path.join(FIXTURES, 'apply', 'v1'), b);
  const m = JSON.parse(fs.readFileSync(path.join(b, 'manifest.json'), 'utf8'));
  for (const p of ['../v1p/manifest.json', 'a//b', '/abs']) m.files[p] = { sha256: '0'.repeat(64), mode: '0644' };
  // Entries that are null: an extra file where there is one, else missing; the signature listed but absent: missing.
  fs.writeFileSync(path.join(b, 'null.conf'), 'x\n');
  m.files['null.conf'] = null;
  m.files['gone.conf'] = null;
  m.files['manifest.json.sig'] = { sha256: '0'.repeat(64), mode: '0644' };
  fs.writeFileSync(path.join(b, 'manifest.json'), JSON.stringify(m, null, 2) + '\n');
  const tools = [current, undefined].map((reuse) => refused(() => verifyBundle(b, { reuse, allowExtra: ['manifest.json.sig'] })));
  for (const tool of tools) {
    for (const p of ['../v1p/manifest.json', 'a//b', '/abs']) {
      assert.ok(tool.includes(`${p}: listed in the manifest but missing`), p);
      assert.ok(tool.includes(`${p}: not a plain relative path`), p);
    }
    assert.match(tool, /^null\.conf: not in the manifest \(an extra file\)$/m);
    assert.match(tool, /^gone\.conf: listed in the manifest but missing$/m);
    assert.match(tool, /^manifest\.json\.sig: listed in the manifest but missing$/m);
    assert.not.match(tool, /does not match/);
  }
  assert.is(tools[0], tools[1], 'the same diagnostics with and without the release');
});

/** verifyBundle as apply calls it: the current release `releases`/cur opened from the bundle's manifest (deriveManifest). */
function verifyOpened(b: string, releases: string) {
  const bytes = fs.readFileSync(path.join(b, 'manifest.json'));
  let opened: Release | null = null;
  const v = verifyBundle(b, { manifestBytes: bytes, reuse: (m) => (opened = openRelease({ releases } as Layout, 'cur', false, { bytes, manifest: m })) });
  return { v, opened: opened! };
}

test('against a release opened as apply opens it (its manifest derived from the bundle\'s): an unchanged entry is one object in both, a changed file is read', () => {
  const releases = path.join(tmp, 'releases');
  const rel = path.join(releases, 'cur');
  const b = path.join(tmp, 'v2d');
  // Both manifests in build's layout (one entry a line), which deriveManifest lines up.
  const fixture = (src: string, out: string) => {
    fixtureBundle(path.join(FIXTURES, 'apply', src), out);
    const file = path.join(out, 'manifest.json');
    fs.writeFileSync(file, formatManifest(parseManifest(fs.readFileSync(file))));
  };
  fixture('v1', rel);
  fixture('v2', b);
  const verify = () => verifyOpened(b, releases);
  const { v, opened } = verify();
  const changed = v.files.filter((f) => f.content).map((f) => f.path);
  const unchanged = v.files.filter((f) => !f.content).map((f) => f.path);
  assert.ok(changed.length > 0 && unchanged.length > 0);
  for (const p of unchanged) assert.ok(opened.manifest.files[p] === v.manifest.files[p], `${p}: one entry object`);
  for (const p of changed) assert.ok(opened.manifest.files[p] !== v.manifest.files[p], `${p}: its own entry`);
  for (const p of changed) assert.equal(contentOf(v, p), fs.readFileSync(path.join(b, ...p.split('/'))));
  // Damage under a differing line is refused; under an identical line the bundle's copy is never used.
  fs.appendFileSync(path.join(b, changed[0]), '# tampered\n');
  assert.match(refused(() => verify()), new RegExp(`^${changed[0].replace(/[.]/g, '\\.')}: sha256 .* does not match the manifest's`, 'm'));
  fixture('v2', b);
  for (const p of unchanged) fs.appendFileSync(path.join(b, p), '# tampered\n');
  const w = verify().v;
  for (const p of unchanged) assert.equal(contentOf(w, p), fs.readFileSync(path.join(rel, ...p.split('/'))), `${p}: the release's bytes`);
});

test('against a release opened as apply opens it, a bundle whose manifest is laid out otherwise (indented JSON): the release is parsed whole, a damaged changed file is refused, the bundle\'s copy of an unchanged one never used', () => {
  const releases = path.join(tmp, 'releases-indented');
  const rel = path.join(releases, 'cur');
  const b = path.join(tmp, 'v2i');
  const fixture = (src: string, out: string, layout: (m: ReturnType<typeof parseManifest>) => string) => {
    fixtureBundle(path.join(FIXTURES, 'apply', src), out);
    const file = path.join(out, 'manifest.json');
    fs.writeFileSync(file, layout(parseManifest(fs.readFileSync(file))));
  };
  // The release in build's layout, the bundle reformatted: no line of an entry lines up (deriveManifest gives up).
  const indented = (m: ReturnType<typeof parseManifest>) => `${JSON.stringify(JSON.parse(formatManifest(m)), null, 2)}\n`;
  fixture('v1', rel, formatManifest);
  fixture('v2', b, indented);
  const verify = () => verifyOpened(b, releases);
  const { v, opened } = verify();
  // Parsed whole: the release's entries are its own objects, equal to a parse of its bytes.
  const whole = parseManifest(fs.readFileSync(path.join(rel, 'manifest.json')));
  assert.equal(JSON.parse(JSON.stringify(opened.manifest.files)), JSON.parse(JSON.stringify(whole.files)));
  for (const p of Object.keys(v.manifest.files)) assert.ok(opened.manifest.files[p] !== v.manifest.files[p], `${p}: not shared`);
  const changed = v.files.filter((f) => f.content).map((f) => f.path);
  const unchanged = v.files.filter((f) => !f.content).map((f) => f.path);
  assert.ok(changed.length > 0 && unchanged.length > 0);
  fs.appendFileSync(path.join(b, changed[0]), '# tampered\n');
  assert.match(refused(() => verify()), new RegExp(`^${changed[0].replace(/[.]/g, '\\.')}: sha256 .* does not match the manifest's`, 'm'));
  fixture('v2', b, indented);
  for (const p of unchanged) fs.appendFileSync(path.join(b, p), '# tampered\n');
  const w = verify().v;
  for (const p of unchanged) assert.equal(contentOf(w, p), fs.readFileSync(path.join(rel, ...p.split('/'))), `${p}: the release's bytes`);
});

test.run();
