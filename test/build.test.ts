// Golden bundles: each test/fixtures/build/<case>/ is a config repository and its exact expected output.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES, ROOT, UPDATE, cli, compileDir, readFiles, tempCopy } from './helpers';
import { formatLines } from '../src/model/format';

const cases = fs.readdirSync(path.join(FIXTURES, 'build')).filter((c) => fs.existsSync(path.join(FIXTURES, 'build', c, 'tenants'))).sort();
// The bundled example is a golden case too: its expected bundle lives in test/fixtures/build/example/expected.
const all: Array<[string, string]> = [['example', ROOT], ...cases.filter((c) => c !== 'example').map((c): [string, string] => [c, path.join(FIXTURES, 'build', c)])];

for (const [name, dir] of all) {
  test(`golden bundle: ${name}`, () => {
    const r = compileDir(dir);
    // fleet's lock still holds a removed tenant and connection (its README): build warns and retires them.
    assert.is(formatLines(r.diagnostics.filter((d) => !(name === 'fleet' && /^lock\/unknown-/.test(d.code)))), '', `${name} should build clean`);
    assert.ok(r.ok);
    const actual = new Map<string, string>();
    for (const b of r.bundles) for (const f of b.files) actual.set(`${b.gateway}/${f.path}`, f.content);
    actual.set('allocations.lock.yaml', r.lockText!);
    const expectedDir = path.join(FIXTURES, 'build', name, 'expected');
    if (UPDATE) {
      fs.rmSync(expectedDir, { recursive: true, force: true });
      for (const [p, c] of actual) {
        fs.mkdirSync(path.dirname(path.join(expectedDir, p)), { recursive: true });
        fs.writeFileSync(path.join(expectedDir, p), c);
      }
    }
    const expected = readFiles(expectedDir);
    assert.equal([...actual.keys()].sort(), [...expected.keys()].sort(), `${name}: the set of files`);
    for (const [p, c] of actual) assert.fixture(c, expected.get(p) ?? '', `${name}: ${p}`);
  });
}

// `s2sgw build` writes each file as it is made (src/bundle/write.ts, StagedTree) instead of holding the bundle: the
// same files and bytes as the bundle made in memory, and nothing staged left beside out/<gateway>/.
for (const [name, dir] of all) {
  test(`golden bundle, written as made: ${name}`, async () => {
    const repo = tempCopy(dir);
    const out = path.join(repo, 'out');
    const r = await cli(['build', '--config', repo, '--out', out, '--quiet'], repo);
    assert.is(r.code, 0, r.err);
    const expectedDir = path.join(FIXTURES, 'build', name, 'expected');
    const expected = new Map([...readFiles(expectedDir)].filter(([p]) => p !== 'allocations.lock.yaml'));
    const written = readFiles(out);
    assert.equal([...written.keys()], [...expected.keys()].sort(), `${name}: the set of files`);
    for (const [p, c] of written) assert.ok(c === expected.get(p), `${name}: ${p}`);
    assert.equal(fs.readdirSync(out).filter((n) => n.startsWith('.')), [], `${name}: nothing staged left behind`);
  });
}

test('build --gateway writes only that gateway; a build that fails (after rendering too) leaves out/ as it was, nothing staged', async () => {
  const repo = tempCopy(path.join(FIXTURES, 'build', 'fleet'));
  const out = path.join(repo, 'out');
  const gateways = fs.readdirSync(path.join(repo, 'gateways')).map((n) => n.replace(/\.yaml$/, '')).sort();
  assert.ok(gateways.length > 1, 'fleet has several gateways');
  const one = await cli(['build', '--config', repo, '--out', out, '--quiet', '--gateway', gateways[0]], repo);
  assert.is(one.code, 0, one.err);
  assert.equal(fs.readdirSync(out), [gateways[0]]);
  const before = readFiles(out);
  // gateways[0] is rendered and staged before build finds that the other one does not exist.
  const unknown = await cli(['build', '--config', repo, '--out', out, '--gateway', gateways[0], '--gateway', 'nosuch'], repo);
  assert.is(unknown.code, 2, unknown.err);
  assert.equal(fs.readdirSync(out), [gateways[0]], 'no staged tree left behind (unknown gateway)');
  assert.equal(readFiles(out), before, 'out/ as it was (unknown gateway)');
  const tenant = path.join(repo, 'tenants', fs.readdirSync(path.join(repo, 'tenants')).sort()[0]);
  fs.writeFileSync(tenant, fs.readFileSync(tenant, 'utf8') + 'no-such-field: 1\n');
  const bad = await cli(['build', '--config', repo, '--out', out], repo);
  assert.is(bad.code, 1, bad.err);
  assert.equal(fs.readdirSync(out), [gateways[0]], 'no staged tree left behind');
  assert.equal(readFiles(out), before, 'out/ as it was');
});

test.run();
