// /usr/bin/s2sgw of the Debian package (packaging/s2sgw.sh): runs lib/s2sgw/s2sgw beside its bin/ folder with
// GLIBC_TUNABLES=glibc.malloc.hugetlb=1 added (the single executable cannot set its own C library's tunables).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from './helpers';

/** A package tree with the wrapper and, as its executable, a script that prints what it got; `via` links to the wrapper. */
function tree(): { dir: string; wrapper: string; via: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-wrapper-'));
  const wrapper = path.join(dir, 'usr', 'bin', 's2sgw');
  fs.mkdirSync(path.dirname(wrapper), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'packaging', 's2sgw.sh'), wrapper);
  fs.chmodSync(wrapper, 0o755);
  const exe = path.join(dir, 'usr', 'lib', 's2sgw', 's2sgw');
  fs.mkdirSync(path.dirname(exe), { recursive: true });
  fs.writeFileSync(exe, '#!/bin/sh\nprintf \'%s\\n\' "$0" "${GLIBC_TUNABLES-unset}" "$#" "$@"\n', { mode: 0o755 });
  const via = path.join(dir, 'elsewhere', 's2sgw');
  fs.mkdirSync(path.dirname(via));
  fs.symlinkSync(wrapper, via);
  return { dir, wrapper, via };
}

function run(file: string, args: string[], env: Record<string, string> = {}): string[] {
  const r = spawnSync(file, args, { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', ...env } });
  assert.is(r.status, 0, r.stderr);
  return r.stdout.split('\n').slice(0, -1);
}

test('the wrapper runs lib/s2sgw/s2sgw with its arguments as they were and glibc.malloc.hugetlb=1 added', () => {
  const t = tree();
  try {
    const exe = path.join(t.dir, 'usr', 'lib', 's2sgw', 's2sgw');
    assert.equal(run(t.wrapper, ['apply', '--bundle', 'a b', '']), [exe, 'glibc.malloc.hugetlb=1', '4', 'apply', '--bundle', 'a b', '']);
    // Other tunables are kept; one that sets hugetlb already (the units, the Ansible modules, an operator) wins.
    assert.equal(run(t.wrapper, ['x'], { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' })[1], 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1');
    assert.equal(run(t.wrapper, ['x'], { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' })[1], 'glibc.malloc.hugetlb=1');
    assert.equal(run(t.wrapper, ['x'], { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=0' })[1], 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=0');
    assert.equal(run(t.wrapper, ['x'], { GLIBC_TUNABLES: '' })[1], 'glibc.malloc.hugetlb=1');
    // Run through a link (or by PATH) it still finds the executable beside its own folder.
    assert.equal(run(t.via, [])[0], exe);
    // Without a PATH (the lab's check that it needs no node runs it so).
    assert.equal(run(t.via, ['y'], { PATH: '/nonexistent' }), [exe, 'glibc.malloc.hugetlb=1', '1', 'y']);
    assert.equal(spawnSync('sh', ['-c', 's2sgw --version'], { encoding: 'utf8', env: { PATH: `${path.dirname(t.wrapper)}:/usr/bin:/bin` } }).stdout.split('\n')[0], exe);
  } finally {
    fs.rmSync(t.dir, { recursive: true, force: true });
  }
});

test.run();
