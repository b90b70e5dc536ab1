// apply and the gateway identity's private key: refused before any change unless root alone can read it; linked into swanctl's private/.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkPrivateKey } from '../src/apply/release';
import { StepError } from '../src/apply/runner';
import { FIXTURES, compileDir } from './helpers';

const refs = 'key /etc/s2sgw/pki/gw1.key link s2sgw-gw1.key\n';

function root(): { dir: string; host: (p: string) => string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-key-'));
  return { dir, host: (p: string) => path.join(dir, p) };
}

test('a certificate gateway names its key in private.refs; a PSK-only one does not', () => {
  const cert = compileDir(path.join(FIXTURES, 'build', 'vxlan-certificates'));
  const file = cert.bundles[0].files.find((f) => f.path === 'swanctl/private.refs');
  assert.ok(file, 'vxlan-certificates has certificate connections');
  assert.match(file!.content, /^key \/\S+ link s2sgw-gw1\.key$/m);
  const psk = compileDir(path.join(FIXTURES, 'build', 'many-small'));
  assert.not.ok(psk.bundles[0].files.some((f) => f.path === 'swanctl/private.refs'));
});

test('the key must exist and be readable by root alone, or apply stops at secrets', () => {
  const r = root();
  try {
    assert.throws(() => checkPrivateKey(refs, r), (e: StepError) => e instanceof StepError && /cannot be read \(ENOENT\)/.test(e.message));
    fs.mkdirSync(r.host('/etc/s2sgw/pki'), { recursive: true });
    fs.writeFileSync(r.host('/etc/s2sgw/pki/gw1.key'), 'KEY', { mode: 0o644 });
    fs.chmodSync(r.host('/etc/s2sgw/pki/gw1.key'), 0o644);
    assert.throws(() => checkPrivateKey(refs, r), (e: StepError) => /readable or writable by group or others \(mode 0644\)/.test(e.message) && !e.message.includes('KEY'));
    fs.chmodSync(r.host('/etc/s2sgw/pki/gw1.key'), 0o600);
    assert.equal(checkPrivateKey(refs, r), { key: '/etc/s2sgw/pki/gw1.key', link: 's2sgw-gw1.key' });
    assert.is(checkPrivateKey(undefined, r), undefined);
  } finally {
    fs.rmSync(r.dir, { recursive: true, force: true });
  }
});

test.run();
