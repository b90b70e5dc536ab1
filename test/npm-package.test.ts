// The npm package (the CI side, docs/packaging.md): `npm pack` holds only the runtime, and a fresh config
// repository that installs the packed tarball as a devDependency runs `npx s2sgw validate` and `plan` with it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync, SpawnSyncOptions } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from './helpers';

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): { code: number; out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error) throw r.error;
  return { code: r.status ?? 1, out: String(r.stdout), err: String(r.stderr) };
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-npm-'));
let tarball = '';

test('npm pack lists only the runtime: bin, compiled dist/src, schemas, templates, the workflow init writes, README, LICENSE', () => {
  // dist/ is fresh (npm test compiled it); a release runs `prepare` here, which compiles it again.
  const r = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT });
  assert.is(r.code, 0, r.err);
  const [info] = JSON.parse(r.out) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(work, info.filename);
  const files = info.files.map((f) => f.path);
  const runtime = (f: string) =>
    ['package.json', 'README.md', 'LICENSE', 'bin/s2sgw.js', 'examples/github/s2sgw.yml'].includes(f) || /^dist\/src\/.+\.js$/.test(f) || /^(dist\/)?schema\/[a-z]+\.schema\.json$/.test(f) || /^src\/.+\.hbs$/.test(f);
  assert.equal(files.filter((f) => !runtime(f)), []);
  for (const f of ['bin/s2sgw.js', 'dist/src/cli.js', 'dist/src/validate/rules/index.js', 'schema/tenant.schema.json', 'src/targets/frr/head.hbs', 'examples/github/s2sgw.yml', 'LICENSE', 'README.md']) assert.ok(files.includes(f), f);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { private?: boolean };
  assert.is(pkg.private, undefined, 'publishable');
});

test('a fresh config repository installs the tarball and runs npx s2sgw validate and plan', () => {
  const repo = path.join(work, 'config');
  const base = path.join(work, 'base-out');
  fs.mkdirSync(repo);
  for (const f of ['gateways', 'tenants', 'allocations.lock.yaml']) fs.cpSync(path.join(ROOT, f), path.join(repo, f), { recursive: true });
  fs.writeFileSync(path.join(repo, 'package.json'), JSON.stringify({ name: 'vpn-config', private: true }, null, 2) + '\n');
  // The dependencies come from the npm cache that installing this checkout filled.
  const inst = run('npm', ['install', '--save-dev', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: repo });
  assert.is(inst.code, 0, inst.out + inst.err);
  const installed = path.join(repo, 'node_modules', 's2sgw');
  assert.ok(fs.existsSync(path.join(installed, 'dist', 'src', 'cli.js')));
  assert.ok(!fs.existsSync(path.join(installed, 'test')) && !fs.existsSync(path.join(installed, 'tsconfig.json')), 'no tests, no sources');
  assert.match(JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')).devDependencies.s2sgw, /^file:/);

  const env = { ...process.env, NO_COLOR: '1' };
  const validate = run('npx', ['--no-install', 's2sgw', 'validate'], { cwd: repo, env });
  assert.equal([validate.code, validate.out + validate.err], [0, '2 tenants on 1 gateway: valid\n']);
  // The bundles of main, as CI keeps them; then a plan against them.
  const build = run('npx', ['--no-install', 's2sgw', 'build', '--locked', '--out', base], { cwd: repo, env });
  assert.is(build.code, 0, build.out + build.err);
  const same = run('npx', ['--no-install', 's2sgw', 'plan', '--against', base], { cwd: repo, env });
  assert.is(same.code, 0, same.out + same.err);
  // A changed rate: plan renders every target from the installed templates and exits 3.
  const contoso = path.join(repo, 'tenants', 'contoso.yaml');
  fs.writeFileSync(contoso, fs.readFileSync(contoso, 'utf8').replace('txKbps: 1024', 'txKbps: 2048'));
  const plan = run('npx', ['--no-install', 's2sgw', 'plan', '--against', base], { cwd: repo, env });
  assert.is(plan.code, 3, plan.out + plan.err);
  assert.match(plan.out, /2048kbit/);
  assert.match(plan.out, /contoso/);
  assert.not.match(plan.out, /woodgrove: /);
  // init from the package writes the workflow the package carries: examples/github/s2sgw.yml, the one copy.
  const init = run('npx', ['--no-install', 's2sgw', 'init', 'fresh'], { cwd: repo, env });
  assert.is(init.code, 0, init.out + init.err);
  assert.is(fs.readFileSync(path.join(repo, 'fresh', '.github', 'workflows', 's2sgw.yml'), 'utf8'), fs.readFileSync(path.join(ROOT, 'examples', 'github', 's2sgw.yml'), 'utf8'));
});

test.after(() => fs.rmSync(work, { recursive: true, force: true }));

test.run();
