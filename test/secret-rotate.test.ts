// PSK rotation (issue 18): `s2sgw secret rotate` stages a new PSK in the host's secrets folder (generated and printed
// once, or read from stdin: never an argument, never in a log), and `peer-config --psk-rotation` gives the site's side.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, cli } from './helpers';
import { generatePsk, rotationPath } from '../src/commands/secret';
import { scopeRef, secretValue } from '../src/model/secret-scope';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-rotate-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

function host(name: string): string {
  const root = path.join(tmp, name);
  fs.mkdirSync(path.join(root, 'etc/s2sgw/secrets'), { recursive: true, mode: 0o700 });
  return root;
}

/** The CLI as a process, with stdin (`cli` of helpers runs in process and has none). */
function s2sgw(args: string[], input?: string): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/s2sgw.js'), ...args], { input: input ?? '', encoding: 'utf8', cwd: ROOT });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('generatePsk: 256 random bits as 43 base64url characters, never twice the same', () => {
  const a = generatePsk();
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.is.not(generatePsk(), a);
  assert.is(Buffer.from(a, 'base64url').length, 32);
});

test('rotationPath: the tenant\'s own folder, the first free number from 2, inside the tenant\'s scope', () => {
  const taken = new Set(['/s/contoso/IfCe1.2.psk']);
  const p = rotationPath('/s', 'contoso', 'IfCe1', (x) => taken.has(x));
  assert.is(p, '/s/contoso/IfCe1.3.psk');
  assert.equal(scopeRef(`file:${p}`, 'contoso', ['contoso', 'woodgrove'], '/s'), { ok: true, kind: 'file', path: p, below: ['contoso', 'IfCe1.3.psk'] });
});

test('secret rotate --generate: a new 0600 file in a 0700 tenant folder, the PSK printed once on stdout and nowhere else', async () => {
  const root = host('gen');
  const r = await cli(['secret', 'rotate', '--tenant', 'contoso', '--connection', 'IfCe1', '--generate', '--root', root]);
  assert.is(r.code, 0, r.err);
  const psk = r.out.trim();
  assert.match(psk, /^[A-Za-z0-9_-]{43}$/);
  const file = path.join(root, 'etc/s2sgw/secrets/contoso/IfCe1.2.psk');
  assert.is(fs.readFileSync(file, 'utf8'), `${psk}\n`);
  assert.is(fs.statSync(file).mode & 0o777, 0o600);
  assert.is(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
  // What apply reads from it is the PSK itself.
  assert.equal(secretValue(fs.readFileSync(file)), { value: psk });
  assert.not.ok(r.err.includes(psk), 'the PSK is in the messages');
  assert.match(r.err, /psk: file:\/etc\/s2sgw\/secrets\/contoso\/IfCe1\.2\.psk/);
  assert.match(r.err, /peer-config --tenant contoso --connection IfCe1 --psk-rotation/);
  // A second rotation never overwrites the first: the next number, another PSK.
  const r2 = await cli(['secret', 'rotate', '--tenant', 'contoso', '--connection', 'IfCe1', '--generate', '--root', root]);
  assert.is(r2.code, 0, r2.err);
  assert.is.not(r2.out.trim(), psk);
  assert.is(fs.readFileSync(file, 'utf8'), `${psk}\n`);
  assert.is(fs.readFileSync(path.join(root, 'etc/s2sgw/secrets/contoso/IfCe1.3.psk'), 'utf8'), r2.out);
});

test('secret rotate --stdin: the PSK read from stdin is written, never printed; a short or multi-line one is refused without showing it', () => {
  const root = host('stdin');
  const psk = 'the-same-psk-on-every-gateway-0123';
  const r = s2sgw(['secret', 'rotate', '--tenant', 'contoso', '--connection', 'IfCe1', '--stdin', '--root', root], `${psk}\n`);
  assert.is(r.code, 0, r.err);
  assert.is(r.out, '');
  assert.not.ok(r.err.includes(psk));
  assert.is(fs.readFileSync(path.join(root, 'etc/s2sgw/secrets/contoso/IfCe1.2.psk'), 'utf8'), `${psk}\n`);
  for (const [bad, why] of [
    ['short-psk\n', /shorter than 20 characters/],
    ['first-line-0123456789abc\nsecond-line-0123456789\n', /more than one line/],
  ] as const) {
    const x = s2sgw(['secret', 'rotate', '--tenant', 'contoso', '--connection', 'IfCe1', '--stdin', '--root', root], bad);
    assert.is(x.code, 2, x.err);
    assert.match(x.err, why);
    for (const part of bad.split('\n').filter(Boolean)) assert.not.ok(x.err.includes(part), x.err);
  }
  assert.not.ok(fs.existsSync(path.join(root, 'etc/s2sgw/secrets/contoso/IfCe1.3.psk')), 'a refused PSK was written');
});

test('secret rotate usage: one of --generate/--stdin, a subcommand, an existing secrets folder, no link for the tenant folder', async () => {
  const root = host('usage');
  const base = ['--tenant', 'contoso', '--connection', 'IfCe1', '--root', root];
  for (const [args, why] of [
    [['secret', 'rotate', ...base], /exactly one of --generate and --stdin/],
    [['secret', 'rotate', ...base, '--generate', '--stdin'], /exactly one of --generate and --stdin/],
    [['secret', 'spin', ...base, '--generate'], /ACTION must be one of rotate, got spin/],
    [['secret', 'rotate', '--connection', 'IfCe1', '--generate'], /missing required option --tenant NAME\n/],
    [['secret', 'rotate', ...base, '--generate', '--secrets-dir', 'relative'], /--secrets-dir relative: it must be an absolute path/],
    [['secret', 'rotate', ...base, '--generate', '--secrets-dir', '/nowhere'], /secrets folder .*\/nowhere does not exist/],
    [['secret', 'rotate', '--tenant', '../x', '--connection', 'IfCe1', '--root', root, '--generate'], /tenant \.\.\/x: /],
  ] as const) {
    const r = await cli([...args]);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, why);
    assert.is(r.out, '', 'a PSK was printed');
  }
  // The tenant's folder is a link (to a folder someone else reads): refused, nothing written there.
  const elsewhere = path.join(tmp, 'elsewhere');
  fs.mkdirSync(elsewhere);
  fs.symlinkSync(elsewhere, path.join(root, 'etc/s2sgw/secrets/contoso'));
  const r = await cli(['secret', 'rotate', ...base, '--generate']);
  assert.is(r.code, 2, r.err);
  assert.match(r.err, /is not a folder \(a link is never followed here\)/);
  assert.equal(fs.readdirSync(elsewhere), []);
});

test('peer-config --psk-rotation: the site\'s side of each stage, for a connection the gateway starts and a responder-only one', async () => {
  const r = await cli(['peer-config', '--config', ROOT, '--tenant', 'contoso', '--connection', 'IfCe1', '--psk-rotation']);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /^# PSK rotation of contoso\/IfCe1 on gateway gw1/);
  assert.match(r.out, /secrets \{ ike-IfCe1 \{ id-1 = 131\.107\.0\.10, id-2 = 203\.0\.113\.10, secret = "NEW PSK" \} \}/);
  assert.match(r.out, /swanctl --load-creds/);
  assert.match(r.out, /initiates a second IKE_SA to you with the new PSK, without CHILD_SAs \(childless, RFC 6023/);
  assert.match(r.out, /established SAs carry on untouched/);
  assert.not.match(r.out, /swanctl --initiate/);
  const lr = await cli(['peer-config', '--config', ROOT, '--tenant', 'contoso', '--connection', 'IfCe1', '--psk-rotation', '--format', 'libreswan']);
  assert.match(lr.out, /ipsec auto --rereadsecrets/);
  // Responder-only on the gateway: the site initiates the second IKE_SA within the gateway's wait.
  const repo = path.join(tmp, 'repo');
  fs.cpSync(ROOT, repo, { recursive: true, filter: (s) => !/node_modules|dist|\.git$|lab\/\.cache/.test(s) });
  const f = path.join(repo, 'tenants/contoso.yaml');
  const y = fs.readFileSync(f, 'utf8');
  const edited = y.replace(/(  - interface: IfCe1[^]*?connect: )on-demand/, '$1respond-only');
  assert.is.not(edited, y);
  fs.writeFileSync(f, edited);
  const ro = await cli(['peer-config', '--config', repo, '--tenant', 'contoso', '--connection', 'IfCe1', '--psk-rotation']);
  assert.is(ro.code, 0, ro.err);
  assert.match(ro.out, /waits 30 s for you to initiate a second IKE_SA; within that time run:\n#     swanctl --initiate --child IfCe1/);
  // Not for an EAP connection.
  const eap = await cli(['peer-config', '--config', path.join(ROOT, 'test/fixtures/strongswan/full'), '--tenant', 'gamma', '--connection', 'IfGe1', '--psk-rotation']);
  assert.is(eap.code, 2);
  assert.match(eap.err, /authenticates with eap: --psk-rotation is for PSK connections/);
});

test.run();
