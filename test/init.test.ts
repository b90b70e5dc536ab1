// `s2sgw init` and `s2sgw tenant new`: a new repository validates and builds as it is; a new tenant gets ids no one has.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../src/model/load';
import { validate } from '../src/validate';
import { ROOT, cli, tempCopy } from './helpers';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-init-'));

test('init writes a repository that validates and builds out of the box', async () => {
  const parent = tmp();
  try {
    const r = await cli(['init', 'repo'], parent);
    assert.is(r.code, 0, r.err);
    const dir = path.join(parent, 'repo');
    assert.is(fs.readFileSync(path.join(dir, '.github/workflows/s2sgw.yml'), 'utf8'), fs.readFileSync(path.join(ROOT, 'examples/github/s2sgw.yml'), 'utf8'), 'the workflow is examples/github/s2sgw.yml');
    for (const s of ['gateway', 'tenant']) assert.equal(JSON.parse(fs.readFileSync(path.join(dir, `schema/${s}.schema.json`), 'utf8')), JSON.parse(fs.readFileSync(path.join(ROOT, `schema/${s}.schema.json`), 'utf8')));
    // The modelines point at the schemas it wrote.
    assert.match(fs.readFileSync(path.join(dir, 'tenants/example.yaml'), 'utf8'), /^# yaml-language-server: \$schema=\.\.\/schema\/tenant\.schema\.json\n/);
    assert.match(fs.readFileSync(path.join(dir, 'gateways/gw1.yaml'), 'utf8'), /^# yaml-language-server: \$schema=\.\.\/schema\/gateway\.schema\.json\n/);
    const v = await cli(['validate', '--config', dir]);
    assert.is(v.code, 0, v.err);
    assert.is(v.err, '1 tenant on 1 gateway: valid\n');
    const b = await cli(['build', '--config', dir, '--check']);
    assert.is(b.code, 0, b.err);
    assert.ok(fs.existsSync(path.join(dir, 'out/gw1/manifest.json')));
    // A second init refuses (exit 2); --force adds only what is missing.
    const again = await cli(['init', 'repo'], parent);
    assert.is(again.code, 2);
    assert.match(again.err, /already holds a config repository/);
    fs.rmSync(path.join(dir, '.gitignore'));
    const forced = await cli(['init', 'repo', '--force', '--format', 'json'], parent);
    assert.is(forced.code, 0, forced.err);
    assert.equal(JSON.parse(forced.out).written, ['.gitignore']);
  } finally {
    fs.rmSync(parent, { recursive: true, force: true });
  }
});

test('tenant new: a free VLAN, routing domain, interfaces and /29; the result validates, builds and conflicts with no one', async () => {
  const dir = tempCopy(ROOT);
  try {
    const a = await cli(['tenant', 'new', 'acme', '--config', dir, '--format', 'json']);
    assert.is(a.code, 0, a.err);
    const s = JSON.parse(a.out);
    assert.equal([s.version, s.file, s.gateway, s.vlan, s.networkInterface, s.address, s.table, s.zone], [1, 'tenants/acme.yaml', 'gw1', 4002, 'IfAi1', '192.168.0.9/29', 1003, 3]);
    const b = await cli(['tenant', 'new', 'contoso-two', '--config', dir]);
    assert.is(b.code, 0, b.err);
    const v = validate(loadConfig(dir));
    assert.equal(v.diagnostics.map((d) => d.code), []);
    const [acme, two] = ['acme', 'contoso-two'].map((n) => v.model.tenants.find((t) => t.name === n)!);
    assert.is(two.network.vlan, 4003);
    assert.is(two.network.interface, 'IfCi2', 'IfCi1 is contoso\'s');
    assert.is.not(acme.routingDomain, two.routingDomain);
    assert.equal(new Set(v.model.tenants.map((t) => t.network.vlan)).size, v.model.tenants.length);
    assert.equal(new Set(v.model.tenants.map((t) => t.routingDomain)).size, v.model.tenants.length);
    const built = await cli(['build', '--config', dir]);
    assert.is(built.code, 0, built.err);
    // Refusals: an existing tenant, a bad name, an unknown action or gateway.
    for (const args of [['new', 'acme'], ['new', 'Bad_Name'], ['old', 'x'], ['new', 'zed', '--gateway', 'gw9'], ['new']]) {
      const r = await cli(['tenant', ...args, '--config', dir]);
      assert.is(r.code, 2, args.join(' '));
      assert.not.match(r.err, /\n\s+at /);
    }
    const dry = await cli(['tenant', 'new', 'zed', '--config', dir, '--dry-run']);
    assert.is(dry.code, 0);
    assert.match(dry.out, /^# yaml-language-server/);
    assert.not.ok(fs.existsSync(path.join(dir, 'tenants/zed.yaml')));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
