// Issue 15, the validate side: a tenant file (and the lock beside it) is hostile input. One case per
// point, each with the exact diagnostics expected; then what every output format and build do with them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig, loadFiles } from '../src/model/load';
import { filesAt } from '../src/model/git';
import { formatLines } from '../src/model/format';
import { validate } from '../src/validate';
import { compile } from '../src/bundle/compile';
import { ROOT, cli, tempCopy } from './helpers';

const CONTOSO = 'tenants/contoso.yaml';
const WOODGROVE = 'tenants/woodgrove.yaml';
const LOCK = 'allocations.lock.yaml';

/** A copy of the bundled example with `edits` applied: file -> [from, to] replacements (each must match), or a whole new text. */
function repo(edits: Record<string, Array<[string, string]> | string> = {}): string {
  const dir = tempCopy(ROOT);
  for (const [file, e] of Object.entries(edits)) {
    const p = path.join(dir, file);
    if (typeof e === 'string') {
      fs.writeFileSync(p, e);
      continue;
    }
    let text = fs.readFileSync(p, 'utf8');
    for (const [from, to] of e) {
      assert.ok(text.includes(from), `${file} has no ${JSON.stringify(from)}`);
      text = text.replace(from, to);
    }
    fs.writeFileSync(p, text);
  }
  return dir;
}

const lines = (dir: string) => formatLines(validate(loadConfig(dir)).diagnostics);

interface Case {
  name: string;
  make: () => string;
  expect: string;
}

const CASES: Case[] = [
  // 1. Interface names.
  {
    name: '1 a network interface named like an option',
    make: () => repo({ [CONTOSO]: [['interface: IfCi1\n  vlan', 'interface: -h\n  vlan'], ['  - interface: IfCi1\n    direction: outbound', '  - interface: -h\n    direction: outbound'], ['  - interface: IfCi1\n    direction: inbound', '  - interface: -h\n    direction: inbound']] }),
    expect: "tenants/contoso.yaml:7:14: error reserved-interface-name: `-h` (tenant contoso's network interface) starts with `-`; `ip` and other tools would read it as an option\n",
  },
  {
    name: "1 a connection named like the gateway's external NIC",
    make: () => repo({ [CONTOSO]: [['- interface: IfCe1', '- interface: eth0'], ['via: IfCe1', 'via: eth0']], [LOCK]: [['IfCe1: 1', 'eth0: 1']] }),
    expect: "tenants/contoso.yaml:11:16: error duplicate-interface: interface name `eth0` (tenant contoso's connection) is already gateway gw1's external NIC\ngateways/gw1.yaml:5:14: related duplicate-interface: gateway gw1's external NIC `eth0` is here\n",
  },
  {
    name: '1 a connection named like an FRR keyword (any case)',
    make: () => repo({ [CONTOSO]: [['- interface: IfCe1', '- interface: BlackHole'], ['via: IfCe1', 'via: BlackHole']], [LOCK]: [['IfCe1: 1', 'BlackHole: 1']] }),
    expect: "tenants/contoso.yaml:11:16: error reserved-interface-name: `BlackHole` (connection contoso/BlackHole) is a word FRR reads as a keyword (`ip route PREFIX BlackHole` would not name an interface)\n",
  },
  {
    name: '1 a connection named like a host device (built-in pattern)',
    make: () => repo({ [WOODGROVE]: [['- interface: IfWe2', '- interface: veth9a'], ['via: IfWe2', 'via: veth9a']], [LOCK]: [['IfWe2: 3', 'veth9a: 3']] }),
    expect: "tenants/woodgrove.yaml:17:16: error reserved-interface-name: `veth9a` (connection woodgrove/veth9a) matches `veth*`, a name reserved for the host's own devices on gateway gw1\n",
  },
  {
    name: "1 a network interface matching the gateway's own reservedInterfaces",
    make: () => repo({ 'gateways/gw1.yaml': [['defaults:', 'reservedInterfaces: [If*i1]\ndefaults:']] }),
    expect:
      "tenants/contoso.yaml:7:14: error reserved-interface-name: `IfCi1` (tenant contoso's network interface) matches `If*i1`, reserved by gateway gw1's `reservedInterfaces`\n" +
      "tenants/woodgrove.yaml:7:14: error reserved-interface-name: `IfWi1` (tenant woodgrove's network interface) matches `If*i1`, reserved by gateway gw1's `reservedInterfaces`\n",
  },
  // 2. Identities.
  {
    name: '2 destination 0.0.0.0',
    make: () => repo({ [CONTOSO]: [['destination: 131.107.0.10', 'destination: 0.0.0.0']] }),
    expect: 'tenants/contoso.yaml:12:18: error wildcard-identity: destination 0.0.0.0 of contoso/IfCe1 is the unspecified address, which strongSwan reads as any peer (%any)\n',
  },
  {
    name: '2 destination ::ffff:0.0.0.0 (the unspecified address in IPv4-mapped form)',
    make: () => repo({ [CONTOSO]: [['destination: 131.107.0.10', 'destination: "::ffff:0.0.0.0"']] }),
    expect: 'tenants/contoso.yaml:12:18: error wildcard-identity: destination ::ffff:0:0 of contoso/IfCe1 is the unspecified address, which strongSwan reads as any peer (%any)\n',
  },
  {
    name: '2 destination ff02::1 (multicast)',
    make: () => repo({ [CONTOSO]: [['destination: 131.107.0.10', 'destination: "ff02::1"']] }),
    expect: 'tenants/contoso.yaml:12:18: error wildcard-identity: destination ff02::1 of contoso/IfCe1 is a multicast address, not one peer\n',
  },
  {
    name: '2 a certificate subject with CN=*',
    make: () => repo({ [WOODGROVE]: [['      psk: env:WOODGROVE_SFO_PSK', '      certificate: { subject: "C=US, CN=*" }']] }),
    expect: 'tenants/woodgrove.yaml:20:31: error wildcard-identity: certificate subject of woodgrove/IfWe2 has a wildcard in `CN=*`, which matches certificates of other peers\n',
  },
  // 4. Reading the repository.
  {
    name: '4 a tenant file that is a symlink to /proc/self/environ is not read',
    make: () => {
      const dir = repo();
      fs.symlinkSync('/proc/self/environ', path.join(dir, 'tenants', 'evil.yaml'));
      return dir;
    },
    expect: 'tenants/evil.yaml:1:1: error yaml/not-a-file: the file is a symbolic link; s2sgw reads only regular files and does not follow links\n',
  },
  {
    name: '4 a FIFO named like a tenant file is refused without blocking',
    make: () => {
      const dir = repo();
      assert.is(spawnSync('mkfifo', [path.join(dir, 'tenants', 'pipe.yaml')]).status, 0);
      return dir;
    },
    expect: 'tenants/pipe.yaml:1:1: error yaml/not-a-file: not a regular file (a folder, device, FIFO or socket); s2sgw reads only regular files\n',
  },
  {
    name: '4 a symlinked lock file',
    make: () => {
      const dir = repo();
      const real = path.join(dir, 'real.lock');
      fs.renameSync(path.join(dir, LOCK), real);
      fs.symlinkSync(real, path.join(dir, LOCK));
      return dir;
    },
    expect: 'allocations.lock.yaml:1:1: error yaml/not-a-file: the file is a symbolic link; s2sgw reads only regular files and does not follow links\n',
  },
  {
    name: '4 an alias bomb stops at the alias limit',
    make: () => repo({ [CONTOSO]: [['tenant: contoso\n', 'tenant: contoso\nx0: &a0 [y, y, y, y, y, y, y, y, y, y]\n' + Array.from({ length: 8 }, (_, i) => `x${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(', ')}]\n`).join('')]] }),
    expect: 'tenants/contoso.yaml:5:10: error yaml/alias-limit: aliases (*name) in this file expand to too much data (more than 100 alias uses); s2sgw stopped reading it\n',
  },
  // 5. Inline secrets wherever they are.
  {
    name: '5 a secret under a mistyped key',
    make: () => repo({ [CONTOSO]: [['      psk: env:CONTOSO_NY_PSK', '      pks: Hunter2-Secret']] }),
    expect:
      'tenants/contoso.yaml:14:7: error schema/unknown-key: unknown key `pks` in `connections[0].auth`\n' +
      'tenants/contoso.yaml:14:12: error inline-secret: `connections[0].auth.pks` may hold a secret (it sits under `auth`); its value is not shown\n',
  },
  {
    name: '5 a secret as the plain value of auth',
    make: () => repo({ [CONTOSO]: [['    auth:\n      psk: env:CONTOSO_NY_PSK', '    auth: Hunter2-Secret']] }),
    expect:
      'tenants/contoso.yaml:13:11: error inline-secret: `connections[0].auth` may hold a secret (it sits under `auth`); its value is not shown\n' +
      'tenants/contoso.yaml:13:11: error schema/type: `auth` must be a mapping of keys to values, got a value not shown here (it may be a secret)\n',
  },
  {
    name: '5 a secret through a YAML alias',
    make: () => repo({ [CONTOSO]: [['tenant: contoso\n', 'tenant: contoso\nnote: &s Hunter2-Secret\n'], ['psk: env:CONTOSO_NY_PSK', 'psk: *s']] }),
    expect: "tenants/contoso.yaml:4:1: error schema/unknown-key: unknown key `note`\ntenants/contoso.yaml:15:12: error inline-secret: `psk` of contoso/IfCe1 holds the secret itself; write a reference to it\n",
  },
  // 6. Characters that end a token.
  {
    name: '6 a control character in a certificate subject',
    make: () => repo({ [WOODGROVE]: [['      psk: env:WOODGROVE_SFO_PSK', '      certificate: { subject: "CN=a\\u0007b\\nO=x" }']] }),
    expect: 'tenants/woodgrove.yaml:20:31: error schema/pattern: `subject` must be a certificate subject DN like "CN=ny.contoso.example, O=Contoso", without control characters, line breaks, quotes, backslashes or braces (they would end the value in swanctl.conf), got `CN=a\\x07b\\nO=x`\n',
  },
  {
    name: '6 a brace in a certificate subject',
    make: () => repo({ [WOODGROVE]: [['      psk: env:WOODGROVE_SFO_PSK', '      certificate: { subject: "CN=a} b {" }']] }),
    expect: 'tenants/woodgrove.yaml:20:31: error schema/pattern: `subject` must be a certificate subject DN like "CN=ny.contoso.example, O=Contoso", without control characters, line breaks, quotes, backslashes or braces (they would end the value in swanctl.conf), got `CN=a} b {`\n',
  },
  {
    name: '6 a quote and a line break in a DNS-name destination',
    make: () => repo({ [WOODGROVE]: [['      psk: env:WOODGROVE_SFO_PSK', '      certificate: { subject: "CN=sf.woodgrove.example" }'], ['destination: 131.107.2.10', 'destination: "sf.woodgrove.example\\"\\n"']] }),
    expect: 'tenants/woodgrove.yaml:18:18: error schema/destination: `destination` must be an IP address or a DNS name, like 131.107.0.10 or ny.contoso.example, got `sf.woodgrove.example"\\n`\n',
  },
  // 7. Length caps.
  {
    name: '7 a 900 KB certificate subject',
    make: () => repo({ [WOODGROVE]: [['      psk: env:WOODGROVE_SFO_PSK', `      certificate: { subject: "CN=${'a'.repeat(900_000)}" }`]] }),
    expect: 'tenants/woodgrove.yaml:20:31: error schema/too-long: `subject` is 900,003 characters long; at most 1024 are allowed here\n',
  },
  // 8. Names that would carry CI commands.
  {
    name: '8 a YAML key holding a line break and ::warning',
    make: () => repo({ [CONTOSO]: [['tenant: contoso\n', 'tenant: contoso\n"x\\n::warning::pwned": 1\n']] }),
    expect: 'tenants/contoso.yaml:4:1: error schema/unknown-key: unknown key `x\\x0a::warning::pwned`\n',
  },
  {
    name: '8 a tenant file name holding a line break and ::add-mask::',
    make: () => {
      const dir = repo();
      fs.copyFileSync(path.join(dir, CONTOSO), path.join(dir, 'tenants', 'x\n::add-mask::y.yaml'));
      return dir;
    },
    expect: 'tenants/x\\n::add-mask::y.yaml:1:1: error yaml/file-name: file name `x\\n::add-mask::y.yaml` has characters s2sgw does not accept in a file name; it was not read\n',
  },
];

for (const c of CASES) {
  test(`hostile: ${c.name}`, () => {
    const got = lines(c.make());
    assert.fixture(got, c.expect);
  });
}

// 3. The lock file is input too: validate, build and build --locked refuse a hand-edited lock, at its lines.
const LOCK_CASES: Array<{ name: string; edits: Array<[string, string]>; expect: string }> = [
  {
    name: 'two tenants on one VRF table',
    edits: [['  woodgrove:\n    table: 1002', '  woodgrove:\n    table: 1001']],
    expect: 'allocations.lock.yaml:15:12: error lock/duplicate-id: tenant woodgrove has VRF routing table 1001, which the lock already gives to another tenant\nallocations.lock.yaml:10:12: related lock/duplicate-id: VRF routing table 1001 is first given here\n',
  },
  {
    name: "two tenants' connections on one XFRM if_id",
    edits: [['IfWe2: 3', 'IfWe2: 1']],
    expect: 'allocations.lock.yaml:19:14: error lock/duplicate-id: connection woodgrove/IfWe2 has XFRM if_id 1, which the lock already gives to another connection\nallocations.lock.yaml:13:14: related lock/duplicate-id: XFRM if_id 1 is first given here\n',
  },
  {
    name: 'two tenants on one conntrack zone',
    edits: [['    zone: 2', '    zone: 1']],
    expect: 'allocations.lock.yaml:16:11: error lock/duplicate-id: tenant woodgrove has conntrack zone 1, which the lock already gives to another tenant\nallocations.lock.yaml:11:11: related lock/duplicate-id: conntrack zone 1 is first given here\n',
  },
  {
    name: "a tenant's VRF on the main table",
    edits: [['    table: 1001', '    table: 254']],
    expect: "allocations.lock.yaml:10:12: error lock/reserved-id: tenant contoso has routing table 254, which the kernel reserves (main); a tenant's VRF never uses it\n",
  },
  {
    name: 'an id at or above next (a new tenant would get it again)',
    edits: [['IfWe2: 3', 'IfWe2: 4']],
    expect: 'allocations.lock.yaml:19:14: error lock/out-of-range: connection woodgrove/IfWe2 has XFRM if_id 4, not below `next.ifId` (4): the next new connection would be given it too\n',
  },
  {
    name: 'a key that is no tenant name',
    edits: [['  woodgrove:', '  "wood\\ngrove":']],
    expect: 'allocations.lock.yaml:14:3: error lock/invalid: `wood\\ngrove` is not a tenant name (1 to 15 characters of a-z, 0-9 and -, starting with a letter)\n',
  },
];

for (const c of LOCK_CASES) {
  test(`hostile lock: ${c.name}: validate, build and build --locked refuse it`, async () => {
    const dir = repo({ [LOCK]: c.edits });
    assert.fixture(lines(dir), c.expect);
    const before = fs.readFileSync(path.join(dir, LOCK), 'utf8');
    for (const argv of [['validate'], ['build'], ['build', '--locked']]) {
      const r = await cli([...argv, '--config', dir, '--format', 'json']);
      assert.is(r.code, 1, `${argv.join(' ')}: ${r.out}${r.err}`);
      assert.ok(JSON.parse(r.out).diagnostics.some((d: { code: string }) => d.code === c.expect.split(' ')[2].replace(/:$/, '')), argv.join(' '));
    }
    assert.is(fs.readFileSync(path.join(dir, LOCK), 'utf8'), before, 'the lock is left as it was');
    assert.not.ok(fs.existsSync(path.join(dir, 'out')), 'nothing is built');
  });
}

test('hostile lock: a removed tenant still in the lock is a warning; build retires it, --locked refuses', async () => {
  const dir = repo({ [LOCK]: [['tenants:\n', 'tenants:\n  ghost:\n    table: 1000\n    zone: 0\n    ifIds: {}\n'], ['next:\n  table: 1003', 'next:\n  table: 1003']] });
  // Out of range and reserved whatever the owner: errors.
  assert.fixture(
    lines(dir),
    'allocations.lock.yaml:9:3: warning lock/unknown-tenant: the lock holds ids for tenant ghost, which has no tenant file; `s2sgw build` retires them\n' +
      'allocations.lock.yaml:10:12: error lock/out-of-range: tenant ghost has VRF routing table 1000, outside the range s2sgw allocates (1001 to 4294967295)\n' +
      'allocations.lock.yaml:11:11: error lock/out-of-range: tenant ghost has conntrack zone 0, outside the range s2sgw allocates (1 to 65535)\n',
  );
  const ok = repo({ [LOCK]: [['tenants:\n', 'tenants:\n  ghost:\n    table: 1003\n    zone: 3\n    ifIds: {}\n'], ['next:\n  table: 1003\n  zone: 3', 'next:\n  table: 1004\n  zone: 4']] });
  assert.is((await cli(['build', '--locked', '--config', ok, '--format', 'json'])).code, 1);
  const r = await cli(['build', '--config', ok]);
  assert.is(r.code, 0, r.err);
  assert.match(r.err, /tenant ghost: table 1003, zone 3 retired/);
  assert.not.match(fs.readFileSync(path.join(ok, LOCK), 'utf8'), /ghost/);
});

// 4. The Git-ref path: a symlink blob (mode 120000) is refused as on disk.
test('hostile: a tenant committed as a symlink is refused at a Git ref too (plan --against)', () => {
  const dir = repo();
  const git = (...args: string[]) => {
    const r = spawnSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args]);
    assert.is(r.status, 0, r.stderr.toString());
  };
  fs.symlinkSync('/proc/self/environ', path.join(dir, 'tenants', 'evil.yaml'));
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'x');
  const ref = filesAt(dir, 'HEAD');
  assert.equal(ref.inputs.find((i) => i.path === 'tenants/evil.yaml')?.refused, 'symlink');
  assert.fixture(formatLines(validate(loadFiles(dir, ref.inputs, ref.lock)).diagnostics), 'tenants/evil.yaml:1:1: error yaml/not-a-file: the file is a symbolic link; s2sgw reads only regular files and does not follow links\n');
});

// 5. The value of an inline secret is printed in no format: not in messages, not in code frames (the anchor's line included).
test('hostile: an inline secret (mistyped key, plain auth, alias) is in no output format', async () => {
  const dir = repo({
    [CONTOSO]: [['tenant: contoso\n', 'tenant: contoso\nnote: &s Alias-Secret-1\n'], ['psk: env:CONTOSO_NY_PSK', 'psk: *s']],
    [WOODGROVE]: [['      psk: env:WOODGROVE_NY_PSK', '      pks: Typo-Secret-2'], ['    auth:\n      psk: env:WOODGROVE_SFO_PSK', '    auth: Plain-Secret-3']],
  });
  for (const format of ['text', 'json', 'github']) {
    const r = await cli(['validate', '--config', dir, '--format', format]);
    assert.is(r.code, 1);
    const all = r.out + r.err;
    assert.ok(/inline-secret/.test(all), format);
    for (const s of ['Alias-Secret-1', 'Typo-Secret-2', 'Plain-Secret-3']) assert.not.ok(all.includes(s), `${format} prints ${s}`);
  }
  const text = (await cli(['validate', '--config', dir])).err;
  assert.ok(text.includes('note: &s **************'), 'the anchor line is starred out');
});

// 6. Build never throws on what validate let through, and refuses what it did not.
test('hostile: build on a control character in a subject is a finding, not an internal error', async () => {
  const dir = repo({ [WOODGROVE]: [['      psk: env:WOODGROVE_SFO_PSK', '      certificate: { subject: "CN=a\\u0001b" }']] });
  const r = await cli(['build', '--config', dir, '--format', 'json']);
  assert.is(r.code, 1, r.err);
  assert.equal(JSON.parse(r.out).diagnostics.map((d: { code: string }) => d.code), ['schema/pattern']);
  assert.not.ok(fs.existsSync(path.join(dir, 'out')));
});

// 8. No output format prints a line a CI runner would obey.
test('hostile: no line of any format starts with :: from a key or file name', async () => {
  const dir = repo({ [CONTOSO]: [['tenant: contoso\n', 'tenant: contoso\n"x\\n::warning::pwned\\r::add-mask::y": 1\n']] });
  fs.copyFileSync(path.join(dir, CONTOSO), path.join(dir, 'tenants', 'a\n::error::b.yaml'));
  for (const format of ['text', 'json']) {
    const r = await cli(['validate', '--config', dir, '--format', format]);
    const bad = (r.out + r.err).split(/\r\n|\r|\n/).filter((l) => l.trimStart().startsWith('::'));
    assert.equal(bad, [], format);
  }
  // The github format's own lines start with ::error, one per finding; nothing else does.
  const g = await cli(['validate', '--config', dir, '--format', 'github']);
  const ghLines = g.out.split(/\r\n|\r|\n/).filter(Boolean);
  assert.ok(ghLines.length > 0);
  for (const l of ghLines) assert.match(l, /^::error file=tenants\//);
});

// 9. Diagnostics cost is linear: every finding's frame comes from one masked copy of its file.
test('hostile: 3,000 duplicate filters give 2,999 findings, every one with its own code frame', async () => {
  const rule = '  - interface: IfCi1\n    direction: outbound\n    permit:\n      - { protocol: icmp }\n';
  const text = fs.readFileSync(path.join(ROOT, CONTOSO), 'utf8').split('filters:')[0] + 'filters:\n' + rule.repeat(3000);
  const dir = repo({ [CONTOSO]: text });
  const r = await cli(['validate', '--config', dir]);
  assert.is(r.code, 1);
  assert.is((r.err.match(/error duplicate-filter/g) ?? []).length, 2999);
  assert.is((r.err.match(/^> +\d+ \| {3}- interface: IfCi1\n +\| +\^{5}$/gm) ?? []).length, 2999);
});

// A compile of a repository with only a hostile lock never gets as far as the allocator.
test('hostile lock: compile stops before allocating', () => {
  const dir = repo({ [LOCK]: [['    table: 1001', '    table: 254']] });
  const c = compile(loadConfig(dir));
  assert.is(c.ok, false);
  assert.equal(c.bundles, []);
  assert.is(c.lockText, undefined);
});

test.run();
