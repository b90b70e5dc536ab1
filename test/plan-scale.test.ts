// Plan among many tenants: a one-tenant change shows only that tenant's impact and only its diff hunks.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateTempRepo, tenantName } from '../bench/generate';
import { cli } from './helpers';

test('a one-tenant change among 300 tenants: only that tenant in the impact and the hunks', async () => {
  const repo = generateTempRepo({ tenants: 300 });
  try {
    assert.is((await cli(['build', '--config', repo.dir])).code, 0);
    const victim = tenantName(137);
    const f = path.join(repo.dir, 'tenants', `${victim}.yaml`);
    fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('{ to: 10.2.0.0/16, metric: 100 }', '{ to: 10.2.0.0/16, metric: 90 }'));
    const r = await cli(['plan', '--config', repo.dir, '--against', path.join(repo.dir, 'out'), '--format', 'json']);
    assert.is(r.code, 3, r.err);
    const plan = JSON.parse(r.out);
    const gw = plan.gateways[0];
    assert.equal(gw.impact.tenants.map((t: { tenant: string }) => t.tenant), [victim]);
    assert.is(gw.impact.untouched.length, 299);
    assert.equal(gw.impact.tenants[0].changes.map((c: { kind: string; subject: string; detail: string }) => `${c.kind} ${c.subject}: ${c.detail}`), [`route 10.2.0.0/16 on ${victim}e2: metric 100 -> 90`]);
    // Every changed line in every hunk is the victim's: its route names its interface.
    for (const file of gw.files) {
      const changed = file.patch.split('\n').filter((l: string) => /^[+-](?![+-]{2} )/.test(l));
      assert.ok(changed.length > 0, file.path);
      for (const l of changed) assert.ok(l.includes(`${victim}e2`), `${file.path}: ${l}`);
    }
    assert.equal(gw.files.map((x: { path: string }) => x.path), ['frr/frr.conf']);
  } finally {
    fs.rmSync(repo.dir, { recursive: true, force: true });
  }
});

test.run();
