// The fixture table: every folder under test/fixtures/validate/ is a config repository whose
// diagnostics must equal its errors.txt (one line per place). UPDATE=1 rewrites errors.txt.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../src/model/load';
import { formatLines } from '../src/model/format';
import { validate } from '../src/validate';
import Ajv2020 from 'ajv/dist/2020';

/** The repository root, from dist-*\/test/ or test/. */
export const ROOT = path.resolve(__dirname, '..', fs.existsSync(path.join(__dirname, '..', 'package.json')) ? '' : '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'validate');

const cases = fs
  .readdirSync(FIXTURES)
  .filter((d) => fs.statSync(path.join(FIXTURES, d)).isDirectory())
  .sort();

test('the table has at least 45 cases', () => {
  assert.ok(cases.length >= 45, `only ${cases.length} cases`);
});

for (const name of cases) {
  test(`fixture ${name}`, () => {
    const dir = path.join(FIXTURES, name);
    const got = formatLines(validate(loadConfig(dir)).diagnostics);
    const file = path.join(dir, 'errors.txt');
    if (process.env.UPDATE === '1') fs.writeFileSync(file, got);
    assert.ok(fs.existsSync(file), `${name}/errors.txt is missing (run with UPDATE=1 and review it)`);
    assert.fixture(got, fs.readFileSync(file, 'utf8'));
    // A case named ok-* must be clean; every other case must find something.
    if (name.startsWith('ok-')) assert.is(got, '', `${name} must validate clean`);
    else assert.ok(got.length > 0, `${name} must produce diagnostics`);
  });
}

test('both schemas are valid JSON Schema 2020-12 (the validator skips that check on every run)', () => {
  const ajv = new Ajv2020({ strict: true, strictTuples: false });
  for (const name of ['gateway', 'tenant']) {
    const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'schema', `${name}.schema.json`), 'utf8'));
    assert.ok(ajv.validateSchema(schema), `${name}.schema.json: ${ajv.errorsText(ajv.errors)}`);
  }
  // The check can fail: a schema with a misspelt type is refused.
  assert.not.ok(ajv.validateSchema({ type: 'strnig' }), 'a bad schema is refused');
});

test('the bundled example validates clean', () => {
  const r = validate(loadConfig(ROOT));
  assert.is(formatLines(r.diagnostics), '');
  assert.ok(r.ok);
  assert.is(r.model.tenants.length, 2);
});

test.run();
