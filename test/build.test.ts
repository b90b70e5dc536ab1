// Golden bundles: each test/fixtures/build/<case>/ is a config repository and its exact expected output.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES, ROOT, UPDATE, compileDir, readFiles } from './helpers';
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

test.run();
