// readReleaseFile / readReleaseBytes: secrets.conf is held between the reads of one apply, never past a change of the file.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readReleaseBytes, readReleaseFile, Release, SECRETS_CONF } from '../src/apply/release';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-release-read-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

const release = (name: string): Release => ({ name, dir: path.join(dir, name), manifest: { files: {}, tenants: {} } as unknown as Release['manifest'], flat: true }) as Release;
const file = (r: Release) => path.join(r.dir, ...SECRETS_CONF.split('/'));
function put(r: Release, text: string): void {
  fs.mkdirSync(path.dirname(file(r)), { recursive: true });
  fs.writeFileSync(file(r), text);
}

test('the same file read again gives the same text; a file replaced or rewritten in place is read afresh', () => {
  const a = release('a');
  const b = release('b');
  put(a, 'secrets {\n  ike-x {\n    secret = one\n  }\n}\n');
  put(b, 'secrets {\n}\n');
  assert.is(readReleaseFile(a, SECRETS_CONF), 'secrets {\n  ike-x {\n    secret = one\n  }\n}\n');
  assert.is(readReleaseFile(b, SECRETS_CONF), 'secrets {\n}\n');
  assert.is(readReleaseBytes(a, SECRETS_CONF)!.toString(), readReleaseFile(a, SECRETS_CONF));
  // replaced (a new inode, same size)
  const t = file(a) + '.new';
  fs.writeFileSync(t, 'secrets {\n  ike-x {\n    secret = two\n  }\n}\n');
  fs.renameSync(t, file(a));
  assert.is(readReleaseFile(a, SECRETS_CONF), 'secrets {\n  ike-x {\n    secret = two\n  }\n}\n');
  // rewritten in place, same size
  fs.writeFileSync(file(a), 'secrets {\n  ike-x {\n    secret = 333\n  }\n}\n');
  assert.is(readReleaseBytes(a, SECRETS_CONF)!.toString(), 'secrets {\n  ike-x {\n    secret = 333\n  }\n}\n');
  assert.is(readReleaseFile(a, SECRETS_CONF), 'secrets {\n  ike-x {\n    secret = 333\n  }\n}\n');
  // gone
  fs.rmSync(file(a));
  assert.is(readReleaseFile(a, SECRETS_CONF), undefined);
  assert.is(readReleaseBytes(a, SECRETS_CONF), undefined);
  assert.is(readReleaseFile(null, SECRETS_CONF), undefined);
});

test.run();
