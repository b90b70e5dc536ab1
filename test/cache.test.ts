// The work cache (--cache-dir): cached and uncached runs give the same bytes, across edits and after corrupted entries.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES, ROOT, cli, readFiles, tempCopy } from './helpers';
import { loadConfig } from '../src/model/load';
import { cleanFiles } from '../src/model/clean';
import { filesAt } from '../src/model/git';
import { readLock } from '../src/model/lock';
import { compile } from '../src/bundle/compile';
import { Cache, Spill, sha256 } from '../src/util/cache';
import { crossIndexRuns, validate } from '../src/validate';
import { PreviousTree, readTree, replaceTree, TreeIndex, TreeRecord } from '../src/bundle/write';
import { allRules } from '../src/validate/rules';
import { Piece, segmentsOf } from '../src/bundle/bundle';
import { generateTempRepo, tenantName } from '../bench/generate';

const env: NodeJS.ProcessEnv = { ...process.env };
delete env.S2SGW_CACHE_DIR;

const temps: string[] = [];
process.on('exit', () => temps.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-cache-test-'));
  temps.push(d);
  return d;
}

function git(dir: string, ...args: string[]): void {
  const r = spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
}

/** A third tenant, fabrikam, made from woodgrove's file with its own names and addresses; `vlan` its VLAN line (4001 is woodgrove's). */
function addFabrikam(dir: string, vlan: string): void {
  const text = fs
    .readFileSync(path.join(dir, 'tenants', 'woodgrove.yaml'), 'utf8')
    .replace('tenant: woodgrove', 'tenant: fabrikam')
    .replace('1000-2000-3000-123456780002', '1000-2000-3000-123456780009')
    .replace(/IfWi1/g, 'IfFi1')
    .replace(/IfWe/g, 'IfFe')
    .replace('vlan: 4001', vlan)
    .replace(/131\.107\.(\d)\.10/g, '131.107.$1.20')
    .replace(/WOODGROVE/g, 'FABRIKAM');
  fs.writeFileSync(path.join(dir, 'tenants', 'fabrikam.yaml'), text);
}

function edit(dir: string, file: string, from: string | RegExp, to: string): void {
  const p = path.join(dir, file);
  const text = fs.readFileSync(p, 'utf8');
  const next = text.replace(from, to);
  if (next === text) throw new Error(`edit of ${file} changed nothing`);
  fs.writeFileSync(p, next);
}

/**
 * Changes a tracked file with the same size and mtime as the index records for it: the mtime is set to a whole second
 * (which utimes can give back exactly) and the index refreshed first, then `change` runs and the mtime is put back.
 */
function sameTimes(dir: string, file: string, change: () => void): void {
  const p = path.join(dir, file);
  const t = new Date((Math.floor(Date.now() / 1000) - 60) * 1000);
  fs.utimesSync(p, t, t);
  git(dir, 'update-index', '--refresh');
  const size = fs.statSync(p).size;
  change();
  fs.utimesSync(p, t, t);
  assert.is(fs.statSync(p).size, size, 'same size');
  assert.is(fs.statSync(p).mtimeMs, t.getTime(), 'same mtime');
}

/** Every command and format whose output the cache must not change; build's out/ trees are compared too. */
async function sameWithAndWithout(dir: string, cacheDir: string, step: string): Promise<void> {
  const runs: string[][] = [
    ...['text', 'json', 'github'].map((f) => ['validate', '--config', dir, '--format', f]),
    ...['text', 'json', 'markdown'].map((f) => ['plan', '--config', dir, '--against', 'HEAD', '--format', f]),
  ];
  for (const args of runs) {
    const plain = await cli(args, dir, env);
    const cached = await cli([...args, '--cache-dir', cacheDir], dir, env);
    assert.equal(cached, plain, `${step}: ${args.join(' ')}`);
  }
  // Through the environment variable too, for one command.
  const viaEnv = await cli(['validate', '--config', dir, '--format', 'json'], dir, { ...env, S2SGW_CACHE_DIR: cacheDir });
  assert.equal(viaEnv, await cli(['validate', '--config', dir, '--format', 'json'], dir, env), `${step}: S2SGW_CACHE_DIR`);
  const lock = path.join(dir, 'allocations.lock.yaml');
  const lockBefore = fs.existsSync(lock) ? fs.readFileSync(lock, 'utf8') : undefined;
  const outA = path.join(dir, '..', `${path.basename(dir)}-out-plain`);
  const outB = path.join(dir, '..', `${path.basename(dir)}-out-cached`);
  const plain = await cli(['build', '--config', dir, '--out', outA], dir, env);
  const lockPlain = fs.existsSync(lock) ? fs.readFileSync(lock, 'utf8') : undefined;
  if (lockBefore === undefined) fs.rmSync(lock, { force: true });
  else fs.writeFileSync(lock, lockBefore);
  const cached = await cli(['build', '--config', dir, '--out', outB, '--cache-dir', cacheDir], dir, env);
  assert.is(cached.code, plain.code, `${step}: build exit code`);
  assert.is(cached.out, plain.out, `${step}: build stdout`);
  assert.is(cached.err.split(outB).join(outA).split(path.basename(outB)).join(path.basename(outA)), plain.err, `${step}: build stderr`);
  assert.is(fs.existsSync(lock) ? fs.readFileSync(lock, 'utf8') : undefined, lockPlain, `${step}: lock`);
  // A failed build writes nothing: outB still holds the previous step's bundle then.
  if (plain.code === 0) assert.equal(readTree(outB), readTree(outA), `${step}: bundles (bytes and modes)`);
  else assert.not.ok(fs.existsSync(outA), `${step}: a failed build writes nothing`);
  // outB is kept from step to step: the cached build replaces the previous bundle (linking its unchanged files), outA is always new.
  fs.rmSync(outA, { recursive: true, force: true });
}

test('bundles, rendered sections and diagnostics are the same cold, warm and without a cache, for every build fixture', () => {
  const dirs = [ROOT, ...fs.readdirSync(path.join(FIXTURES, 'build')).map((n) => path.join(FIXTURES, 'build', n))].filter((d) => fs.existsSync(path.join(d, 'gateways')));
  assert.ok(dirs.length >= 6, dirs.join(' '));
  for (const dir of dirs) {
    const plain = compile(loadConfig(dir), readLock(dir), { keepRendered: true });
    const cacheDir = tempDir();
    for (const round of ['cold', 'warm']) {
      const cache = new Cache(cacheDir, (m) => assert.unreachable(m));
      const c = compile(loadConfig(dir), readLock(dir), { keepRendered: true, cache });
      assert.equal(c.diagnostics, plain.diagnostics, `${dir} ${round}: diagnostics`);
      assert.equal(c.bundles, plain.bundles, `${dir} ${round}: bundles`);
      assert.equal(c.lockText, plain.lockText, `${dir} ${round}: lock`);
      if (round === 'warm') assert.is(cache.misses, 0, `${dir}: a warm run misses nothing`);
    }
  }
});

test('every validate fixture gives the same findings (text with code frames, json) cold and warm', async () => {
  const root = path.join(FIXTURES, 'validate');
  for (const name of fs.readdirSync(root).filter((n) => fs.statSync(path.join(root, n)).isDirectory())) {
    const dir = path.join(root, name);
    const cacheDir = tempDir();
    for (const format of ['text', 'json']) {
      const plain = await cli(['validate', '--config', dir, '--format', format], dir, env);
      for (const round of ['cold', 'warm']) {
        const cached = await cli(['validate', '--config', dir, '--format', format, '--cache-dir', cacheDir], dir, env);
        assert.equal(cached, plain, `${name} ${format} ${round}`);
      }
      // Without the whole-repository entry: the tenant-scope rules' findings come tenant by tenant from the cache.
      fs.rmSync(path.join(cacheDir, 'v1', 'rules'), { recursive: true, force: true });
      assert.equal(await cli(['validate', '--config', dir, '--format', format, '--cache-dir', cacheDir], dir, env), plain, `${name} ${format} per-tenant rule entries`);
    }
  }
});

test('a sequence of edits gives the same validate, plan (text, json, markdown) and build output with a kept cache', async () => {
  const dir = tempCopy(ROOT);
  const cacheDir = tempDir();
  git(dir, 'init', '-q');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'base');
  const steps: Array<[string, () => void]> = [
    ['nothing changed', () => undefined],
    ['change a tenant', () => edit(dir, 'tenants/contoso.yaml', /metric: 100/, 'metric: 90')],
    [
      'add a tenant',
      () => addFabrikam(dir, 'vlan: 4002'),
    ],
    ['remove a tenant', () => fs.rmSync(path.join(dir, 'tenants', 'woodgrove.yaml'))],
    // The same bytes under another name: a new file and a removed one for the base side (git diff without renames).
    ['rename a tenant', () => {
      fs.renameSync(path.join(dir, 'tenants', 'fabrikam.yaml'), path.join(dir, 'tenants', 'fabrikam2.yaml'));
      edit(dir, 'tenants/fabrikam2.yaml', 'tenant: fabrikam', 'tenant: fabrikam2');
    }],
    ['rename it back, staged, and an edit of the same size', () => {
      fs.renameSync(path.join(dir, 'tenants', 'fabrikam2.yaml'), path.join(dir, 'tenants', 'fabrikam.yaml'));
      edit(dir, 'tenants/fabrikam.yaml', 'tenant: fabrikam2', 'tenant: fabrikam');
      edit(dir, 'tenants/contoso.yaml', /metric: 90/, 'metric: 95');
      git(dir, 'add', '-A');
    }],
    ['change the gateway file', () => edit(dir, 'gateways/gw1.yaml', 'dpd: 30s', 'dpd: 20s')],
    // Retires ids by moving `next` on, as a lock merged from another branch would.
    ['bump the lock', () => edit(dir, 'allocations.lock.yaml', /next:\n  table: \d+/, 'next:\n  table: 1050')],
    // Every entry truncated: both of plan's sides still give the same bytes (each damaged entry is rebuilt).
    ['damage every entry, change a tenant', () => {
      const walk = (d: string): string[] => fs.readdirSync(d).flatMap((n) => (fs.statSync(path.join(d, n)).isDirectory() ? walk(path.join(d, n)) : [path.join(d, n)]));
      const entries = walk(cacheDir);
      assert.ok(entries.length > 0);
      for (const e of entries) fs.writeFileSync(e, fs.readFileSync(e, 'utf8').slice(0, 100));
      edit(dir, 'tenants/contoso.yaml', /metric: 95/, 'metric: 80');
    }],
    // Build and plan read unchanged tenants as summaries from validate's pack and render the ones the render cache
    // misses from their whole entities: from their file entries, or (none left) parsed again.
    ['no render entries, change a tenant', () => {
      fs.rmSync(path.join(cacheDir, 'v1', 'parts'), { recursive: true, force: true });
      edit(dir, 'tenants/contoso.yaml', /metric: 80/, 'metric: 70');
    }],
    ['no file or render entries, change a tenant', () => {
      fs.rmSync(path.join(cacheDir, 'v1', 'parts'), { recursive: true, force: true });
      fs.rmSync(path.join(cacheDir, 'v1', 'file'), { recursive: true, force: true });
      edit(dir, 'tenants/contoso.yaml', /metric: 70/, 'metric: 60');
    }],
    // Git's object ids key the files the index holds unchanged (model/clean.ts): a change git must still see.
    ['change a tenant, keeping its size and mtime', () => {
      const p = path.join(dir, 'tenants', 'contoso.yaml');
      sameTimes(dir, 'tenants/contoso.yaml', () => edit(dir, 'tenants/contoso.yaml', /metric: 60/, 'metric: 61'));
      const st = fs.statSync(p);
      assert.is(st.mtimeMs % 1000, 0);
    }],
    ['stage a change: the index holds it, HEAD does not', () => {
      edit(dir, 'tenants/contoso.yaml', /metric: 61/, 'metric: 62');
      git(dir, 'add', 'tenants/contoso.yaml');
    }],
    // Findings: a schema error in one file and a conflict between a changed and an unchanged (cached) tenant.
    ['break two tenants', () => {
      edit(dir, 'tenants/fabrikam.yaml', 'vlan: 4002', 'vlan: 4001');
      edit(dir, 'tenants/contoso.yaml', /maxPrefixes: \d+/, 'maxPrefixes: many');
    }],
    // Git is told not to look at the file: its id is not trusted, the file is read.
    ['edit a file marked assume-unchanged', () => {
      git(dir, 'update-index', '--assume-unchanged', 'tenants/fabrikam.yaml');
      edit(dir, 'tenants/fabrikam.yaml', 'vlan: 4001', 'vlan: 4003');
    }],
  ];
  for (const [name, change] of steps) {
    change();
    // Plan's base side takes the work tree's bytes of every file git diff does not list: the same files as read from Git.
    const disk = new Map(loadConfig(dir).files.map((f) => [f.path, f.pending as Buffer]));
    if (fs.existsSync(path.join(dir, 'allocations.lock.yaml'))) disk.set('allocations.lock.yaml', fs.readFileSync(path.join(dir, 'allocations.lock.yaml')));
    assert.equal(filesAt(dir, 'HEAD', disk), filesAt(dir, 'HEAD'), `${name}: the base side's files`);
    await sameWithAndWithout(dir, cacheDir, name);
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', name, '--allow-empty');
  }
  assert.ok(fs.readdirSync(cacheDir).length > 0, 'the cache folder holds entries');
});

test('Git ids: only tracked files the work tree holds as the index does, and the same keys as reading them', () => {
  const dir = tempCopy(ROOT);
  assert.is(cleanFiles(dir), undefined, 'not a Git work tree');
  git(dir, 'init', '-q');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'base');
  const keys = (git: boolean) => validate(loadConfig(dir, { git }), new Cache(tempDir(), () => undefined), { summaries: true }).fileKeys!;
  const all = cleanFiles(dir)!;
  const names = loadConfig(dir).files.map((f) => f.path);
  assert.equal([...all.keys()].filter((p) => names.includes(p)).sort(), [...names].sort(), 'every file is clean after a commit');
  assert.equal(keys(true), keys(false), 'a file keyed by its Git id has the key of its bytes');
  sameTimes(dir, 'tenants/contoso.yaml', () => edit(dir, 'tenants/contoso.yaml', /metric: 100/, 'metric: 101'));
  fs.writeFileSync(path.join(dir, 'tenants', 'new.yaml'), 'tenant: new\n');
  git(dir, 'update-index', '--assume-unchanged', 'tenants/woodgrove.yaml');
  const now = cleanFiles(dir)!;
  assert.not.ok(now.has('tenants/contoso.yaml'), 'changed with the same size and mtime');
  assert.not.ok(now.has('tenants/new.yaml'), 'untracked');
  assert.not.ok(now.has('tenants/woodgrove.yaml'), 'assume-unchanged');
  assert.ok(now.has('gateways/gw1.yaml'));
  const loaded = loadConfig(dir, { git: true });
  assert.ok(loaded.files.find((f) => f.path === 'gateways/gw1.yaml')!.id?.startsWith('sha1:'));
  assert.is(loaded.files.find((f) => f.path === 'tenants/contoso.yaml')!.id, undefined);
  assert.equal(keys(true), keys(false), 'after the edits too');
});

test('replacing a built tree links only files with the same bytes and mode, and gives exactly the new files', () => {
  const root = tempDir();
  const target = path.join(root, 'gw1');
  const f = (p: string, content: string, mode = 0o644) => ({ path: p, content, mode });
  replaceTree(target, [f('a.conf', 'same\n'), f('b.conf', 'old\n'), f('c/d.conf', 'edited\n'), f('e.key', 'mode\n', 0o600), f('stale.conf', 'gone\n'), f('g.conf', 'shared\n')]);
  const ino = (p: string) => fs.statSync(path.join(target, p)).ino;
  const before = { a: ino('a.conf'), c: ino('c/d.conf'), e: ino('e.key'), g: ino('g.conf') };
  // By hand: same size, other bytes; and a second link to g.conf from outside (it must not be shared with the new tree).
  fs.writeFileSync(path.join(target, 'c/d.conf'), 'EDITED\n');
  fs.linkSync(path.join(target, 'g.conf'), path.join(root, 'elsewhere'));
  const next = [f('a.conf', 'same\n'), f('b.conf', 'new\n'), f('c/d.conf', 'edited\n'), f('e.key', 'mode\n', 0o640), f('g.conf', 'shared\n'), f('h/new.conf', 'added\n')];
  replaceTree(target, next);
  assert.equal(readFiles(target), new Map(next.map((x) => [x.path, x.content])));
  assert.is(ino('a.conf'), before.a, 'an unchanged file is linked');
  assert.is.not(ino('c/d.conf'), before.c, 'a file edited by hand is written again');
  assert.is.not(ino('e.key'), before.e, 'a file of another mode is written again');
  assert.is(fs.statSync(path.join(target, 'e.key')).mode & 0o777, 0o640);
  assert.is.not(ino('g.conf'), before.g, 'a file linked from elsewhere is not shared');
  assert.is(fs.readFileSync(path.join(root, 'elsewhere'), 'utf8'), 'shared\n');
  assert.equal(fs.readdirSync(root).sort(), ['elsewhere', 'gw1'], 'no staged or old tree left behind');
});

test('a tree index: a recorded file is not read; edited by hand with the same size and mtime it is written again', () => {
  const root = tempDir();
  const target = path.join(root, 'gw1');
  let saved: Record<string, TreeRecord> | undefined;
  let since = 0n;
  const tree: TreeIndex = {
    load: () => (saved ? { records: saved, since } : undefined),
    save: (r) => {
      saved = r;
      since = BigInt(Date.now() + 1000) * 1000000n;
    },
  };
  const f = (p: string, content: string, mode = 0o644) => ({ path: p, content, mode });
  const files = [f('a.conf', 'same\n'), f('b.conf', 'hand\n'), f('c.conf', 'lies\n')];
  const shas = (fs2: Array<{ path: string; content: string }>) => new Map(fs2.map((x) => [x.path, sha256(x.content)]));
  replaceTree(target, files, { tree, shas: shas(files) });
  assert.equal(Object.keys(saved!).sort(), ['a.conf', 'b.conf', 'c.conf']);
  const ino = (p: string) => fs.statSync(path.join(target, p)).ino;
  // b.conf's mtime set to a whole second (which utimes gives back exactly), and recorded so by a second build.
  const t = new Date((Math.floor(Date.now() / 1000) - 60) * 1000);
  fs.utimesSync(path.join(target, 'b.conf'), t, t);
  replaceTree(target, files, { tree, shas: shas(files) });
  assert.is(saved!['b.conf'][2], String(BigInt(t.getTime()) * 1000000n));
  const before = { a: ino('a.conf'), b: ino('b.conf'), c: ino('c.conf') };
  // By hand: same size, its mtime put back.
  fs.writeFileSync(path.join(target, 'b.conf'), 'HAND\n');
  fs.utimesSync(path.join(target, 'b.conf'), t, t);
  assert.is(fs.statSync(path.join(target, 'b.conf')).size, 5);
  // A record that matches its file but names other bytes: trusted, so the file is written again (it was not read).
  saved!['c.conf'][4] = sha256('other');
  replaceTree(target, files, { tree, shas: shas(files) });
  assert.equal(readFiles(target), new Map(files.map((x) => [x.path, x.content])));
  assert.is(ino('a.conf'), before.a, 'an unchanged recorded file is linked');
  assert.is.not(ino('b.conf'), before.b, 'a file edited by hand (same size, same mtime) is written again');
  assert.is.not(ino('c.conf'), before.c, 'a recorded file is compared by its record, not read');
});

test("a warm build takes unchanged tenants out of the tree the last build wrote: the bytes of a build without the cache after every edit and every damage", async () => {
  const repo = generateTempRepo({ tenants: 40 });
  temps.push(repo.dir);
  const dir = repo.dir;
  const cacheDir = tempDir();
  const out = path.join(dir, 'out');
  const plainOut = path.join(dir, 'out-plain');
  const gw = path.join(out, 'gw1');
  fs.writeFileSync(path.join(dir, '.gitignore'), 'out/\nout-plain/\n');
  assert.is((await cli(['build', '--config', dir, '--out', plainOut], dir, env)).code, 0);
  git(dir, 'init', '-q');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'base');
  // Counts the runs of old files a build reads and the files whose sha256 it takes from the tree's records.
  const slice = PreviousTree.prototype.slice;
  const shaOf = PreviousTree.prototype.shaOf;
  let sliced = 0;
  let known = 0;
  PreviousTree.prototype.slice = function (this: PreviousTree, ...a: Parameters<PreviousTree['slice']>) {
    sliced++;
    return slice.apply(this, a);
  };
  PreviousTree.prototype.shaOf = function (this: PreviousTree, ...a: Parameters<PreviousTree['shaOf']>) {
    const r = shaOf.apply(this, a);
    if (r !== undefined) known++;
    return r;
  };
  const lock = path.join(dir, 'allocations.lock.yaml');
  const tree = () => {
    const folder = path.join(cacheDir, 'v1', 'tree');
    return fs.readdirSync(folder).flatMap((d) => fs.readdirSync(path.join(folder, d)).map((n) => path.join(folder, d, n)));
  };
  /** A build without the cache and one with it into the kept out/: the same bytes, modes and lock. `kept`: the old tree was used. */
  const same = async (step: string, kept: boolean) => {
    const before = fs.readFileSync(lock, 'utf8');
    fs.rmSync(plainOut, { recursive: true, force: true });
    const plain = await cli(['build', '--config', dir, '--out', plainOut], dir, env);
    assert.is(plain.code, 0, `${step}: ${plain.err}`);
    const lockPlain = fs.readFileSync(lock, 'utf8');
    fs.writeFileSync(lock, before);
    sliced = known = 0;
    const cached = await cli(['build', '--config', dir, '--out', out, '--cache-dir', cacheDir], dir, env);
    assert.is(cached.code, 0, `${step}: ${cached.err}`);
    assert.is(fs.readFileSync(lock, 'utf8'), lockPlain, `${step}: lock`);
    assert.equal(readTree(gw), readTree(path.join(plainOut, 'gw1')), `${step}: bundle (bytes and modes)`);
    assert.equal(fs.readdirSync(out), ['gw1'], `${step}: no staged or old tree left behind`);
    assert.equal(fs.readdirSync(path.join(cacheDir, 'v1')).filter((n) => n.startsWith('.')), [], `${step}: no spill file left behind`);
    if (kept) {
      assert.ok(sliced > 0, `${step}: gateway-wide files made of the old files' runs`);
      // Each unchanged tenant's swanctl/conf.d/ file at least.
      assert.ok(known >= 35, `${step}: ${known} files' sha256s from their recipes`);
    }
  };
  const t = (i: number) => `tenants/${tenantName(i)}.yaml`;
  const removed = fs.readFileSync(path.join(dir, t(7)), 'utf8');
  const steps: Array<[string, boolean, () => void]> = [
    ['first build with the cache', false, () => undefined],
    ['nothing changed', true, () => undefined],
    ['change a tenant', true, () => edit(dir, t(20), '{ to: 10.2.0.0/16, metric: 100 }', '{ to: 10.2.0.0/16, metric: 90 }')],
    ['change the first and the last tenant', true, () => {
      edit(dir, t(1), '{ to: 10.2.0.0/16, metric: 100 }', '{ to: 10.2.0.0/16, metric: 90 }');
      edit(dir, t(40), '{ to: 10.2.0.0/16, metric: 100 }', '{ to: 10.2.0.0/16, metric: 90 }');
    }],
    ['remove a tenant', true, () => fs.rmSync(path.join(dir, t(7)))],
    ['add it back', true, () => fs.writeFileSync(path.join(dir, t(7)), removed)],
    ['bump the lock', true, () => edit(dir, 'allocations.lock.yaml', /next:\n  table: \d+/, 'next:\n  table: 1500')],
    // A file of out/ edited by hand to the same size with its mtime put back: not as recorded, never read as the old
    // tree (its runs are read from the tenants' entries).
    ['a gateway-wide file edited by hand, a tenant changed', true, () => {
      const p = path.join(gw, 'frr', 'frr.conf');
      const st = fs.statSync(p);
      fs.writeFileSync(p, fs.readFileSync(p, 'utf8').replace('exit-vrf', 'EXIT-VRF'));
      fs.utimesSync(p, st.atime, st.mtime);
      edit(dir, t(20), '{ to: 10.2.0.0/16, metric: 90 }', '{ to: 10.2.0.0/16, metric: 80 }');
    }],
    ['a one-tenant file and a summary removed from out/', true, () => {
      fs.rmSync(path.join(gw, 'swanctl', 'conf.d', `${tenantName(3)}.conf`));
      fs.rmSync(path.join(gw, 'summaries', `${tenantName(4)}.json`));
    }],
    ['a file of out/ cut short, a tenant changed', true, () => {
      const p = path.join(gw, 'nftables', 's2sgw.nft');
      fs.writeFileSync(p, fs.readFileSync(p, 'utf8').slice(0, 1000));
      edit(dir, t(20), '{ to: 10.2.0.0/16, metric: 80 }', '{ to: 10.2.0.0/16, metric: 70 }');
    }],
    // Kept tenants' texts come from out/; their parts entries are read only for a file that cannot be linked: gone
    // too, build starts again without the old tree (StaleCache) and renders what it misses.
    ['no parts entries, a one-tenant file removed from out/', false, () => {
      fs.rmSync(path.join(cacheDir, 'v1', 'parts'), { recursive: true, force: true });
      fs.rmSync(path.join(gw, 'swanctl', 'conf.d', `${tenantName(5)}.conf`));
    }],
    ['out/ removed', false, () => fs.rmSync(out, { recursive: true, force: true })],
    ['the tree entry cut short', false, () => {
      for (const e of tree()) fs.writeFileSync(e, fs.readFileSync(e, 'utf8').slice(0, 200));
    }],
    ['a build after it', true, () => undefined],
    // Two tenants' layouts swapped under a right checksum: neither is under its own render key, so neither is kept.
    ['two tenants swapped in the tree entry', true, () => {
      const [e] = tree();
      const text = fs.readFileSync(e, 'utf8');
      const body = JSON.parse(text.slice(text.indexOf('\n') + 1));
      const [x, y] = [tenantName(11), tenantName(30)];
      [body.tenants[x], body.tenants[y]] = [body.tenants[y], body.tenants[x]];
      new Cache(cacheDir, assert.unreachable).putText('tree', path.basename(e, '.json'), JSON.stringify(body));
      // Its mtime is the records' "since": set back to what it was, so that the files are not all racy.
      fs.utimesSync(e, fs.statSync(e).atime, fs.statSync(e).mtime);
    }],
    ['the parts index removed', false, () => fs.rmSync(path.join(cacheDir, 'v1', 'partsindex'), { recursive: true, force: true })],
    ['a build after it', true, () => undefined],
    // Every tenant's render key changes (at 40 tenants the parts index is not written again for it: INDEX_STALE).
    ['change the gateway file', false, () => edit(dir, 'gateways/gw1.yaml', 'dpd: 30s', 'dpd: 20s')],
  ];
  try {
    for (const [name, kept, change] of steps) {
      change();
      await same(name, kept);
      git(dir, 'add', '-A');
      git(dir, 'commit', '-qm', name, '--allow-empty');
    }
  } finally {
    PreviousTree.prototype.slice = slice;
    PreviousTree.prototype.shaOf = shaOf;
  }
});

test('after a one-tenant change the tenant-scope rules run on that tenant only; a gateway change runs them on every tenant', () => {
  const dir = tempCopy(ROOT);
  const cacheDir = tempDir();
  const rule = allRules().find((r) => r.scope === 'tenant')!;
  const check = rule.check;
  const seen: string[] = [];
  rule.check = function (ctx) {
    seen.push(...ctx.model.tenants.map((t) => t.name));
    return check.call(this, ctx);
  };
  try {
    const run = () => {
      seen.length = 0;
      const v = validate(loadConfig(dir), new Cache(cacheDir, assert.unreachable));
      return { seen: [...seen].sort(), diagnostics: v.diagnostics };
    };
    assert.equal(run().seen, ['contoso', 'woodgrove'], 'cold: every tenant');
    assert.equal(run().seen, [], 'same files: the whole-repository entry');
    edit(dir, 'tenants/contoso.yaml', /metric: 100/, 'metric: 90');
    const one = run();
    assert.equal(one.seen, ['contoso'], 'one tenant changed');
    assert.equal(one.diagnostics, validate(loadConfig(dir)).diagnostics.map((d) => d), 'same findings as without a cache');
    edit(dir, 'gateways/gw1.yaml', 'dpd: 30s', 'dpd: 20s');
    assert.equal(run().seen, ['contoso', 'woodgrove'], 'the gateway file changed');
  } finally {
    rule.check = check;
  }
});

test('truncated, garbage, other-version and misplaced entries are rebuilt, never used', async () => {
  const dir = tempCopy(ROOT);
  const cacheDir = tempDir();
  const first = compile(loadConfig(dir), readLock(dir), { keepRendered: true, cache: new Cache(cacheDir, assert.unreachable) });
  const entries: string[] = [];
  const walk = (d: string) => {
    for (const n of fs.readdirSync(d).sort()) {
      const p = path.join(d, n);
      if (fs.statSync(p).isDirectory()) walk(p);
      else entries.push(p);
    }
  };
  walk(cacheDir);
  assert.ok(entries.length >= 5, `entries: ${entries.length}`);
  const text = entries.map((e) => fs.readFileSync(e, 'utf8'));
  const corrupt: Array<[string, (e: string, i: number) => void]> = [
    ['truncated', (e, i) => fs.writeFileSync(e, text[i].slice(0, Math.floor(text[i].length / 2)))],
    ['garbage', (e) => fs.writeFileSync(e, Buffer.from([0xff, 0x00, 0x13, 0x37, 0x0a, 0x7b]))],
    ['another s2sgw version', (e, i) => fs.writeFileSync(e, text[i].replace(/^(\S+) (\S+) /, '$1 0.0.0-other '))],
    ['another entry under this name', (e, i) => fs.writeFileSync(e, text[(i + 1) % text.length])],
    ['payload changed, checksum not', (e, i) => fs.writeFileSync(e, `${text[i]} `)],
  ];
  for (const [what, damage] of corrupt) {
    entries.forEach((e, i) => damage(e, i));
    const cache = new Cache(cacheDir, assert.unreachable);
    const again = compile(loadConfig(dir), readLock(dir), { keepRendered: true, cache });
    assert.equal(again.diagnostics, first.diagnostics, `${what}: diagnostics`);
    assert.equal(again.bundles, first.bundles, `${what}: bundles`);
    assert.is(cache.hits, 0, `${what}: no damaged entry is used`);
    // Rebuilt: the next run uses every entry again (with sections, as the run that rebuilt them: without, a compile
    // reads unchanged tenants from validate's pack of summaries, which that run does not write).
    const next = new Cache(cacheDir, assert.unreachable);
    compile(loadConfig(dir), readLock(dir), { keepRendered: true, cache: next });
    assert.is(next.misses, 0, `${what}: entries rebuilt`);
  }
  const plain = await cli(['validate', '--config', dir, '--format', 'json'], dir, env);
  entries.forEach((e) => fs.writeFileSync(e, ''));
  assert.equal(await cli(['validate', '--config', dir, '--format', 'json', '--cache-dir', cacheDir], dir, env), plain, 'empty entries');
});

test('validate with summaries: unchanged tenants come from the pack, a gateway change reruns the tenant-scope rules on whole entities, damaged shards are rebuilt', () => {
  const dir = tempCopy(ROOT);
  const cacheDir = tempDir();
  const pack = path.join(cacheDir, 'v1', 'pack');
  const plain = () => validate(loadConfig(dir)).diagnostics;
  // A summary keeps no network addresses: a tenant whose model entity has none came from the pack.
  const run = () => {
    const v = validate(loadConfig(dir), new Cache(cacheDir, assert.unreachable), { summaries: true });
    return { packed: v.model.tenants.filter((t) => t.network.addresses.length === 0).map((t) => t.name).sort(), diagnostics: v.diagnostics };
  };
  const same = (step: string, packed: string[]) => {
    const r = run();
    assert.equal(r.diagnostics, plain(), `${step}: findings`);
    assert.equal(r.packed, packed, `${step}: tenants from the pack`);
  };
  // Findings of both kinds in the tenant that stays unchanged: a tenant-scope rule's (duplicate-route) and a conflict (duplicate-vlan).
  edit(dir, 'tenants/woodgrove.yaml', '{ to: 10.2.0.0/16, metric: 100 }', '{ to: 10.1.0.0/16, metric: 100 }');
  edit(dir, 'tenants/contoso.yaml', 'vlan: 4000', 'vlan: 4001');
  assert.ok(plain().some((d) => d.code === 'duplicate-route') && plain().some((d) => d.code === 'duplicate-vlan'), 'the edits make findings');
  same('cold', []);
  same('warm', ['contoso', 'woodgrove']);
  edit(dir, 'tenants/contoso.yaml', /metric: 100/, 'metric: 90');
  same('one tenant changed', ['woodgrove']);
  // Without `file` entries too: the unchanged tenant's whole entity is parsed again from its text.
  edit(dir, 'gateways/gw1.yaml', 'dpd: 30s', 'dpd: 20s');
  fs.rmSync(path.join(cacheDir, 'v1', 'file'), { recursive: true, force: true });
  fs.rmSync(path.join(cacheDir, 'v1', 'rules'), { recursive: true, force: true });
  same('the gateway file changed', ['contoso', 'woodgrove']);
  fs.rmSync(path.join(cacheDir, 'v1', 'rules'), { recursive: true, force: true });
  same('after the gateway change', ['contoso', 'woodgrove']);
  const shards = () => fs.readdirSync(pack).flatMap((d) => fs.readdirSync(path.join(pack, d)).map((n) => path.join(pack, d, n)));
  const text = new Map(shards().map((e) => [e, fs.readFileSync(e, 'utf8')]));
  assert.ok(text.size >= 1 && text.size <= 2, `two tenants fill one or two shards, not ${text.size}`);
  const other = (e: string) => [...text.values()].find((t) => t !== text.get(e)) ?? 's2sgw-cache/1 x y z\n{}';
  const corrupt: Array<[string, (e: string) => void]> = [
    ['truncated', (e) => fs.writeFileSync(e, text.get(e)!.slice(0, Math.floor(text.get(e)!.length / 2)))],
    ['garbage', (e) => fs.writeFileSync(e, Buffer.from([0xff, 0x00, 0x13, 0x37, 0x0a, 0x7b]))],
    ['another s2sgw version', (e) => fs.writeFileSync(e, text.get(e)!.replace(/^(\S+) (\S+) /, '$1 0.0.0-other '))],
    ['another shard under this name', (e) => fs.writeFileSync(e, other(e))],
    ['payload changed, checksum not', (e) => fs.writeFileSync(e, `${text.get(e)} `)],
    ['empty', (e) => fs.writeFileSync(e, '')],
    [
      // A shard whose checksum is right but whose records are not these files' (another content of each file).
      'records of other contents, checksum right',
      (e) => {
        const head = text.get(e)!.slice(0, text.get(e)!.indexOf('\n')).split(' ');
        const body = JSON.parse(text.get(e)!.slice(text.get(e)!.indexOf('\n') + 1)) as Record<string, { key: string }>;
        for (const r of Object.values(body)) r.key = sha256(r.key);
        new Cache(cacheDir, assert.unreachable).putText('pack', head[2], JSON.stringify(body));
      },
    ],
  ];
  for (const [what, damage] of corrupt) {
    for (const e of text.keys()) damage(e);
    fs.rmSync(path.join(cacheDir, 'v1', 'rules'), { recursive: true, force: true });
    same(`${what}: not used`, []);
    fs.rmSync(path.join(cacheDir, 'v1', 'rules'), { recursive: true, force: true });
    same(`${what}: rebuilt`, ['contoso', 'woodgrove']);
  }
  // The lock's findings come from a `lock` entry keyed by its bytes and the tenants' names and connections.
  edit(dir, 'allocations.lock.yaml', /table: 1001/, 'table: 254');
  assert.ok(plain().some((d) => d.code === 'lock/reserved-id'), 'the lock edit makes a finding');
  same('a lock finding', ['contoso', 'woodgrove']);
  const locks = path.join(cacheDir, 'v1', 'lock');
  const lockEntries = fs.readdirSync(locks).flatMap((d) => fs.readdirSync(path.join(locks, d)).map((n) => path.join(locks, d, n)));
  assert.ok(lockEntries.length >= 1, 'a lock entry');
  same('a lock finding, warm', ['contoso', 'woodgrove']);
  for (const e of lockEntries) fs.writeFileSync(e, fs.readFileSync(e, 'utf8').slice(0, 80));
  same('a lock finding, truncated lock entry', ['contoso', 'woodgrove']);
  edit(dir, 'tenants/woodgrove.yaml', 'tenant: woodgrove', 'tenant: woodgrove ');
  fs.rmSync(path.join(dir, 'tenants', 'contoso.yaml'));
  same('a tenant removed, the other changed', []);
  same('after removing a tenant', ['woodgrove']);
  assert.not.ok(shards().some((e) => fs.readFileSync(e, 'utf8').includes('contoso.yaml')), "a removed tenant's record is dropped");
});

test('a conflict between two unchanged tenants is found on a warm run, pointing at both files; a cut shard is not used', () => {
  const dir = tempCopy(ROOT);
  const cacheDir = tempDir();
  // fabrikam takes woodgrove's VLAN: a duplicate-vlan finding between two tenants that the edit below leaves alone.
  addFabrikam(dir, 'vlan: 4001');
  const plain = () => validate(loadConfig(dir)).diagnostics;
  const run = () => {
    const v = validate(loadConfig(dir), new Cache(cacheDir, assert.unreachable), { summaries: true });
    return { packed: v.model.tenants.filter((t) => t.network.addresses.length === 0).map((t) => t.name).sort(), diagnostics: v.diagnostics };
  };
  const conflict = (found: ReturnType<typeof plain>) => {
    const d = found.filter((x) => x.code === 'duplicate-vlan');
    assert.is(d.length, 1, 'one duplicate-vlan finding');
    const places = [d[0], ...(d[0].related ?? [])].map((p) => `${p.file}:${p.line}:${p.col}`).sort();
    assert.equal(places, ['tenants/fabrikam.yaml:8:9', 'tenants/woodgrove.yaml:8:9'], 'the finding and its related place point at both files');
  };
  conflict(plain());
  assert.equal(run().diagnostics, plain(), 'cold');
  edit(dir, 'tenants/contoso.yaml', /metric: 100/, 'metric: 90');
  const warm = run();
  assert.equal(warm.packed, ['fabrikam', 'woodgrove'], 'both tenants of the conflict come from the pack');
  assert.equal(warm.diagnostics, plain(), 'warm');
  conflict(warm.diagnostics);
  // Every shard cut short (its checksum no longer matches): not used, then rebuilt.
  const pack = path.join(cacheDir, 'v1', 'pack');
  for (const d of fs.readdirSync(pack)) for (const n of fs.readdirSync(path.join(pack, d))) {
    const e = path.join(pack, d, n);
    fs.writeFileSync(e, fs.readFileSync(e, 'utf8').slice(0, -40));
  }
  edit(dir, 'tenants/contoso.yaml', /metric: 90/, 'metric: 80');
  const cut = run();
  assert.equal(cut.packed, [], 'no tenant from a cut shard');
  assert.equal(cut.diagnostics, plain(), 'cut shards');
  edit(dir, 'tenants/contoso.yaml', /metric: 80/, 'metric: 70');
  const rebuilt = run();
  assert.equal(rebuilt.packed, ['fabrikam', 'woodgrove'], 'rebuilt shards are used');
  assert.equal(rebuilt.diagnostics, plain(), 'rebuilt');
  conflict(rebuilt.diagnostics);
});

test('a rendered-sections entry whose parts do not add up is rebuilt, never used, though its checksum is right', () => {
  const dir = tempCopy(ROOT);
  const cacheDir = tempDir();
  const first = compile(loadConfig(dir), readLock(dir), { keepRendered: true, cache: new Cache(cacheDir, assert.unreachable) });
  const folder = path.join(cacheDir, 'v1', 'parts');
  const entries = fs.readdirSync(folder).flatMap((d) => fs.readdirSync(path.join(folder, d)).map((n) => path.join(folder, d, n)));
  assert.ok(entries.length >= 2, `entries: ${entries.length}`);
  const text = entries.map((e) => fs.readFileSync(e, 'utf8'));
  const warm = new Cache(cacheDir, assert.unreachable);
  compile(loadConfig(dir), readLock(dir), { keepRendered: true, cache: warm });
  assert.is(warm.misses, 0);
  // Each damage keeps the first line's form (magic, version, key, the payload's sha256): only the entry's own structure is wrong.
  const rewrite = (i: number, body: (lines: string[]) => string) => {
    const nl = text[i].indexOf('\n');
    const [magic, version, key] = text[i].slice(0, nl).split(' ');
    const b = body(text[i].slice(nl + 1).split('\n'));
    fs.writeFileSync(entries[i], `${magic} ${version} ${key} ${sha256(b)}\n${b}`);
  };
  // The first length in the line's parts (line 1: after "targets", its summary holds numbers too).
  const longer = (l: string) => {
    const from = Math.max(0, l.indexOf('"targets":'));
    return l.slice(0, from) + l.slice(from).replace(/,(\d+)\]/, (_, n) => `,${Number(n) + 1}]`);
  };
  const damages: Array<[string, (lines: string[]) => string, boolean]> = [
    ['a part one character longer', ([h, m, ...rest]) => [longer(h), m, ...rest].join('\n'), false],
    ['a character more after the parts', (lines) => `${lines.join('\n')}x`, false],
    ['a section one character longer', ([h, m, ...rest]) => [h, longer(m), ...rest].join('\n'), true],
    ['no digest', ([h, ...rest]) => [h.replace(/"digest":"[0-9a-f]+"/, '"digest":7'), ...rest].join('\n'), false],
    ['a target missing', ([h, ...rest]) => [h.replace(/"sysctl":\[[^\]]*\],?/, ''), ...rest].join('\n'), false],
    ['not JSON', ([h, ...rest]) => [h.slice(1), ...rest].join('\n'), false],
  ];
  for (const [what, damage, onlySections] of damages) {
    entries.forEach((_, i) => rewrite(i, damage));
    assert.ok(entries.some((e, i) => fs.readFileSync(e, 'utf8') !== text[i]), `${what}: damaged`);
    const cache = new Cache(cacheDir, assert.unreachable);
    const again = compile(loadConfig(dir), readLock(dir), { keepRendered: true, cache });
    assert.equal(again.bundles, first.bundles, `${what}: bundles`);
    // The other entries hit; no damaged rendered-sections entry does.
    assert.is(cache.hits, warm.hits - entries.length, `${what}: no damaged entry is used`);
    if (!onlySections) {
      // Without --check (no sections asked for), the same damage is a miss as well.
      entries.forEach((_, i) => rewrite(i, damage));
      const plain = compile(loadConfig(dir), readLock(dir), { cache: new Cache(cacheDir, assert.unreachable) });
      assert.equal(plain.bundles.map((b) => b.files), first.bundles.map((b) => b.files), `${what}: files without sections`);
    }
    // Rebuilt: the next run uses every entry again.
    const next = new Cache(cacheDir, assert.unreachable);
    compile(loadConfig(dir), readLock(dir), { keepRendered: true, cache: next });
    assert.is(next.misses, 0, `${what}: entries rebuilt`);
    entries.forEach((e, i) => (text[i] = fs.readFileSync(e, 'utf8')));
  }
});

test('a cache folder that cannot be written is a warning, never a failure', async () => {
  const dir = tempCopy(ROOT);
  const notADir = path.join(tempDir(), 'a-file');
  fs.writeFileSync(notADir, 'not a folder\n');
  const plain = await cli(['build', '--config', dir, '--out', path.join(dir, 'out-a'), '--format', 'json'], dir, env);
  const r = await cli(['build', '--config', dir, '--out', path.join(dir, 'out-b'), '--format', 'json', '--cache-dir', notADir], dir, env);
  assert.is(r.code, 0, r.err);
  assert.is(r.out, plain.out);
  const warnings = r.err.split('\n').filter((l) => l.includes('warning: cannot write the cache folder'));
  assert.is(warnings.length, 1, r.err);
  assert.match(warnings[0], notADir);
  assert.equal(readFiles(path.join(dir, 'out-b')), readFiles(path.join(dir, 'out-a')));
});

test('an inline secret never enters the cache; references do, as references', async () => {
  const dir = tempCopy(ROOT);
  const cacheDir = tempDir();
  edit(dir, 'tenants/woodgrove.yaml', 'psk: env:WOODGROVE_NY_PSK', 'psk: "Sup3r-S3cret-Value"');
  const plain = await cli(['validate', '--config', dir], dir, env);
  for (const round of ['cold', 'warm']) {
    const r = await cli(['validate', '--config', dir, '--cache-dir', cacheDir], dir, env);
    assert.equal(r, plain, round);
    assert.is(r.code, 1);
  }
  const all = [...readFiles(cacheDir).values()].join('\n');
  assert.ok(all.length > 0, 'other files are cached');
  assert.not.ok(all.includes('Sup3r-S3cret-Value'), 'the inline secret is not in the cache');
  assert.not.ok(all.includes('"tenant":"woodgrove"') || all.includes('"name":"woodgrove"'), 'the file holding it is not cached');
  // A clean build caches rendered sections: they hold the references only.
  const clean = tempCopy(ROOT);
  const built = await cli(['build', '--config', clean, '--cache-dir', cacheDir], clean, env);
  assert.is(built.code, 0, built.err);
  assert.ok([...readFiles(cacheDir).values()].join('\n').includes('env:WOODGROVE_NY_PSK'));
});

test('validate, build and plan say how to use the cache in their --help', async () => {
  for (const cmd of ['validate', 'build', 'plan']) {
    const r = await cli([cmd, '--help'], ROOT, env);
    assert.is(r.code, 0);
    assert.match(r.out, /^usage: s2sgw \S+ .*\[--cache-dir DIR\]/);
    assert.match(r.out, /--cache-dir DIR \(or S2SGW_CACHE_DIR=DIR\)/);
  }
});


test('the rule-ready index: a one-tenant change re-runs the cross-tenant rules over its component only, with the same findings; a damaged index is rebuilt, never used', () => {
  const dir = tempCopy(ROOT);
  const cacheDir = tempDir();
  // fabrikam takes woodgrove's VLAN: a conflict between two tenants the first edits leave alone.
  addFabrikam(dir, 'vlan: 4001');
  const plain = () => validate(loadConfig(dir)).diagnostics;
  const run = () => {
    const v = validate(loadConfig(dir, { git: false }), new Cache(cacheDir, assert.unreachable), { summaries: true, index: true });
    assert.equal(v.counts, { tenants: 3, gateways: 1 }, 'counts every tenant');
    return { seen: v.model.tenants.map((t) => t.name).sort(), diagnostics: v.diagnostics };
  };
  const vlans = (found: ReturnType<typeof plain>) => found.filter((d) => d.code === 'duplicate-vlan').map((d) => `${d.file}:${d.line}:${d.col} ${d.message}`);
  const cold = run();
  assert.equal(cold.seen, ['contoso', 'fabrikam', 'woodgrove'], 'cold: the whole run');
  assert.equal(cold.diagnostics, plain(), 'cold');
  const entry = () => {
    const d = path.join(cacheDir, 'v1', 'index');
    return fs.readdirSync(d).flatMap((s) => fs.readdirSync(path.join(d, s)).map((n) => path.join(d, s, n)));
  };
  assert.is(entry().length, 1, 'one index');
  // A change that meets no other tenant: the rules that see every tenant run over it alone; the conflict stands.
  edit(dir, 'tenants/contoso.yaml', /metric: 100/, 'metric: 90');
  const one = run();
  assert.equal(one.seen, ['contoso'], 'only the changed tenant is read');
  assert.equal(one.diagnostics, plain(), 'a change meeting no one');
  assert.is(vlans(one.diagnostics).length, 1, 'the conflict between two unchanged tenants is still reported');
  // contoso takes the same VLAN and sorts first: both others' findings now name it as the first claim.
  edit(dir, 'tenants/contoso.yaml', 'vlan: 4000', 'vlan: 4001');
  const joined = run();
  assert.equal(joined.seen, ['contoso', 'fabrikam', 'woodgrove'], 'the component: every claimant of the VLAN');
  assert.equal(joined.diagnostics, plain(), 'a change joining a conflict');
  assert.is(vlans(joined.diagnostics).length, 2);
  assert.ok(vlans(joined.diagnostics).every((m) => m.includes("already tenant contoso's")), 'both name the new first claim');
  // And leaves it: its old claims bring the others back in.
  edit(dir, 'tenants/contoso.yaml', 'vlan: 4001', 'vlan: 4000');
  const left = run();
  assert.equal(left.seen, ['contoso', 'fabrikam', 'woodgrove'], 'the component of its old claims');
  assert.equal(left.diagnostics, plain(), 'a change leaving a conflict');
  assert.is(vlans(left.diagnostics).length, 1);
  // Cut short (its checksum no longer matches): the whole run, which writes it again.
  const [file] = entry();
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').slice(0, -40));
  edit(dir, 'tenants/contoso.yaml', /metric: 90/, 'metric: 80');
  const cut = run();
  assert.equal(cut.seen, ['contoso', 'fabrikam', 'woodgrove'], 'a cut index is not used');
  assert.equal(cut.diagnostics, plain(), 'cut index');
  edit(dir, 'tenants/contoso.yaml', /metric: 80/, 'metric: 70');
  assert.equal(run().seen, ['contoso'], 'rebuilt and used');
  // A checksum that matches over a payload of another shape: not used either.
  const key = path.basename(entry()[0], '.json');
  new Cache(cacheDir, assert.unreachable).put('index', key, { tenants: { 'tenants/contoso.yaml': ['x'] }, own: {}, cross: [] });
  edit(dir, 'tenants/contoso.yaml', /metric: 70/, 'metric: 60');
  const bad = run();
  assert.equal(bad.seen, ['contoso', 'fabrikam', 'woodgrove'], 'a damaged index is not used');
  assert.equal(bad.diagnostics, plain(), 'damaged index');
  // A row under another content id is a change: the tenant is read again, never taken from the row.
  const stale = JSON.parse(fs.readFileSync(entry()[0], 'utf8').split('\n').slice(1).join('\n'));
  stale.tenants['tenants/woodgrove.yaml'][0] = 'sha1:0000000000000000000000000000000000000000';
  new Cache(cacheDir, assert.unreachable).put('index', key, stale);
  const rowStale = run();
  assert.ok(rowStale.seen.includes('woodgrove'), 'a stale row is a change');
  assert.equal(rowStale.diagnostics, plain(), 'stale row');
});

test('plan takes unchanged tenants from the parts index and reads their texts only where a diff shows them; a damaged index or entry is never used', async () => {
  const repo = generateTempRepo({ tenants: 40 });
  temps.push(repo.dir);
  const dir = repo.dir;
  const cacheDir = tempDir();
  fs.writeFileSync(path.join(dir, '.gitignore'), 'out/\n');
  assert.is((await cli(['build', '--config', dir, '--out', path.join(dir, 'out')], dir, env)).code, 0);
  git(dir, 'init', '-q');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'base');
  // CI on the base commit fills the cache (build writes the parts index), then a pull request changes one tenant.
  assert.is((await cli(['build', '--config', dir, '--out', path.join(dir, 'out'), '--cache-dir', cacheDir], dir, env)).code, 0);
  edit(dir, `tenants/${tenantName(20)}.yaml`, '{ to: 10.2.0.0/16, metric: 100 }', '{ to: 10.2.0.0/16, metric: 90 }');
  const args = ['plan', '--config', dir, '--against', 'HEAD', '--format', 'json'];
  const plain = await cli(args, dir, env);
  assert.is(plain.code, 3);
  const folder = path.join(cacheDir, 'v1', 'partsindex');
  const [index] = fs.readdirSync(folder).flatMap((d) => fs.readdirSync(path.join(folder, d)).map((n) => path.join(folder, d, n)));
  const written = fs.readFileSync(index, 'utf8');
  const parts = path.join(cacheDir, 'v1', 'parts');
  const entries = fs.readdirSync(parts).flatMap((d) => fs.readdirSync(path.join(parts, d)).map((n) => path.join(parts, d, n)));
  const entryTexts = entries.map((e) => fs.readFileSync(e, 'utf8'));
  // Pieces in a lean compile (plan's side built now): how many tenants' parts came from the index.
  const fromIndex = () => {
    const c = compile(loadConfig(dir), undefined, { cache: new Cache(cacheDir, assert.unreachable), lean: true });
    return new Set(c.bundles.flatMap((b) => b.files.flatMap((f) => segmentsOf(f) ?? [])).filter((s) => s instanceof Piece)).size;
  };
  // Counts the pieces whose text a cached plan reads.
  const text = Object.getOwnPropertyDescriptor(Piece.prototype, 'text')!;
  let reads = 0;
  Object.defineProperty(Piece.prototype, 'text', { ...text, get(this: Piece) { reads++; return text.get!.call(this); } });
  const cached = async (what: string) => {
    reads = 0;
    assert.equal(await cli([...args, '--cache-dir', cacheDir], dir, env), plain, what);
    return reads;
  };
  try {
    // Every unchanged tenant's parts (8 to 10 each), none of the changed one's.
    const all = fromIndex();
    assert.ok(all >= 39 * 8, `the unchanged tenants come from the index: ${all} pieces`);
    const read = await cached('index as written');
    // A few tenants' parts around the change, in each of the files it touches; not the 39 others'.
    assert.ok(read > 0 && read < 60, `${read} pieces read`);
    const damages: Array<[string, () => void]> = [
      ['truncated', () => fs.writeFileSync(index, written.slice(0, Math.floor(written.length / 2)))],
      ['garbage', () => fs.writeFileSync(index, Buffer.from([0xff, 0x00, 0x13, 0x37, 0x0a, 0x7b]))],
      ['another s2sgw version', () => fs.writeFileSync(index, written.replace(/^(\S+) (\S+) /, '$1 0.0.0-other '))],
      ['payload changed, checksum not', () => fs.writeFileSync(index, `${written} `)],
    ];
    for (const [what, damage] of damages) {
      damage();
      assert.is(fromIndex(), 0, `${what}: not used`);
      await cached(what);
      // Rebuilt by the next build (of the work tree: the changed tenant's record too).
      assert.is((await cli(['build', '--config', dir, '--out', path.join(dir, 'out2'), '--cache-dir', cacheDir], dir, env)).code, 0);
      assert.is(fromIndex(), all + all / 39, `${what}: rebuilt`);
      fs.writeFileSync(index, written);
    }
    // Two tenants' records swapped, under a right checksum: neither is under its own render key, so both are read from their entries.
    const nl = written.indexOf('\n');
    const body = JSON.parse(written.slice(nl + 1));
    const [x, y] = [tenantName(3), tenantName(30)];
    [body.tenants[x], body.tenants[y]] = [body.tenants[y], body.tenants[x]];
    new Cache(cacheDir, assert.unreachable).putText('partsindex', path.basename(index, '.json'), JSON.stringify(body));
    const swapped = fromIndex();
    assert.ok(swapped > 0 && swapped < all - 10, `swapped records: ${swapped} of ${all} pieces`);
    await cached('swapped records');
    fs.writeFileSync(index, written);
    // The index as written, but the entries it points at gone or cut short: the pieces a diff reads cannot be had, and
    // plan runs again from the entries (which render what they miss).
    for (const [what, damage] of [
      ['entries removed', (e: string) => fs.rmSync(e)],
      ['entries cut short', (e: string, i: number) => fs.writeFileSync(e, entryTexts[i].slice(0, -10))],
    ] as Array<[string, (e: string, i: number) => void]>) {
      entries.forEach(damage);
      await cached(what);
      entries.forEach((e, i) => fs.writeFileSync(e, entryTexts[i]));
    }
  } finally {
    Object.defineProperty(Piece.prototype, 'text', text);
  }
});

test("plan's two sides take the rules that see every tenant from validate's rule-ready index, with an uncached run's output: a conflict the change makes, one it resolves, one the base holds", async () => {
  // Each case: the base commit, validate with the cache there (it writes the index), the change, optionally validate
  // again (the index then holds the side built now, and plan's base side is the change), and plan in every format.
  const cases: Array<{ name: string; base: (dir: string) => void; change: (dir: string) => void; validateAfter: boolean; code: number }> = [
    { name: 'a change meeting no one', base: (d) => addFabrikam(d, 'vlan: 4002'), change: (d) => edit(d, 'tenants/contoso.yaml', /metric: 100/, 'metric: 90'), validateAfter: false, code: 3 },
    // contoso takes woodgrove's VLAN: the side built now does not validate, its findings name both files.
    { name: 'a conflict the change makes', base: (d) => addFabrikam(d, 'vlan: 4002'), change: (d) => edit(d, 'tenants/contoso.yaml', 'vlan: 4000', 'vlan: 4001'), validateAfter: false, code: 1 },
    { name: 'a conflict the change makes, validated first', base: (d) => addFabrikam(d, 'vlan: 4002'), change: (d) => edit(d, 'tenants/contoso.yaml', 'vlan: 4000', 'vlan: 4001'), validateAfter: true, code: 1 },
    // The base holds fabrikam and woodgrove on one VLAN; the change moves fabrikam: the base side does not validate.
    { name: 'a conflict the change resolves', base: (d) => addFabrikam(d, 'vlan: 4001'), change: (d) => edit(d, 'tenants/fabrikam.yaml', 'vlan: 4001', 'vlan: 4002'), validateAfter: false, code: 3 },
    { name: 'a conflict the change resolves, validated first', base: (d) => addFabrikam(d, 'vlan: 4001'), change: (d) => edit(d, 'tenants/fabrikam.yaml', 'vlan: 4001', 'vlan: 4002'), validateAfter: true, code: 3 },
  ];
  for (const c of cases) {
    const dir = tempCopy(ROOT);
    const cacheDir = tempDir();
    c.base(dir);
    git(dir, 'init', '-q');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'base');
    await cli(['validate', '--config', dir, '--cache-dir', cacheDir], dir, env);
    c.change(dir);
    if (c.validateAfter) await cli(['validate', '--config', dir, '--cache-dir', cacheDir], dir, env);
    // Without the `rules` entries (the findings for exactly one set of files; validate's whole run at the base wrote
    // one the base side would hit) both sides go through the index.
    assert.ok(fs.existsSync(path.join(cacheDir, 'v1', 'rules')));
    fs.rmSync(path.join(cacheDir, 'v1', 'rules'), { recursive: true, force: true });
    for (const format of ['text', 'json', 'markdown']) {
      const args = ['plan', '--config', dir, '--against', 'HEAD', '--format', format];
      const before = crossIndexRuns.count;
      const cached = await cli([...args, '--cache-dir', cacheDir], dir, env);
      const runs = crossIndexRuns.count - before;
      // The first plan writes each side's `rules` entry (the findings for exactly these files): the next ones hit it.
      if (format === 'text') assert.is(runs, c.code === 1 ? 1 : 2, `${c.name}: both sides through the index (the base side only when the side built now validates)`);
      const before2 = crossIndexRuns.count;
      const plain = await cli(args, dir, env);
      assert.is(crossIndexRuns.count, before2, 'no index without a cache');
      assert.equal(cached, plain, `${c.name} (${format})`);
      assert.is(plain.code, c.code, `${c.name} (${format}): exit code`);
      if (c.code === 1) assert.ok(/duplicate-vlan/.test(plain.out + plain.err), `${c.name}: the conflict is reported`);
      if (c.name.includes('resolves')) assert.ok(/itself does not validate/.test(plain.err), `${c.name}: the base side's conflict is found`);
    }
  }
});

test('a Spill gives back what was appended by its byte offsets, across its writes, and removes its file', () => {
  const dir = tempDir();
  const failed: unknown[] = [];
  const spill = new Spill(path.join(dir, 'v1', '.spill-test.tmp'), (e) => failed.push(e));
  const texts = ['plain\n', 'naïve café ✓\n', 'x'.repeat(3 << 20), '', 'tail \u{1F600}\n'];
  const at = texts.map((t) => spill.append(t));
  assert.ok(fs.existsSync(path.join(dir, 'v1', '.spill-test.tmp')), 'written once more than a chunk is pending');
  // Read back out of order, some from the file and some still pending.
  for (const i of [4, 1, 2, 0, 3]) assert.ok(spill.read(at[i], Buffer.byteLength(texts[i])).toString('utf8') === texts[i], `text ${i}`);
  spill.close();
  assert.not.ok(fs.existsSync(path.join(dir, 'v1', '.spill-test.tmp')), 'removed');
  assert.equal(failed, []);
  // A folder that cannot be written: the spill fails (the cache turns off), nothing is thrown.
  const blocked = path.join(dir, 'file');
  fs.writeFileSync(blocked, '');
  const bad = new Spill(path.join(blocked, 'v1', '.spill-test.tmp'), (e) => failed.push(e));
  bad.append('y'.repeat(2 << 20));
  assert.ok(bad.failed && failed.length === 1, 'failed once');
  bad.close();
});

test.run();
