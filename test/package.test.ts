// The Debian package (`npm run package`, docs/packaging.md): what it holds, lintian, and that it installs into a
// clean Debian 12 root (mmdebstrap, cached) and runs there with no Node.js: --version, validate, build and
// apply --dry-run. Needs root, mmdebstrap, lintian, overlayfs; in CI a missing tool fails this, never skips.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { spawnSync, SpawnSyncOptions } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from './helpers';

const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const ARCH = spawnSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).stdout.trim();
const DEB = path.join(ROOT, 'dist', 'pkg', `s2sgw_${VERSION.replace(/-/g, '~')}_${ARCH}.deb`);
const CACHE = process.env.S2SGW_LAB_CACHE ?? path.join(ROOT, 'lab', '.cache');
const PSK = 'package-test-psk-0123456789';

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): { code: number; out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message} (scripts/setup.sh installs it)`);
  return { code: r.status ?? 1, out: String(r.stdout), err: String(r.stderr) };
}

function must(cmd: string, args: string[], opts: SpawnSyncOptions = {}): string {
  const r = run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${r.out}${r.err}`);
  return r.out;
}

/** The package's Depends, without versions: the base root has them, so dpkg -i checks the versions against Debian 12's. */
function depends(): string[] {
  const control = must('dpkg-deb', ['--field', DEB, 'Depends']);
  return control.trim().split(/,\s*/).map((d) => d.replace(/\s*\(.*\)$/, ''));
}

/**
 * A Debian 12 root with only minbase and the package's dependencies, from this machine's apt sources, built once
 * per dependency list and kept in the lab's cache (about a minute to build; reused in a second).
 */
function baseRoot(): string {
  const deps = depends();
  const key = createHash('sha256').update(deps.join(',')).digest('hex').slice(0, 12);
  const dir = path.join(CACHE, `debian12-root-${key}`);
  if (fs.existsSync(path.join(dir, 'etc', 'debian_version'))) return dir;
  fs.mkdirSync(CACHE, { recursive: true });
  const tmp = `${dir}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const sources = fs.existsSync('/etc/apt/sources.list.d/debian.sources') ? '/etc/apt/sources.list.d/debian.sources' : '/etc/apt/sources.list';
  must('mmdebstrap', ['--quiet', '--mode=root', '--variant=minbase', `--include=${deps.join(',')}`, 'bookworm', tmp, sources]);
  fs.renameSync(tmp, dir);
  return dir;
}

let deb: string[] = [];

test('npm run package writes one .deb; it holds the executable, units, man page, completion, schemas and folders, and no sources', () => {
  must('bash', [path.join(ROOT, 'scripts', 'package.sh')], { cwd: ROOT, env: { ...process.env, S2SGW_PACKAGE_QUICK: '1' } });
  assert.equal(fs.readdirSync(path.dirname(DEB)).filter((f) => f.endsWith('.deb')), [path.basename(DEB)]);
  deb = must('dpkg-deb', ['--contents', DEB]).trim().split('\n');
  const entry = (p: string) => deb.find((l) => l.endsWith(` ./${p}`) || l.endsWith(` ./${p}/`));
  for (const p of [
    'usr/bin/s2sgw',
    'usr/lib/s2sgw/s2sgw',
    'lib/systemd/system/s2sgw-confirm.service',
    'usr/share/man/man1/s2sgw.1.gz',
    'usr/share/bash-completion/completions/s2sgw',
    'usr/share/s2sgw/schema/tenant.schema.json',
    'usr/share/s2sgw/schema/gateway.schema.json',
    'etc/logrotate.d/s2sgw',
    'etc/strongswan.d/s2sgw-start.conf',
    'lib/systemd/system/s2sgw-recover.service',
    'lib/systemd/system/s2sgw-metrics.timer',
    'usr/share/doc/s2sgw/copyright',
  ])
    assert.ok(entry(p), `the package holds ${p}`);
  assert.match(entry('usr/bin/s2sgw')!, /^-rwxr-xr-x root\/root/);
  assert.match(entry('usr/lib/s2sgw/s2sgw')!, /^-rwxr-xr-x root\/root/);
  // /usr/bin/s2sgw is the wrapper that gives the executable GLIBC_TUNABLES (test/package-wrapper.test.ts).
  const wrapper = spawnSync('sh', ['-c', `dpkg-deb --fsys-tarfile '${DEB}' | tar -xO ./usr/bin/s2sgw`], { encoding: 'utf8' }).stdout;
  assert.is(wrapper, fs.readFileSync(path.join(ROOT, 'packaging', 's2sgw.sh'), 'utf8'));
  assert.match(entry('etc/s2sgw/secrets')!, /^drwx------ root\/root/);
  assert.match(entry('var/lib/s2sgw')!, /^drwx------ root\/root/);
  assert.match(entry('var/log/s2sgw')!, /^drwxr-x--- root\/root/);
  const offending = deb.filter((l) => /\.ts$|\.js$|\/test\/|\/lab\/|node_modules|\.hbs$/.test(l));
  assert.equal(offending, [], 'no sources, scripts, tests or lab');
});

test('lintian reports no errors (overrides carry their reasons in packaging/lintian-overrides)', () => {
  const r = run('lintian', ['--tag-display-limit', '0', DEB]);
  const errors = (r.out + r.err).split('\n').filter((l) => l.startsWith('E:'));
  assert.equal(errors, []);
  assert.ok(r.code === 0 || r.code === 2, `lintian ran (exit ${r.code}): ${r.err}`);
});

test('the package installs into a clean Debian 12 root and runs there without Node.js: --version, validate, build, apply --dry-run', () => {
  const base = baseRoot();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-pkg-'));
  const [upper, wdir, root] = ['upper', 'work', 'root'].map((d) => path.join(work, d));
  for (const d of [upper, wdir, root]) fs.mkdirSync(d);
  // An overlay over the cached root: each run starts clean, and the cache is never written.
  must('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${base},upperdir=${upper},workdir=${wdir}`, root]);
  try {
    fs.copyFileSync(DEB, path.join(root, 'tmp', 's2sgw.deb'));
    const cfg = path.join(root, 'root', 'cfg');
    fs.mkdirSync(cfg);
    for (const f of ['gateways', 'tenants', 'allocations.lock.yaml']) fs.cpSync(path.join(ROOT, f), path.join(cfg, f), { recursive: true });
    // Inside: a private mount and network namespace (nft -c and vtysh -C touch nothing of this machine), no node.
    const inside = (script: string, env: Record<string, string> = {}) =>
      run('unshare', ['--mount', '--net', '--pid', '--fork', `--mount-proc=${path.join(root, 'proc')}`, 'chroot', root, '/usr/bin/env', '-i', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'sh', '-c', `cd /root/cfg && ${script}`]);

    const install = inside('dpkg -i /tmp/s2sgw.deb');
    assert.is(install.code, 0, `dpkg -i: ${install.out}${install.err}`);
    const node = inside('command -v node || command -v nodejs');
    assert.ok(node.code !== 0 && node.out === '', `no Node.js in the root: ${node.out}`);
    assert.ok(!fs.existsSync(path.join(root, 'usr', 'bin', 'node')));

    const version = inside('s2sgw --version');
    assert.equal([version.code, version.out], [0, `${VERSION}\n`]);
    // Through the wrapper, with Debian's dash: the executable gets the tunable (a stand-in prints it), then back.
    const tunable = inside('mv /usr/lib/s2sgw/s2sgw /tmp/exe && printf \'#!/bin/sh\\necho "$GLIBC_TUNABLES $*"\\n\' > /usr/lib/s2sgw/s2sgw && chmod 755 /usr/lib/s2sgw/s2sgw && s2sgw apply --dry-run; r=$?; mv /tmp/exe /usr/lib/s2sgw/s2sgw; exit $r');
    assert.equal([tunable.code, tunable.out + tunable.err], [0, 'glibc.malloc.hugetlb=1 apply --dry-run\n']);
    const validate = inside('s2sgw validate');
    assert.equal([validate.code, validate.out + validate.err], [0, '2 tenants on 1 gateway: valid\n']);
    const build = inside('s2sgw build');
    assert.equal([build.code, build.err + build.out], [0, 'built out/gw1/: 18 files, 2 tenants\n']);
    const dry = inside('s2sgw apply --bundle out/gw1 --dry-run', { CONTOSO_NY_PSK: PSK, WOODGROVE_NY_PSK: PSK, WOODGROVE_SFO_PSK: PSK });
    assert.is(dry.code, 0, dry.out + dry.err);
    assert.match(dry.out, /^bundle gw1 [0-9a-f]{12}: verified, secrets resolved$/m);
    assert.match(dry.out, /^ {4}nft -c -f \/root\/cfg\/out\/gw1\/nftables\/s2sgw\.nft$/m);
    assert.match(dry.out, /^would switch \(none\) -> [0-9a-f]{12}: 2 added/m);
    assert.ok(!fs.existsSync(path.join(root, 'var', 'lib', 's2sgw', 'current')), 'a dry run changes nothing');
    // The confirm timer runs from the executable too (apply --confirm starts `s2sgw confirm-timer ROOT`): nothing pending, exit 0.
    const timer = inside('s2sgw confirm-timer /');
    assert.equal([timer.code, timer.out + timer.err], [0, '']);
    // init writes the workflow embedded in the executable: examples/github/s2sgw.yml.
    const init = inside('s2sgw init /root/fresh && cat /root/fresh/.github/workflows/s2sgw.yml');
    assert.equal([init.code, init.out.slice(-fs.readFileSync(path.join(ROOT, 'examples', 'github', 's2sgw.yml'), 'utf8').length)], [0, fs.readFileSync(path.join(ROOT, 'examples', 'github', 's2sgw.yml'), 'utf8')]);
    // A bad config still gives diagnostics, not a stack: the embedded rules and schemas run.
    const bad = inside("sed -i 's/^tenant: contoso$/tenant: Contoso!/' tenants/contoso.yaml && s2sgw validate --format json");
    assert.is(bad.code, 1, bad.out + bad.err);
    assert.match(bad.out, /"code": "schema\/pattern",[^}]*"file": "tenants\/contoso.yaml",\s*"line": 3,\s*"col": 9/);
    // The man page and completion are there and readable.
    assert.is(inside('zcat /usr/share/man/man1/s2sgw.1.gz | grep -c "^.B apply$"').out.trim(), '1');
    assert.is(inside('bash -n /usr/share/bash-completion/completions/s2sgw').code, 0);
  } finally {
    run('umount', ['--lazy', root]);
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test.run();
