// Where a bundle comes from: build records the source commit (and whether the inputs differed from it) in the manifest.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, cli, tempCopy } from './helpers';

function git(dir: string, ...args: string[]): string {
  const r = spawnSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'commit.gpgsign=false', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

const manifestOf = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'out/gw1/manifest.json'), 'utf8'));

test('build records the commit, clean or dirty, and the s2sgw version; same commit, same bytes; no repository: null', async () => {
  const dir = tempCopy(ROOT);
  // Not in a repository: the source is null.
  assert.is((await cli(['build', '--config', dir])).code, 0);
  assert.is(manifestOf(dir).source, null);
  assert.match(manifestOf(dir).compiler, /^s2sgw \d+\.\d+\.\d+/);
  git(dir, 'init', '-q');
  fs.writeFileSync(path.join(dir, '.gitignore'), 'out/\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'config');
  const head = git(dir, 'rev-parse', 'HEAD');
  assert.is((await cli(['build', '--config', dir])).code, 0);
  const first = fs.readFileSync(path.join(dir, 'out/gw1/manifest.json'));
  assert.equal(manifestOf(dir).source, { commit: head, dirty: false });
  assert.is(manifestOf(dir).gateway, 'gw1');
  // Built again from the same commit: the same bytes.
  assert.is((await cli(['build', '--config', dir])).code, 0);
  assert.ok(fs.readFileSync(path.join(dir, 'out/gw1/manifest.json')).equals(first));
  // A tenant edited (not committed) makes the source dirty; so does an untracked tenant file.
  const t = path.join(dir, 'tenants', fs.readdirSync(path.join(dir, 'tenants'))[0]);
  fs.appendFileSync(t, '# edited\n');
  assert.is((await cli(['build', '--config', dir])).code, 0);
  assert.equal(manifestOf(dir).source, { commit: head, dirty: true });
  git(dir, 'checkout', '-q', '--', 'tenants');
  fs.writeFileSync(path.join(dir, 'tenants', 'notes.txt'), 'x\n');
  assert.is((await cli(['build', '--config', dir])).code, 0);
  assert.equal(manifestOf(dir).source, { commit: head, dirty: true });
  fs.rmSync(path.join(dir, 'tenants', 'notes.txt'));
  // A lock this build changes is not the commit's lock either.
  fs.rmSync(path.join(dir, 'allocations.lock.yaml'));
  git(dir, 'commit', '-q', '-a', '-m', 'no lock');
  assert.is((await cli(['build', '--config', dir])).code, 0);
  assert.equal(manifestOf(dir).source, { commit: git(dir, 'rev-parse', 'HEAD'), dirty: true });
});

test.run();
