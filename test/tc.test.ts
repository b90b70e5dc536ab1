// The tc target: golden files, per-tenant sections, and the real `tc -batch` run twice on stand-in devices.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../src/model/load';
import { validate } from '../src/validate';
import { allocate, Allocations, emptyLock } from '../src/model/lock';
import { tenantsOn } from '../src/model/model';
import { RenderedFile, text, TargetInput } from '../src/targets/target';
import { target, render } from '../src/targets/tc';
import { FILE, kernelLacks, parseTcFailures } from '../src/targets/tc/check';
import { burstBytes } from '../src/targets/tc/view';
import { run, which, withNetns, withTempDir } from '../src/util/exec';
import type { Diagnostic } from '../src/model/diagnostics';

const ROOT = path.resolve(__dirname, '..', '..');
const FIX = path.join(ROOT, 'test', 'fixtures', 'tc');
const UPDATE = process.env.UPDATE === '1';

function rendered(dir: string, prev: Allocations = emptyLock()): { file: RenderedFile; input: TargetInput } {
  const v = validate(loadConfig(dir));
  assert.equal(v.diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: ${d.code}: ${d.message}`), [], `${dir} should validate clean`);
  const { alloc } = allocate(v.model, prev);
  const gateway = v.model.gateways[0];
  const input = { model: v.model, gateway, tenants: tenantsOn(v.model, gateway.name), alloc };
  const files = render(input);
  assert.is(files.length, 1);
  assert.is(files[0].path, FILE);
  return { file: files[0], input };
}

async function check(file: RenderedFile, input: TargetInput): Promise<Diagnostic[]> {
  return withTempDir('tc', async (tmp) => {
    fs.mkdirSync(path.join(tmp, 'tc'));
    fs.writeFileSync(path.join(tmp, FILE), text(file));
    return target.check({ dir: tmp, files: [file], gateway: input.gateway, tenants: input.tenants });
  });
}

const CASES: Array<[string, string]> = [
  ['example', ROOT],
  ['rates', path.join(FIX, 'rates')],
];

for (const [name, dir] of CASES) {
  test(`golden tc file: ${name}`, () => {
    const out = text(rendered(dir).file);
    const expected = path.join(FIX, name, 'expected.tc');
    if (UPDATE) {
      fs.mkdirSync(path.dirname(expected), { recursive: true });
      fs.writeFileSync(expected, out);
    }
    assert.fixture(out, fs.readFileSync(expected, 'utf8'));
  });

  test(`real tc -batch runs the ${name} file twice without an error`, async () => {
    const { file, input } = rendered(dir);
    const diags = await check(file, input);
    assert.equal(diags.filter((d) => d.severity === 'error'), [], JSON.stringify(diags));
    // This build machine's kernel has no police action; if so the check must say it, not pass quietly.
    for (const d of diags) {
      assert.is(d.code, 'tc/kernel-unsupported');
      assert.match(d.message, /cannot load \d+ lines? of tc\/s2sgw.tc: .*the kernel lacks the module/);
    }
  });
}

test('rates: effective values, burst floors', () => {
  const out = text(rendered(path.join(FIX, 'rates')).file);
  assert.match(out, /dev IfDe1 root handle 1: tbf rate 2048kbit burst 16000 latency 50ms/, 'the gateway default');
  assert.match(out, /dev IfDe2 root handle 1: tbf rate 512kbit /, 'the connection override of tx');
  assert.match(out, /dev IfDe2 parent ffff: .* police rate 8192kbit burst 102400 /, 'rx from the gateway default');
  assert.not.match(out, /IfEi1|echo/, 'no lines for a tenant without connections');
  assert.is(burstBytes(1024, 10, 16000), 16000);
  assert.is(burstBytes(100000, 10, 16000), 125000);
  assert.is(burstBytes(5120, 100, 65536), 65536);
});

test('same input, same bytes; adding a tenant changes no other section', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-tc-'));
  try {
    for (const d of ['gateways', 'tenants']) fs.cpSync(path.join(FIX, 'rates', d), path.join(dir, d), { recursive: true });
    const before = rendered(dir);
    assert.is(text(before.file), text(rendered(dir).file));
    fs.writeFileSync(path.join(dir, 'tenants', 'alpha.yaml'), 'tenant: alpha\nroutingDomain: "{00000000-0000-0000-0000-0000000000a1}"\ngateways: [gw1]\nnetwork: { interface: IfXi1, vlan: 300, addresses: [10.9.0.1/24] }\nconnections:\n  - { interface: IfXe1, destination: 198.51.100.9, auth: { psk: env:ALPHA_PSK } }\n');
    const after = rendered(dir, before.input.alloc);
    const texts = (f: RenderedFile) => f.sections.map((s) => `${s.tenant ?? ''}\0${s.text}`);
    const a = texts(after.file);
    for (const s of texts(before.file)) assert.ok(a.includes(s), `section changed: ${s}`);
    assert.is(a.length, texts(before.file).length + 1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('tc -batch failures are split per line', () => {
  const f = parseTcFailures('Error: TC classifier not found.\nWe have an error talking to the kernel\nCommand failed /x/tc/s2sgw.tc:8\ntbf: unknown parameter "x"\nUsage: ...\nCommand failed /x/tc/s2sgw.tc:9\n', 1);
  assert.equal(f, [
    { line: 8, message: 'TC classifier not found.' },
    { line: 9, message: 'tbf: unknown parameter "x" Usage: ...' },
  ]);
  assert.ok(kernelLacks(f[0].message));
  assert.not.ok(kernelLacks(f[1].message));
});

test('a broken line is rejected by the real tc and reported at the connection', async () => {
  const { file, input } = rendered(path.join(FIX, 'rates'));
  const broken: RenderedFile = { ...file, sections: file.sections.map((s) => (s.text.includes('dev IfDe2 root') ? { ...s, text: s.text.replace('latency 50ms', 'latency 50ms bogus') } : s)) };
  const lineNo = text(broken).split('\n').findIndex((l) => l.includes('bogus')) + 1;
  const errors = (await check(broken, input)).filter((d) => d.severity === 'error');
  assert.is(errors.length, 1, JSON.stringify(errors));
  const d = errors[0];
  assert.is(d.code, 'tc/check');
  // tenants/delta.yaml line 13 is `- interface: IfDe2`.
  assert.equal([d.file, d.line, d.col], ['tenants/delta.yaml', 13, 16]);
  assert.match(d.message, new RegExp(`line ${lineNo}: .*unknown parameter "bogus"`));
  assert.equal([d.related[0].file, d.related[0].line], ['out/gw1/tc/s2sgw.tc', lineNo]);
});

test('a line that does not replace in place fails on the second run', async () => {
  const { file, input } = rendered(path.join(FIX, 'rates'));
  const once: RenderedFile = { ...file, sections: file.sections.map((s) => (s.text.includes('dev IfDe1 root') ? { ...s, text: s.text.replace('qdisc replace dev IfDe1 root', 'qdisc add dev IfDe1 root') } : s)) };
  const errors = (await check(once, input)).filter((d) => d.severity === 'error');
  assert.is(errors.length, 1, JSON.stringify(errors));
  assert.match(errors[0].message, /on the second run \(the line does not replace in place\)/);
  assert.equal([errors[0].file, errors[0].line], ['tenants/delta.yaml', 10]);
});

test('after two runs the devices carry the shaping (and the policing, where the kernel has it)', async () => {
  const { file, input } = rendered(ROOT);
  await withTempDir('tc', async (tmp) => {
    const f = path.join(tmp, 's2sgw.tc');
    fs.writeFileSync(f, text(file));
    await withNetns(async (ns) => {
      for (const dev of ['IfCe1', 'IfWe1', 'IfWe2']) {
        const r = spawnSync(which('ip') ?? 'ip', ['-n', ns, 'link', 'add', dev, 'type', 'ifb'], { encoding: 'utf8' });
        assert.is(r.status, 0, r.stderr);
      }
      for (let i = 0; i < 2; i++) {
        const r = await run('tc', ['-force', '-batch', f], { netns: ns });
        assert.is(r.missing, undefined, 'tc must be installed');
        for (const fail of parseTcFailures(r.stderr, r.code)) assert.ok(kernelLacks(fail.message), `run ${i + 1}: ${fail.line}: ${fail.message}`);
      }
      const qdiscs = (await run('tc', ['qdisc', 'show'], { netns: ns })).stdout;
      assert.match(qdiscs, /qdisc tbf 1: dev IfCe1 root .*rate 1024Kbit burst 16000b lat 50ms/);
      assert.match(qdiscs, /qdisc tbf 1: dev IfWe2 root .*rate 5120Kbit/);
      assert.match(qdiscs, /qdisc ingress ffff: dev IfWe1 parent ffff:fff1/);
      assert.is(qdiscs.match(/qdisc tbf/g)?.length, 3, 'one TBF per connection after two runs');
      const filters = (await run('tc', ['filter', 'show', 'dev', 'IfCe1', 'ingress'], { netns: ns })).stdout;
      // Either the police filter loaded (a kernel with act_police) or the check reports it (tested above).
      if (filters.includes('police')) assert.match(filters, /rate 1024Kbit burst 64Kb/);
    });
  });
});

test.run();
