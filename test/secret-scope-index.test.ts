// scopeIndex answers as the map of every tenant's prefix did: the owner of each environment variable, for names in and outside the schema's alphabet.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { envOwner, envPrefix, scopeIndex, scopeRef } from '../src/model/secret-scope';

/** The index as it was: a map of every tenant's prefix (the later name winning a shared prefix). */
function reference(tenants: string[]) {
  const own = new Map(tenants.map((t) => [t, envPrefix(t)]));
  return { names: new Set(tenants), prefixes: new Map([...own].map(([t, p]) => [p, t])), ownPrefix: own };
}

const VARS = ['A_X', 'A_B_X', 'A_B_C_X', 'A_BX', 'a_b_X', 'A__X', 'A_', 'T1_SITE1_PSK', 'T10_SITE1_PSK', 'T1_0_PSK', 'X', '_A_X', 'CONTOSO_NY_PSK', 'CONTOSO_PSK', 'Contoso_PSK', 'A-B_X', '9_X'];

test('the owner of each variable and each tenant\'s prefix are the map\'s, plain names or not', () => {
  const sets = [
    ['a', 'a-b', 't1', 't10', 't1-0', 'contoso', 'contoso-ny', '9'],
    ['a', 'a-b', 'a_b', 'contoso'],
    ['A', 'a', 'a-b'],
    ['t1'],
    [],
  ];
  for (const tenants of sets) {
    const now = scopeIndex(tenants);
    const was = reference(tenants);
    for (const v of VARS) assert.is(envOwner(v, now), envOwner(v, was), `${v} among ${tenants.join(',')}`);
    for (const t of [...tenants, 'nobody', 'a-b-c']) assert.is(now.ownPrefix.get(t), was.ownPrefix.get(t), t);
    for (const p of ['A_', 'A_B_', 'a_', 'T1_', 'T1_0_', '_', '', 'A', 'CONTOSO_NY_', 'A-B_']) assert.is(now.prefixes.get(p), was.prefixes.get(p), `prefix ${p} among ${tenants.join(',')}`);
  }
});

test('scopeRef with the index: a tenant cannot name the variable of a tenant with a longer prefix', () => {
  const idx = scopeIndex(['a', 'a-b']);
  assert.is(scopeRef('env:A_B_X', 'a', idx).ok, false);
  assert.is(scopeRef('env:A_B_X', 'a-b', idx).ok, true);
  assert.is(scopeRef('env:A_C_X', 'a', idx).ok, true);
});

test.run();
