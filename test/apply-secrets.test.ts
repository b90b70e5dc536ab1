// apply's secret resolution on the host: each reference checked against its tenant's scope again, files read
// without following links, small, one line of text; a refusal stops apply before anything on the host changes.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES } from './helpers';
import { FIXTURE_ENV, WOODGROVE_PSK, fingerprint, fixtureBundle, openSandbox, prepareFixtureHost } from '../src/apply/sandbox';
import { Runner, StepError } from '../src/apply/runner';
import { apply } from '../src/apply/engine';
import { resolveSecrets } from '../src/apply/release';
import { refsLine } from '../src/targets/strongswan/secrets';
import { MAX_SECRET_BYTES, secretText, secretValue } from '../src/model/secret-scope';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-apply-secrets-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

const GOOD = 'a-secret-of-twenty-five-chars';
const TENANTS = { a: { connections: ['A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7', 'A8', 'A9', 'A10', 'A11', 'A12', 'A13', 'A14', 'A15', 'A16'] }, 'a-b': { connections: ['B1'] } };

/** What one reference resolves to on a prepared host: the secrets block or the problem line apply reports. */
function resolveOne(root: string, conn: string, ref: string, env: NodeJS.ProcessEnv = {}, head = '', privateKey?: string): string {
  const text = head + refsLine({ connection: conn, kind: 'psk', ref, ids: ['10.0.0.1', '10.0.0.2'] }) + '\n';
  try {
    return resolveSecrets(text, env, { host: (p) => path.join(root, p) }, { tenants: TENANTS, privateKey });
  } catch (e) {
    assert.instance(e, StepError);
    assert.is((e as StepError).step, 'secrets');
    return (e as StepError).tool ?? (e as StepError).message;
  }
}

test('host table: every reference outside its scope, every link, oversized, binary or multi-line file is refused by name, never by value', () => {
  const root = fs.mkdtempSync(path.join(tmp, 'root-'));
  const S = path.join(root, 'etc/s2sgw/secrets');
  const put = (rel: string, content: string | Buffer, mode = 0o600) => {
    const p = path.join(root, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content, { mode });
    fs.chmodSync(p, mode);
  };
  put('etc/s2sgw/secrets/a', GOOD + '\n');
  put('etc/s2sgw/secrets/a-crlf', GOOD + '\r\n');
  put('etc/s2sgw/secrets/a-b-x', 'secret-of-tenant-a-b-0123456789');
  put('etc/s2sgw/pki/gw1.key', 'PRIVATE-KEY-0123456789-0123456789');
  put('etc/s2sgw/secrets/a-big', Buffer.alloc(4 * 1024 * 1024, 0x61));
  put('etc/s2sgw/secrets/a-binary', Buffer.from([0xff, 0xfe, 0x00, 0x41, ...Buffer.from(GOOD)]));
  put('etc/s2sgw/secrets/a-lines', GOOD + '\n' + GOOD + '\n');
  put('etc/s2sgw/secrets/a-ctl', GOOD + '\x1b[2J');
  fs.symlinkSync('a-b-x', path.join(S, 'a-link'));
  fs.mkdirSync(path.join(root, 'etc/other'), { recursive: true });
  put('etc/other/psk', GOOD);
  fs.symlinkSync('../../other', path.join(S, 'a-dir'));
  fs.mkdirSync(path.join(S, 'a-sub'));
  fs.linkSync(path.join(root, 'etc/s2sgw/pki/gw1.key'), path.join(S, 'a-hard'));
  assert.is(spawnSync('mkfifo', [path.join(S, 'a-fifo')]).status, 0);
  const cases: Array<[string, string, string, NodeJS.ProcessEnv?]> = [
    ['A1', 'env:A_B_X', "env:A_B_X (psk of connection A1, tenant a): outside tenant a's secrets: A_B_X is reserved for tenant a-b, whose prefix A_B_ is longer", { A_B_X: GOOD }],
    ['A2', 'env:__proto__', "env:__proto__ (psk of connection A2, tenant a): outside tenant a's secrets: tenant a may name only environment variables A_*"],
    ['A3', 'env:constructor', "env:constructor (psk of connection A3, tenant a): outside tenant a's secrets: tenant a may name only environment variables A_*"],
    ['A4', 'file:/etc/s2sgw/secrets/../pki/gw1.key', "file:/etc/s2sgw/secrets/../pki/gw1.key (psk of connection A4, tenant a): outside tenant a's secrets: the path must be plain: no empty, `.` or `..` segments, no trailing /"],
    ['A5', 'file:/etc/s2sgw/secrets/a-b-x', "file:/etc/s2sgw/secrets/a-b-x (psk of connection A5, tenant a): outside tenant a's secrets: /etc/s2sgw/secrets/a-b-x belongs to tenant a-b"],
    ['A6', 'file:/etc/s2sgw/secrets/a-link', 'file:/etc/s2sgw/secrets/a-link (psk of connection A6, tenant a): the file is a symbolic link; secret files and their folders below the secrets folder must be plain'],
    ['A7', 'file:/etc/s2sgw/secrets/a-dir/psk', 'file:/etc/s2sgw/secrets/a-dir/psk (psk of connection A7, tenant a): outside tenant a\'s secrets: a flat secret file /etc/s2sgw/secrets/a-NAME is directly in the secrets folder; use /etc/s2sgw/secrets/a/... for folders'],
    ['A8', 'file:/etc/s2sgw/secrets/a-big', 'file:/etc/s2sgw/secrets/a-big (psk of connection A8, tenant a): it is 4194304 bytes; a secret is at most 4096'],
    ['A9', 'file:/etc/s2sgw/secrets/a-binary', 'file:/etc/s2sgw/secrets/a-binary (psk of connection A9, tenant a): it is not UTF-8 text (binary content is refused, never converted)'],
    ['A10', 'file:/etc/s2sgw/secrets/a-lines', 'file:/etc/s2sgw/secrets/a-lines (psk of connection A10, tenant a): it has more than one line; a secret is one line (one trailing newline is allowed)'],
    ['A11', 'file:/etc/s2sgw/secrets/a-ctl', 'file:/etc/s2sgw/secrets/a-ctl (psk of connection A11, tenant a): it holds a control character'],
    ['A12', 'file:/etc/s2sgw/secrets/a-sub', 'file:/etc/s2sgw/secrets/a-sub (psk of connection A12, tenant a): not a regular file'],
    ['A13', 'file:/etc/s2sgw/secrets/a-hard', "file:/etc/s2sgw/secrets/a-hard (psk of connection A13, tenant a): it is the gateway's private key"],
    ['A14', 'file:/etc/s2sgw/secrets/a-fifo', 'file:/etc/s2sgw/secrets/a-fifo (psk of connection A14, tenant a): not a regular file'],
    ['A15', 'file:/etc/s2sgw/secrets/a/\0x', 'file:/etc/s2sgw/secrets/a/\\u0000x" (psk of connection A15, tenant a): outside tenant a\'s secrets: the path holds a control character'],
    ['X1', 'env:A_PSK', 'env:A_PSK (psk of connection X1): the connection belongs to no tenant of the manifest', { A_PSK: GOOD }],
    ['A16', 'env:A_PSK', 'env:A_PSK (psk of connection A16, tenant a): it holds a control character', { A_PSK: GOOD + '\x07' }],
  ];
  for (const [conn, ref, want, env] of cases) {
    const got = resolveOne(root, conn, ref, env, '', '/etc/s2sgw/pki/gw1.key');
    assert.ok(got.includes(want), `${conn} ${JSON.stringify(ref)}:\n got  ${got}\n want ${want}`);
    for (const secret of [GOOD, 'secret-of-tenant-a-b', 'PRIVATE-KEY']) assert.not.ok(got.includes(secret), `${conn}: a secret reached the message`);
  }
  // The folder below S is plain; a link to a folder on the path is refused too (S/a being a link to /etc/other).
  fs.rmSync(path.join(S, 'a'));
  fs.symlinkSync('../../other', path.join(S, 'a'));
  assert.ok(resolveOne(root, 'A1', 'file:/etc/s2sgw/secrets/a/psk').includes('a folder on its path is a symbolic link'));
  fs.rmSync(path.join(S, 'a'));
  put('etc/s2sgw/secrets/a', GOOD + '\n');
  // What is in scope resolves: one trailing newline (LF or CRLF) dropped, the value base64 in the block.
  for (const ref of ['file:/etc/s2sgw/secrets/a', 'file:/etc/s2sgw/secrets/a-crlf']) assert.ok(resolveOne(root, 'A1', ref).includes(`secret = "0s${Buffer.from(GOOD).toString('base64')}"`), ref);
  assert.ok(resolveOne(root, 'B1', 'env:A_B_X', { A_B_X: GOOD }).includes('secret = "0s'));
  // The folder secrets.refs names is the one checked; one that is not a plain absolute path stops everything.
  assert.ok(resolveOne(root, 'A1', 'file:/etc/s2sgw/secrets/a', {}, '@secrets-dir /etc/other\n').includes("a secret file must be below the gateway's secrets folder /etc/other"));
  assert.throws(() => resolveSecrets('@secrets-dir /\n', {}, { host: (p) => path.join(root, p) }, { tenants: TENANTS }), (e: unknown) => e instanceof StepError && /cannot be one: it must be an absolute path below \//.test(e.message));
});

test('a secret outside its scope on the host (a link out of the secrets folder) stops apply before anything changes', async () => {
  const sb = await openSandbox({ frr: false });
  try {
    prepareFixtureHost(sb);
    const bundle = (v: string) => {
      const out = path.join(tmp, `bundle-${v}`);
      fixtureBundle(path.join(FIXTURES, 'apply', v), out);
      return out;
    };
    const run = (b: string) => apply(new Runner(sb.runner({ skip: ['links', 'vrf', 'frr'] })), { bundle: b, env: FIXTURE_ENV, say: () => undefined });
    assert.is((await run(bundle('v1'))).code, 0);
    const before = fingerprint(sb);
    // woodgrove's secret file replaced by a link to a file outside the folder, with the same content.
    const secret = path.join(sb.root, 'etc/s2sgw/secrets/woodgrove');
    fs.writeFileSync(path.join(sb.root, 'etc/s2sgw/outside'), WOODGROVE_PSK, { mode: 0o600 });
    fs.rmSync(secret);
    fs.symlinkSync('../outside', secret);
    const out = await run(bundle('v2'));
    assert.is(out.code, 1);
    assert.is(out.error!.step, 'secrets');
    assert.match(out.error!.tool!, /file:\/etc\/s2sgw\/secrets\/woodgrove \(psk of connection IfWe1, tenant woodgrove\): the file is a symbolic link/);
    assert.equal(fingerprint(sb), before);
  } finally {
    await sb.close();
  }
});

test('an environment value is judged as its UTF-8 bytes would be: same value or same problem', () => {
  const cases = [
    'plain-psk-0123456789',
    'with newline\n',
    'with crlf\r\n',
    'two\nlines',
    'bare\rcr',
    'tab\there',
    'del\x7f',
    '',
    '\n',
    'ünïcødé-ключ-秘密',
    'lone \ud800 surrogate',
    'x'.repeat(MAX_SECRET_BYTES),
    'x'.repeat(MAX_SECRET_BYTES + 1),
    'é'.repeat(MAX_SECRET_BYTES / 2) + 'x',
  ];
  for (const c of cases) assert.equal(secretText(c), secretValue(Buffer.from(c, 'utf8')), JSON.stringify(c.slice(0, 40)));
  // The check is not vacuous: a value with a control character is refused either way.
  assert.ok('problem' in secretText('tab\there'));
});


test('against the current release only the touched tenants are resolved, to the very text resolving everything gives', () => {
  const root = fs.mkdtempSync(path.join(tmp, 'incr-'));
  const host = { host: (p: string) => path.join(root, p) };
  fs.mkdirSync(path.join(root, 'etc/s2sgw/secrets/d'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc/s2sgw/secrets/d/psk'), GOOD, { mode: 0o600 });
  type T = Record<string, Array<[string, string]>>;
  // Tenants in name order, as build writes them; c has no PSK connection (no lines), as a certificate tenant.
  const refsOf = (ts: T) =>
    '# Generated by s2sgw\n@secrets-dir /etc/s2sgw/secrets\n' +
    Object.keys(ts)
      .sort()
      .map((t) => `# tenant ${t} (tenants/${t}.yaml)\n` + ts[t].map(([c, ref]) => refsLine({ connection: c, kind: 'psk', ref, ids: ['10.0.0.1', `10.1.0.${c.length}`] }) + '\n').join(''))
      .join('');
  const scopeOf = (ts: T) => ({ tenants: Object.fromEntries(Object.entries(ts).map(([t, cs]) => [t, { connections: [...cs.map(([c]) => c), ...(t === 'c' ? ['C1'] : [])] }])) });
  const env: NodeJS.ProcessEnv = { A_1: GOOD + '-a1', A_2: GOOD + '-a2', A_B_X: GOOD + '-ab', B_1: GOOD + '-b1', B_2: GOOD + '-b2', AA_1: GOOD + '-aa', E_1: GOOD + '-e1' };
  const v1: T = { a: [['A1', 'env:A_1'], ['A2', 'env:A_2']], b: [['B1', 'env:B_1']], c: [], d: [['D1', 'file:/etc/s2sgw/secrets/d/psk']], e: [['E1', 'env:E_1']] };
  const full = (ts: T, e = env) => resolveSecrets(refsOf(ts), e, host, scopeOf(ts));
  const prior = (ts: T, touched: string[]) => ({ refs: refsOf(ts), conf: full(ts), tenants: scopeOf(ts).tenants, touched });
  const changes: Array<[string, T, string[]]> = [
    ['a changed reference', { ...v1, b: [['B1', 'env:B_2']] }, ['b']],
    ['a connection added', { ...v1, b: [['B1', 'env:B_1'], ['B2', 'env:B_2']] }, ['b']],
    ['a tenant added in the middle', { ...v1, aa: [['AA1', 'env:AA_1']] }, ['aa']],
    ['a tenant added at the end', { ...v1, f: [['F1', 'env:F_1']] }, ['f']],
    ['the first tenant removed', Object.fromEntries(Object.entries(v1).filter(([t]) => t !== 'a')), ['a']],
    ['the last tenant removed', Object.fromEntries(Object.entries(v1).filter(([t]) => t !== 'e')), ['e']],
    ['two tenants changed, one of them before the other', { ...v1, a: [['A1', 'env:A_2']], d: [['D1', 'env:D_1']] }, ['a', 'd']],
    ['a tenant without lines gets some', { ...v1, c: [['C1', 'env:C_1']] }, ['c']],
  ];
  const envMore = { ...env, F_1: GOOD + '-f1', D_1: GOOD + '-d1', C_1: GOOD + '-c1' };
  const wants = changes.map(([, v2, touched]) => ({ want: full(v2, envMore), p: prior(v1, touched) }));
  // Tenant d's file turns bad on disk: resolving everything would refuse it, so each change below proves it read no more than its tenants.
  const dFile = path.join(root, 'etc/s2sgw/secrets/d/psk');
  fs.writeFileSync(dFile, 'short', { mode: 0o600 });
  changes.forEach(([what, v2], i) => assert.is(resolveSecrets(refsOf(v2), envMore, host, scopeOf(v2), wants[i].p), wants[i].want, what));
  fs.writeFileSync(dFile, GOOD, { mode: 0o600 });
  // A touched list that misses a changed tenant cannot line the files up: everything is resolved, with the same result.
  const v3: T = { ...v1, b: [['B1', 'env:B_2']], e: [['E1', 'env:E_2']] };
  const env3 = { ...env, E_2: GOOD + '-e2' };
  assert.is(resolveSecrets(refsOf(v3), env3, host, scopeOf(v3), prior(v1, ['b'])), full(v3, env3));
  // The same secrets.refs (one string for both, as apply hands it when the bytes are equal): the touched tenant is
  // resolved again (its variable's new value taken up), every other block kept; an edit outside it is not missed.
  const same = refsOf(v1);
  const envB = { ...env, B_1: GOOD + '-b1-new' };
  assert.is(resolveSecrets(same, envB, host, scopeOf(v1), { ...prior(v1, ['b']), refs: same }), full(v1, envB));
  assert.is.not(full(v1, envB), full(v1));
  // Nothing moved: the very text resolving everything gives (the current release's kept whole).
  assert.is(resolveSecrets(same, env, host, scopeOf(v1), { ...prior(v1, ['b', 'e']), refs: same }), full(v1));
  assert.is(resolveSecrets(refsOf(v1), env, host, scopeOf(v1), prior(v1, ['a'])), full(v1));
  // An added tenant a-b owns A_B_X, which untouched tenant a still names: refused as resolving everything refuses it.
  const v4: T = { ...v1, a: [['A1', 'env:A_1'], ['A2', 'env:A_B_X']] };
  const v5: T = { ...v4, 'a-b': [['AB1', 'env:A_B_X']] };
  const refused = (f: () => string) => {
    try {
      f();
      return '';
    } catch (e) {
      return (e as StepError).tool ?? '';
    }
  };
  const want = refused(() => full(v5));
  assert.match(want, /env:A_B_X \(psk of connection A2, tenant a\): outside tenant a's secrets: A_B_X is reserved for tenant a-b/);
  assert.is(refused(() => resolveSecrets(refsOf(v5), env, host, scopeOf(v5), prior(v4, ['a-b']))), want);
  // A touched tenant's problem stops it like any; an untouched tenant's file is not read again (it keeps the value
  // the current release resolved): a secret changed in place is taken up by apply --full.
  const v6: T = { ...v1, b: [['B1', 'env:B_2']] };
  const before = full(v6);
  const p1 = prior(v1, ['b']);
  fs.writeFileSync(path.join(root, 'etc/s2sgw/secrets/d/psk'), 'short', { mode: 0o600 });
  assert.is(resolveSecrets(refsOf(v6), env, host, scopeOf(v6), p1), before);
  assert.match(refused(() => full(v6)), /file:\/etc\/s2sgw\/secrets\/d\/psk \(psk of connection D1, tenant d\): a PSK must be at least 20 characters/);
  assert.match(refused(() => resolveSecrets(refsOf(v6), { ...env, B_2: 'short' }, host, scopeOf(v6), p1)), /env:B_2 \(psk of connection B1, tenant b\): a PSK must be at least 20 characters/);
});

test.run();
