// The rule-ready index of a warm validate (src/validate/claims.ts): findings through it equal a whole run's.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES, tempCopy } from './helpers';
import { loadConfig } from '../src/model/load';
import { Cache } from '../src/util/cache';
import { validate } from '../src/validate';
import { claimedBy } from '../src/validate/claims';
import { allRules } from '../src/validate/rules';

test('every rule that sees every tenant is listed in claims.ts (its compared values are tokens of the index)', () => {
  const crossTenant = allRules()
    .filter((r) => r.scope !== 'tenant')
    .map((r) => r.id)
    .sort();
  assert.equal(crossTenant, Object.keys(claimedBy).sort(), 'a rule without scope "tenant" must add its values to tokens() and be listed in claimedBy');
});

test('every validate fixture: each tenant file changed in turn (a line put in front, so every place in it moves) gives the findings of a run without a cache, through the index', () => {
  const root = path.join(FIXTURES, 'validate');
  let throughIndex = 0;
  let fewer = 0;
  for (const name of fs.readdirSync(root).filter((n) => fs.statSync(path.join(root, n)).isDirectory())) {
    const dir = tempCopy(path.join(root, name));
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-index-test-'));
    try {
      const run = () => validate(loadConfig(dir), new Cache(cacheDir, assert.unreachable), { summaries: true, index: true });
      assert.equal(run().diagnostics, validate(loadConfig(dir)).diagnostics, `${name}: cold`);
      const tenants = fs.existsSync(path.join(dir, 'tenants')) ? fs.readdirSync(path.join(dir, 'tenants')).filter((f) => f.endsWith('.yaml')).sort() : [];
      for (const t of tenants) {
        const p = path.join(dir, 'tenants', t);
        fs.writeFileSync(p, `# changed\n${fs.readFileSync(p, 'utf8')}`);
        const warm = run();
        const plain = validate(loadConfig(dir)).diagnostics;
        assert.equal(warm.diagnostics, plain, `${name}: ${t} changed`);
        if (warm.model.tenants.length < warm.counts!.tenants) fewer++;
        if (warm.counts && warm.model.tenants.length <= warm.counts.tenants) throughIndex++;
      }
    } finally {
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  }
  // The index is not a dead branch: most changes go through it, and many read fewer tenants than there are.
  assert.ok(throughIndex > 50, `changes through the index: ${throughIndex}`);
  assert.ok(fewer > 20, `changes reading fewer tenants: ${fewer}`);
});

test.run();
