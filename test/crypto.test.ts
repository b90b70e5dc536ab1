// Crypto profiles: the exact diagnostic for each case of a table, and a real charon (one, for every profile) accepting every example proposal.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../src/model/load';
import { formatLines } from '../src/model/format';
import { validate } from '../src/validate';
import { allocate, emptyLock } from '../src/model/lock';
import { tenantsOn } from '../src/model/model';
import { text } from '../src/targets/target';
import { render } from '../src/targets/strongswan';
import { checkLoaded } from '../src/targets/strongswan/check';
import { PROFILES, PROFILE_NAMES, verdict, keywords, cryptoTables } from '../src/validate/crypto';

const CRYPTO = /^(crypto-|schema\/enum)/;

/** Writes a repository (path -> text) to a temporary folder, validates it and returns its crypto findings as text. */
function cryptoLines(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-crypto-'));
  try {
    for (const [p, t] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
      fs.writeFileSync(path.join(dir, p), t);
    }
    return formatLines(validate(loadConfig(dir)).diagnostics.filter((d) => CRYPTO.test(d.code)));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function gateway(extra = ''): string {
  return `gateway: gw1\nexternal: { interface: eth0, addresses: [203.0.113.10] }\ntrunk: { interface: eth1 }\n${extra}`;
}

function tenant(extra: string, conn = ''): string {
  return `tenant: alpha\ngateways: [gw1]\nnetwork: { interface: IfAi1, vlan: 101, addresses: [192.168.0.1/29] }\n${extra}connections:\n  - interface: IfAe1\n    destination: 131.107.1.10\n    auth: { psk: env:ALPHA_PSK }\n${conn}`;
}

interface Case {
  name: string;
  gateway?: string;
  tenant?: string;
  conn?: string;
  expected: string[];
}

const CASES: Case[] = [
  { name: 'the built-in defaults pass without a profile', expected: [] },
  { name: 'the built-in defaults pass every profile', gateway: 'cryptoProfile: cnsa\n', tenant: 'cryptoProfile: bsi\n', expected: [] },
  {
    name: 'no profile: MD5 and MODP-768 warn with their RFC section',
    conn: '    ike: { proposals: [aes256-md5-prfmd5-modp768] }\n',  // one finding per keyword, at the proposal
    expected: [
      'tenants/alpha.yaml:8:24: warning crypto-deprecated: alpha/IfAe1: IKE proposal `aes256-md5-prfmd5-modp768`: without a crypto profile, RFC 8221/8247 advise against `md5`: HMAC-MD5 integrity (AUTH_HMAC_MD5_96 and its variants) is MUST NOT (RFC 8247 section 2.3)',
      'tenants/alpha.yaml:8:24: warning crypto-deprecated: alpha/IfAe1: IKE proposal `aes256-md5-prfmd5-modp768`: without a crypto profile, RFC 8221/8247 advise against `modp768`: 768-bit MODP (group 1) is MUST NOT: broken by public computation (RFC 8247 section 2.4)',
      'tenants/alpha.yaml:8:24: warning crypto-deprecated: alpha/IfAe1: IKE proposal `aes256-md5-prfmd5-modp768`: without a crypto profile, RFC 8221/8247 advise against `prfmd5`: PRF_HMAC_MD5 is MUST NOT (RFC 8247 section 2.2)',
    ],
  },
  {
    name: 'default profile: a MUST NOT is an error, a SHOULD NOT a warning',
    tenant: 'cryptoProfile: default\n',
    conn: '    esp: { proposals: [blowfish128-sha256-modp1024] }\n',
    expected: [
      'tenants/alpha.yaml:9:24: warning crypto-profile-discouraged: alpha/IfAe1: ESP proposal `blowfish128-sha256-modp1024`: crypto profile default discourages `modp1024`: 1024-bit MODP (group 2) is SHOULD NOT: within reach of well-funded attackers (RFC 8247 section 2.4)',
      'tenants/alpha.yaml:9:24: error crypto-profile-forbidden: alpha/IfAe1: ESP proposal `blowfish128-sha256-modp1024`: crypto profile default forbids `blowfish128`: ENCR_BLOWFISH is MUST NOT: a 64-bit block cipher (RFC 8221 section 5)',
    ],
  },
  {
    name: 'default profile: ENCR_NULL is forbidden in IKE',
    tenant: 'cryptoProfile: default\n',
    conn: '    ike: { proposals: [null-sha256-ecp256] }\n',
    expected: ['tenants/alpha.yaml:9:24: error crypto-profile-forbidden: alpha/IfAe1: IKE proposal `null-sha256-ecp256`: crypto profile default forbids `null`: ENCR_NULL is MUST NOT for IKE: the IKE SA would carry keys in the clear (RFC 8247 section 2.1)'],
  },
  {
    name: 'cnsa on the gateway: its defaults are judged at the gateway file',
    gateway: 'cryptoProfile: cnsa\ndefaults:\n  esp: { proposals: [aes128gcm16-ecp384] }\n',
    expected: ['gateways/gw1.yaml:6:22: error crypto-profile-forbidden: gateway gw1: ESP proposal `aes128gcm16-ecp384`: crypto profile cnsa forbids `aes128gcm16`: not a CNSA algorithm: AES-256 (GCM, or CBC with HMAC-SHA-384), SHA-384, ECDH P-384 or DH of 3072 bits and more only (CNSSP 15; RFC 9206, CNSA Suite for IPsec)'],
  },
  {
    name: 'the tenant overrides the gateway: bsi, not cnsa, judges the connection',
    gateway: 'cryptoProfile: cnsa\n',
    tenant: 'cryptoProfile: bsi\n',
    conn: '    ike: { proposals: [aes256gcm16-prfsha384-x25519] }\n',
    expected: ['tenants/alpha.yaml:9:24: warning crypto-profile-discouraged: alpha/IfAe1: IKE proposal `aes256gcm16-prfsha384-x25519`: crypto profile bsi discourages `x25519`: Curve25519 is not among the groups TR-02102-3 recommends (brainpool and NIST curves, MODP of 3072 bits and more) (BSI TR-02102-3)'],
  },
  {
    name: 'a tenant profile judges inherited gateway defaults at its cryptoProfile',
    gateway: 'defaults:\n  ike: { proposals: [aes256gcm16-prfsha384-modp2048] }\n',
    tenant: 'cryptoProfile: nist-128\n',
    expected: ['tenants/alpha.yaml:4:16: error crypto-profile-forbidden: alpha/IfAe1: IKE proposal `aes256gcm16-prfsha384-modp2048` (gateway gw1\'s default, inherited): crypto profile nist-128 forbids `modp2048`: 2048-bit MODP gives 112 bits of security; this profile asks for 128 (NIST SP 800-57 Part 1 Rev. 5, table 2)'],
  },
  {
    name: 'nist-128: SHA-1 is discouraged, ChaCha20 forbidden',
    tenant: 'cryptoProfile: nist-128\n',
    conn: '    esp: { proposals: [aes128-sha1, chacha20poly1305] }\n',
    expected: [
      'tenants/alpha.yaml:9:24: warning crypto-profile-discouraged: alpha/IfAe1: ESP proposal `aes128-sha1`: crypto profile nist-128 discourages `sha1`: HMAC-SHA-1 is still approved, but SHA-2 is recommended for IPsec (NIST SP 800-77 Rev. 1)',
      'tenants/alpha.yaml:9:37: error crypto-profile-forbidden: alpha/IfAe1: ESP proposal `chacha20poly1305`: crypto profile nist-128 forbids `chacha20poly1305`: not a NIST-approved algorithm of at least 128-bit security (AES, SHA-2 or SHA-1 HMAC, AES-CMAC, P-256/384/521, MODP of 3072 bits and more) (NIST SP 800-57 Part 1 Rev. 5, table 2; NIST SP 800-131A Rev. 2)',
    ],
  },
  {
    name: 'an unknown profile is a schema error',
    tenant: 'cryptoProfile: fips\n',
    expected: ['tenants/alpha.yaml:4:16: error schema/enum: `cryptoProfile` must be one of default, cnsa, nist-128, bsi, got `fips`'],
  },
];

for (const c of CASES) {
  test(`crypto: ${c.name}`, () => {
    const got = cryptoLines({ 'gateways/gw1.yaml': gateway(c.gateway), 'tenants/alpha.yaml': tenant(c.tenant ?? '', c.conn ?? '') });
    assert.fixture(got, c.expected.map((l) => `${l}\n`).join(''));
  });
}

test('every profile\'s examples are accepted by its own table, and every named keyword is one strongSwan knows', () => {
  assert.equal(PROFILE_NAMES, ['default', 'cnsa', 'nist-128', 'bsi']);
  for (const p of PROFILES) {
    for (const kind of ['ike', 'esp'] as const) {
      assert.ok(p.examples[kind].length >= 3, `${p.name} ${kind}: at least three examples`);
      for (const ex of p.examples[kind]) for (const k of ex.split('-')) assert.is(verdict(p, kind, k), undefined, `${p.name} ${kind} ${ex}: ${k}`);
      const known = new Set(keywords(kind));
      for (const k of [...Object.keys(p[kind].verdicts), ...(p[kind].allowed ?? [])]) assert.ok(known.has(k) || (kind === 'ike' && ['esn', 'noesn'].includes(k)), `${p.name} ${kind}: ${k} is not a strongSwan keyword`);
    }
  }
});

test('docs/crypto.md shows the tables as src/validate/crypto.ts has them', () => {
  const root = path.resolve(__dirname, '..', fs.existsSync(path.join(__dirname, '..', 'package.json')) ? '' : '..');
  const page = fs.readFileSync(path.join(root, 'docs', 'crypto.md'), 'utf8');
  const marker = '<!-- generated from src/validate/crypto.ts by cryptoTables(); do not edit below -->\n';
  assert.ok(page.includes(marker), 'docs/crypto.md lost its marker');
  assert.fixture(page.slice(page.indexOf(marker) + marker.length), cryptoTables() + '\n');
});

/** One gateway, one tenant per profile (naming it), a connection per example pair; every example must validate clean. */
function examplesRepo(): Record<string, string> {
  const files: Record<string, string> = { 'gateways/gw1.yaml': gateway() };
  PROFILES.forEach((p, i) => {
    const name = `prof-${p.name.replace(/[^a-z0-9]/g, '')}`;
    const n = Math.max(p.examples.ike.length, p.examples.esp.length);
    const conns = Array.from({ length: n }, (_, j) => {
      const ike = p.examples.ike[j % p.examples.ike.length];
      const esp = p.examples.esp[j % p.examples.esp.length];
      return `  - interface: IfP${i}e${j}\n    destination: 198.51.100.${i * 10 + j + 1}\n    auth: { psk: env:PROF_${p.name.replace(/[^a-z0-9]/g, '').toUpperCase()}_PSK }\n    ike: { proposals: [${ike}] }\n    esp: { proposals: [${esp}] }\n`;
    });
    files[`tenants/${name}.yaml`] = `tenant: ${name}\ncryptoProfile: ${p.name}\ngateways: [gw1]\nnetwork: { interface: IfP${i}i, vlan: ${200 + i}, addresses: [10.${i}.0.1/24] }\nconnections:\n${conns.join('')}`;
  });
  return files;
}

test('real charon (one, for every profile) loads every accepted example proposal', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-crypto-charon-'));
  try {
    for (const [p, t] of Object.entries(examplesRepo())) {
      fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
      fs.writeFileSync(path.join(dir, p), t);
    }
    const v = validate(loadConfig(dir));
    assert.is(formatLines(v.diagnostics), '', 'every example validates clean under its own profile');
    const gw = v.model.gateways[0];
    const input = { model: v.model, gateway: gw, tenants: tenantsOn(v.model, 'gw1'), alloc: allocate(v.model, emptyLock()).alloc };
    const files = render(input);
    const out = path.join(dir, 'out');
    for (const f of files) {
      fs.mkdirSync(path.dirname(path.join(out, f.path)), { recursive: true });
      fs.writeFileSync(path.join(out, f.path), text(f), { mode: f.mode ?? 0o644 });
    }
    const { diagnostics, loaded } = await checkLoaded({ dir: out, files, gateway: gw, tenants: input.tenants });
    assert.equal(diagnostics.map((d) => `${d.file}:${d.line} ${d.code} ${d.message}`), []);
    const expected = input.tenants.flatMap((t) => t.connections.map((c) => c.interface)).sort();
    assert.is(expected.length, PROFILES.reduce((n, p) => n + Math.max(p.examples.ike.length, p.examples.esp.length), 0));
    assert.equal(loaded, expected);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
