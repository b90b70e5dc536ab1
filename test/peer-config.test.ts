// peer-config: the customer side mirrors the gateway's connection; FRR accepts the site snippet.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, cli } from './helpers';
import { vtyshCheck } from '../src/targets/frr/check';

test('peer-config mirrors a PSK connection: addresses and ids swapped, same proposals, explicit selectors', async () => {
  const r = await cli(['peer-config', '--config', ROOT, '--tenant', 'contoso', '--connection', 'IfCe1']);
  assert.is(r.code, 0, r.err);
  for (const line of [
    '    local_addrs = "131.107.0.10"',
    '    remote_addrs = "203.0.113.10"',
    '    proposals = "aes256gcm16-prfsha384-ecp384"',
    '      id = "131.107.0.10"',
    '      id = "203.0.113.10"',
    '        local_ts = "10.1.0.0/16"',
    '        remote_ts = "192.168.0.0/29"',
    '        esp_proposals = "aes256gcm16-ecp384"',
    '#     secret = <the value of env:CONTOSO_NY_PSK>',
    'router bgp 65001',
    ' neighbor 192.168.0.1 remote-as 64512',
    ' neighbor 192.168.0.1 update-source 10.1.0.1',
  ])
    assert.ok(r.out.split('\n').includes(line), `missing line ${JSON.stringify(line)} in\n${r.out}`);
});

test('peer-config --format json carries the secret references, never values', async () => {
  process.env.CONTOSO_NY_PSK = 'a-secret-value-that-must-not-print';
  try {
    const r = await cli(['peer-config', '--config', ROOT, '--tenant', 'contoso', '--connection', 'IfCe1', '--format', 'json']);
    assert.is(r.code, 0);
    const j = JSON.parse(r.out);
    assert.equal(j.secrets, [{ section: 'ike-IfCe1', kind: 'psk', ref: 'env:CONTOSO_NY_PSK', ids: ['131.107.0.10', '203.0.113.10'], refsLine: 'IfCe1 psk env:CONTOSO_NY_PSK id=131.107.0.10 id=203.0.113.10' }]);
    assert.not.ok(r.out.includes('a-secret-value'));
  } finally {
    delete process.env.CONTOSO_NY_PSK;
  }
});

test('the site FRR snippet is accepted by vtysh -C', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-peer-'));
  try {
    for (const [t, c] of [['contoso', 'IfCe1'], ['woodgrove', 'IfWe1'], ['woodgrove', 'IfWe2']]) {
      const r = await cli(['peer-config', '--config', ROOT, '--tenant', t, '--connection', c, '--out', path.join(dir, c)]);
      assert.is(r.code, 0, r.err);
      const v = await vtyshCheck(path.join(dir, c, 'frr.conf'));
      assert.not.ok(v.missing, 'vtysh is not installed');
      assert.ok(v.ok, `${t}/${c}: ${v.output}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an EAP site identifies itself with its EAP username (its EAP client looks the secret up by that identity)', async () => {
  const config = path.join(ROOT, 'test', 'fixtures', 'build', 'eap-respond-only');
  const r = await cli(['peer-config', '--config', config, '--tenant', 'northwind', '--connection', 'IfNe-shop1', '--format', 'json']);
  assert.is(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  const local = /local \{([^}]*)\}/.exec(j.swanctl)?.[1] ?? '';
  assert.match(local, /auth = eap-mschapv2/);
  assert.match(local, /\bid = "IfNe-shop1"/);
  assert.match(local, /eap_id = "IfNe-shop1"/);
  assert.match(j.swanctl, /start_action = start/);
  assert.equal(j.secrets.map((s: { section: string; ids: string[] }) => [s.section, s.ids]), [['eap-IfNe-shop1', ['IfNe-shop1']]]);
});

test('peer-config usage errors exit 2 and say what exists', async () => {
  assert.is((await cli(['peer-config', '--config', ROOT])).code, 2);
  const r = await cli(['peer-config', '--config', ROOT, '--tenant', 'contoso', '--connection', 'IfXe9']);
  assert.is(r.code, 2);
  assert.match(r.err, /its connections: IfCe1/);
  assert.is((await cli(['peer-config', '--config', ROOT, '--tenant', 'nobody', '--connection', 'IfCe1'])).code, 2);
});

test.run();
