// The process environment as apply reads it: a large one from /proc in one read, and the small one host tools get (never the secrets).
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const ENV_JS = path.resolve(__dirname, '..', 'src', 'util', 'env.js');

/** Runs `code` in a fresh node with `extra` added to a small environment; returns what it prints as JSON. */
function inChild(extra: Record<string, string>, code: string): unknown {
  const r = spawnSync(process.execPath, ['-e', `const e = require(${JSON.stringify(ENV_JS)}); ${code}`], { env: { PATH: process.env.PATH, HOME: '/root', LANG: 'C.UTF-8', ...extra }, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('a large environment is read whole (values with = and spaces), and tools get PATH, HOME and the locale only', () => {
  const extra: Record<string, string> = { ODD: 'a=b c' };
  for (let i = 0; i < 1500; i++) extra[`T${i}_SITE1_PSK`] = `secret-value-${i}-0123456789`;
  const got = inChild(extra, `const env = e.environment(); console.log(JSON.stringify({ n: Object.keys(env).filter((k) => k.endsWith('_PSK')).length, v: env.T1499_SITE1_PSK, odd: env.ODD, child: e.childEnv() }))`) as { n: number; v: string; odd: string; child: Record<string, string> };
  assert.is(got.n, 1500);
  assert.is(got.v, 'secret-value-1499-0123456789');
  assert.is(got.odd, 'a=b c');
  assert.equal(Object.keys(got.child).sort(), ['HOME', 'LANG', 'PATH']);
});

test('a large environment answers lookups from its text, then (past a few dozen, or enumerated) from an object: the same answers', () => {
  // AxB: a name is looked up as itself, not as a pattern (A.B is not set).
  const extra: Record<string, string> = { ODD: 'a=b c', FIRST: 'x', AxB: 'y' };
  for (let i = 0; i < 1500; i++) extra[`T${i}_SITE1_PSK`] = `secret-value-${i}-0123456789`;
  const code = `const env = e.environment(); const out = [];
    for (let i = 0; i < 200; i += 2) out.push(env['T' + i + '_SITE1_PSK'], Object.hasOwn(env, 'T' + (i + 1) + '_SITE1_PSK'), env['T' + i + '_SITE1'], 'constructor' in env, env.toString, env['ODD'], env['SITE1_PSK'], env['']);
    out.push(env['A.B'], env['A.B=y'], env.AxB, env['T1_SITE1_PSK=secret-value-1']);
    out.push(Object.keys(env).length > 1500, env.FIRST, { ...env }.T7_SITE1_PSK);
    console.log(JSON.stringify(out))`;
  const got = inChild(extra, code) as unknown[];
  const want: unknown[] = [];
  for (let i = 0; i < 200; i += 2) want.push(`secret-value-${i}-0123456789`, true, null, false, null, 'a=b c', null, null);
  want.push(null, null, 'y', null);
  want.push(true, 'x', 'secret-value-7-0123456789');
  assert.equal(got, want);
});

test('a usual environment is process.env as it is now, variables set since start included', () => {
  const got = inChild({ KEPT: '1', STRONGSWAN_CONF: '/etc/lab/strongswan.conf' }, `process.env.SET_LATER = 'yes'; const env = e.environment(); console.log(JSON.stringify({ later: env.SET_LATER, kept: env.KEPT, child: e.childEnv() }))`) as { later: string; kept: string; child: Record<string, string> };
  assert.is(got.later, 'yes');
  assert.is(got.kept, '1');
  // strongSwan's tools find a charon with its own socket through STRONGSWAN_CONF (keepalived's notify commands).
  assert.equal(Object.keys(got.child).sort(), ['HOME', 'LANG', 'PATH', 'STRONGSWAN_CONF']);
});

test.run();
