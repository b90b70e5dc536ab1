// `s2sgw validate` end to end: exit codes, the three output formats, secrets never printed, the PSK conflict on the bundled example.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../src/cli';
import type { Io } from '../src/commands/common';
import { formatLines, maskSecrets } from '../src/model/format';
import { loadConfig, MAX_FILE_BYTES } from '../src/model/load';
import { validate } from '../src/validate';

const ROOT = path.resolve(__dirname, '..', fs.existsSync(path.join(__dirname, '..', 'package.json')) ? '' : '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'validate');

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (s) => (out += s), err: (s) => (err += s), color: false, env, cwd: ROOT };
  const code = await main(['validate', ...args], io);
  return { code, out, err };
}

function tmpCopy(from: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-validate-'));
  for (const sub of ['gateways', 'tenants']) fs.cpSync(path.join(from, sub), path.join(dir, sub), { recursive: true });
  return dir;
}

test('exit 0 on the bundled example, with a one-line summary', async () => {
  const r = await run(['--config', ROOT]);
  assert.is(r.code, 0);
  assert.is(r.out, '');
  assert.is(r.err, '2 tenants on 1 gateway: valid\n');
});

test('exit 1 on findings, text format with code frame, hint and related', async () => {
  const r = await run(['--config', path.join(FIXTURES, 'duplicate-vlan')]);
  assert.is(r.code, 1);
  assert.match(r.err, /^tenants\/beta\.yaml:6:9: error duplicate-vlan: VLAN 101 of tenant beta is already tenant alpha's on gateway gw1\n/);
  assert.match(r.err, /\n> 6 \|   vlan: 101\n    \|         \^\^\^\n/);
  assert.match(r.err, /\n  hint: each tenant needs its own VLAN id/);
  assert.match(r.err, /\n  related: tenants\/alpha\.yaml:6:9: tenant alpha uses VLAN 101 here\n/);
  assert.match(r.err, /\n\n1 error\n$/);
  assert.not.match(r.err, /\x1b\[/, 'no colour when io.color is false');
});

test('exit 2 on usage errors: missing config, missing folder, bad format, unknown option', async () => {
  const missing = await run(['--config', path.join(ROOT, 'no-such-dir')]);
  assert.is(missing.code, 2);
  assert.match(missing.err, /config folder .*no-such-dir does not exist\nhint: /);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-validate-'));
  fs.mkdirSync(path.join(dir, 'gateways'));
  const noTenants = await run(['--config', dir]);
  assert.is(noTenants.code, 2);
  assert.match(noTenants.err, /tenants\/ is missing\nhint: /);
  const fmt = await run(['--config', ROOT, '--format', 'xml']);
  assert.is(fmt.code, 2);
  assert.match(fmt.err, /--format must be one of text, json, github/);
  const opt = await run(['--conifg', ROOT]);
  assert.is(opt.code, 2);
  for (const r of [missing, noTenants, fmt, opt]) assert.not.match(r.err, /\n\s+at /, 'no stack trace');
});

test('json format has the contract shape: file relative, 1-based, related list, no internal fields', async () => {
  const r = await run(['--config', path.join(FIXTURES, 'psk-destination-conflict'), '--format', 'json']);
  assert.is(r.code, 1);
  assert.is(r.err, '');
  const j = JSON.parse(r.out);
  assert.equal(Object.keys(j), ['diagnostics']);
  assert.is(j.diagnostics.length, 1);
  const d = j.diagnostics[0];
  assert.equal(Object.keys(d).sort(), ['code', 'col', 'file', 'hint', 'line', 'message', 'related', 'severity']);
  assert.equal([d.code, d.severity, d.file, d.line, d.col], ['psk-destination-conflict', 'error', 'tenants/beta.yaml', 10, 18]);
  assert.equal(d.related, [{ file: 'tenants/alpha.yaml', line: 10, col: 18, message: 'alpha/IfAe1 connects to 131.107.1.10 here' }]);
});

test('github format: one ::error line per place, with title=CODE and escaped properties', async () => {
  const r = await run(['--config', path.join(FIXTURES, 'psk-destination-conflict'), '--format', 'github']);
  assert.is(r.code, 1);
  const lines = r.out.trimEnd().split('\n');
  assert.is(lines.length, 2);
  assert.match(lines[0], /^::error file=tenants\/beta\.yaml,line=10,col=18,title=psk-destination-conflict::PSK connection beta\/IfBe1 /);
  assert.match(lines[1], /^::error file=tenants\/alpha\.yaml,line=10,col=18,title=psk-destination-conflict::alpha\/IfAe1 connects to 131\.107\.1\.10 here \(related to tenants\/beta\.yaml:10:18: /);
});

test('no format ever prints an inline secret, code frames included', async () => {
  const dir = tmpCopy(path.join(FIXTURES, 'inline-secret'));
  // A second mistake two lines below a secret: its code frame shows the secret's line too.
  const file = path.join(dir, 'tenants', 'alpha.yaml');
  const text = fs.readFileSync(file, 'utf8');
  assert.ok(text.includes('      - { to: 10.1.0.0/16, metric: 100 }'));
  fs.writeFileSync(file, text.replace('      - { to: 10.1.0.0/16, metric: 100 }', '      - { to: 192.168.0.0/16, metric: 100 }'));
  // Schema errors around secrets in a file that is not even a valid tenant.
  fs.writeFileSync(path.join(dir, 'tenants', 'beta.yaml'), 'tenant: beta\nauth: { psk: 987654321zz }\nsecret: |\n  BlockSecretValue\n  MoreBlockSecret\npassword: "Quoted Pass"\n');
  for (const format of ['text', 'json', 'github']) {
    const r = await run(['--config', dir, '--format', format]);
    assert.is(r.code, 1);
    const all = r.out + r.err;
    assert.ok(all.includes('inline-secret'), `${format}: the finding is reported`);
    for (const secret of ['Sup3rS3cret!', 'relative/path', 'NOT-A-NAME', '987654321zz', 'BlockSecretValue', 'MoreBlockSecret']) assert.not.ok(all.includes(secret), `${format} printed ${secret}`);
  }
  const out = (await run(['--config', dir])).err;
  assert.match(out, /route-overlaps-network/);
  assert.match(out, /\n  12 \|       psk: \*{12}\n/, 'the secret two lines above another finding is masked');
  assert.match(out, /unknown key `secret`/);
});

test('schema errors on a secret field never echo the value', () => {
  const r = validate(loadConfig(path.join(FIXTURES, 'schema-secret-type')));
  assert.is(r.diagnostics.length, 1);
  assert.ok(r.diagnostics[0].secret);
  assert.not.ok(JSON.stringify(r.diagnostics).includes('123456789'));
});

test('maskSecrets stars values, keeps references and columns', () => {
  const src = 'auth:\n  psk: abc  # c\n  psk: env:OK\nx: { psk: "q w", secret: file:/etc/k }\n- secret: |\n    line\n  next: 1\n';
  assert.is(maskSecrets(src), 'auth:\n  psk: ***  # c\n  psk: env:OK\nx: { psk: *****, secret: file:/etc/k }\n- secret: |\n    ****\n  next: 1\n');
});

test('the bundled example with Woodgrove\'s IfWe1 moved to Contoso\'s destination fails with the PSK rule naming both files', async () => {
  const dir = tmpCopy(ROOT);
  const wg = path.join(dir, 'tenants', 'woodgrove.yaml');
  const text = fs.readFileSync(wg, 'utf8');
  assert.ok(text.includes('destination: 131.107.1.10'));
  fs.writeFileSync(wg, text.replace('destination: 131.107.1.10', 'destination: 131.107.0.10'));
  const lineOf = (file: string, needle: string) => fs.readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(needle)) + 1;
  const wl = lineOf(wg, 'destination: 131.107.0.10');
  const cl = lineOf(path.join(dir, 'tenants', 'contoso.yaml'), 'destination: 131.107.0.10');
  const r = validate(loadConfig(dir));
  assert.is(
    formatLines(r.diagnostics),
    `tenants/woodgrove.yaml:${wl}:18: error psk-destination-conflict: PSK connection woodgrove/IfWe1 has the same destination 131.107.0.10 (from 203.0.113.10) as contoso/IfCe1 of tenants/contoso.yaml on gateway gw1\n` +
      `tenants/contoso.yaml:${cl}:18: related psk-destination-conflict: contoso/IfCe1 connects to 131.107.0.10 here\n`,
  );
  const cli = await run(['--config', dir]);
  assert.is(cli.code, 1);
});

test('a file over 1 MiB is one yaml/too-large finding, not read', () => {
  const dir = tmpCopy(path.join(FIXTURES, 'ok-overlap'));
  fs.writeFileSync(path.join(dir, 'tenants', 'huge.yaml'), `tenant: huge\n# ${'x'.repeat(MAX_FILE_BYTES)}\n`);
  const r = validate(loadConfig(dir));
  assert.is(formatLines(r.diagnostics), `tenants/huge.yaml:1:1: error yaml/too-large: file is ${MAX_FILE_BYTES + 16} bytes; the limit is ${MAX_FILE_BYTES} bytes (1 MiB)\n`);
});

test('a dangling symlink is one yaml/not-a-file finding; --config naming a file is a usage error', async () => {
  const dir = tmpCopy(path.join(FIXTURES, 'ok-overlap'));
  fs.symlinkSync(path.join(dir, 'nowhere.yaml'), path.join(dir, 'tenants', 'gone.yaml'));
  assert.is(formatLines(validate(loadConfig(dir)).diagnostics), 'tenants/gone.yaml:1:1: error yaml/not-a-file: the file is a symbolic link; s2sgw reads only regular files and does not follow links\n');
  const r = await run(['--config', path.join(dir, 'tenants', 'alpha.yaml')]);
  assert.is(r.code, 2);
  assert.match(r.err, /is a file, not a folder/);
});

test('an alias bomb is reported quickly, not expanded', () => {
  const start = Date.now();
  const r = validate(loadConfig(path.join(FIXTURES, 'yaml-alias-bomb')));
  assert.is(r.diagnostics[0].code, 'yaml/alias-limit');
  assert.ok(Date.now() - start < 2000);
});

test('garbage input never yields a stack trace or exit other than 0/1', async () => {
  const inputs = ['', '\0\0\0', ':', '[', '{a: 1', '- - -', 'tenant: [', '? [a, b]\n: c', '!!binary x', 'tenant: x\ntenant: y', '&a [*a]', '"\\q"', '\t- x', 'a: *nope', 'network: { addresses: [1.2.3.4/40, "::/129", 300.1.1.1/8] }', 'connections: [ { auth: { psk: 1 } }, 5, null ]', 'filters: [ { permit: [ null, 5, { sourcePort: "a-b" } ] } ]'];
  const dir = tmpCopy(path.join(FIXTURES, 'ok-overlap'));
  inputs.forEach((text, i) => fs.writeFileSync(path.join(dir, 'tenants', `g${i}.yaml`), text));
  fs.writeFileSync(path.join(dir, 'gateways', 'bad.yaml'), 'gateway: bad\nexternal: { interface: eth0, addresses: [] }\ntrunk: 5\n');
  for (const format of ['text', 'json', 'github']) {
    const r = await run(['--config', dir, '--format', format]);
    assert.is(r.code, 1, `${format}: ${r.err}`);
    assert.not.match(r.err, /internal error|\n\s+at /);
  }
});

test.run();
