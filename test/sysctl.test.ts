// The sysctl target: golden file, every setting explained, `sysctl -p` in a throwaway namespace, the module-only keys reported rather than passed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '../src/model/load';
import { validate } from '../src/validate';
import { allocate, emptyLock } from '../src/model/lock';
import { tenantsOn } from '../src/model/model';
import { CheckInput, RenderedFile, TargetInput, text } from '../src/targets/target';
import { render, target, SYSCTL_CONF, MODULES_CONF } from '../src/targets/sysctl';
import { parseSysctl } from '../src/targets/sysctl/check';
import { interfaceKey } from '../src/targets/sysctl/view';

const ROOT = path.resolve(__dirname, '..', '..');
const VSID = path.join(ROOT, 'test', 'fixtures', 'links', 'vsid');
const GOLDEN = path.join(ROOT, 'test', 'fixtures', 'netplan', 'example', 'expected');
const UPDATE = process.env.UPDATE === '1';

function build(dir: string): TargetInput {
  const v = validate(loadConfig(dir));
  assert.ok(v.ok, JSON.stringify(v.diagnostics.filter((d) => d.severity === 'error'), null, 1));
  const { alloc } = allocate(v.model, emptyLock());
  const gateway = v.model.gateways[0];
  return { model: v.model, gateway, tenants: tenantsOn(v.model, gateway.name), alloc };
}

const checkInput = (input: TargetInput, files: RenderedFile[]): CheckInput => ({ dir: '', files, gateway: input.gateway, tenants: input.tenants });

async function withEnv<T>(env: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const old = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  else process.env[k] = v;
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(old)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

test('golden: the bundled example (sysctl and modules), gateway-level only', () => {
  const files = render(build(ROOT));
  for (const p of [SYSCTL_CONF, MODULES_CONF]) {
    const f = files.find((x) => x.path === p)!;
    assert.ok(f.sections.every((s) => s.tenant === undefined), 'no tenant sections');
    const want = path.join(GOLDEN, p);
    if (UPDATE) {
      fs.mkdirSync(path.dirname(want), { recursive: true });
      fs.writeFileSync(want, text(f));
    }
    assert.fixture(text(f), fs.readFileSync(want, 'utf8'), p);
  }
});

test('forwarding is on for both families and every setting sits under a comment saying why', () => {
  const body = text(render(build(ROOT)).find((f) => f.path === SYSCTL_CONF)!);
  const settings = parseSysctl(body);
  const keys = Object.fromEntries(settings.map((s) => [s.key, s.value]));
  assert.is(keys['net.ipv4.ip_forward'], '1');
  assert.is(keys['net.ipv6.conf.all.forwarding'], '1');
  assert.is(keys['net.ipv4.conf.all.rp_filter'], '2');
  assert.is(keys['net.ipv4.tcp_l3mdev_accept'], '0');
  assert.ok(!settings.some((s) => s.key.includes('disable_policy')), 'policy checks stay on');
  // Each group of settings (separated by blank lines) opens with a comment.
  for (const group of body.split('\n\n').slice(1)) assert.match(group, /^# /, group);
});

test('a dotted interface name gets the slash form of the key', () => {
  assert.is(interfaceKey('net.ipv6.conf', 'eth0', 'accept_ra'), 'net.ipv6.conf.eth0.accept_ra');
  assert.is(interfaceKey('net.ipv6.conf', 'eth0.100', 'accept_ra'), 'net/ipv6/conf/eth0.100/accept_ra');
});

test('check: sysctl -p accepts every key this kernel has, in a namespace, leaving the host alone; net.vrf is reported', async () => {
  const hostForward = fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
  const input = build(VSID);
  const files = render(input);
  const d = await withEnv({ CI: undefined, S2SGW_REQUIRE_KERNEL_LINKS: undefined }, () => target.check(checkInput(input, files)));
  assert.is(fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'), hostForward, "the host's forwarding is untouched");
  assert.ok(!d.some((x) => x.code === 'sysctl/check' || x.code === 'sysctl/tool-missing'), JSON.stringify(d, null, 1));
  const vrfLoaded = fs.existsSync('/proc/sys/net/vrf/strict_mode');
  const gap = d.find((x) => x.code === 'sysctl/kernel-unsupported' && x.message.includes(SYSCTL_CONF));
  if (vrfLoaded) assert.is(gap, undefined);
  else {
    assert.ok(gap, JSON.stringify(d));
    assert.is(gap!.severity, 'warning');
    assert.match(gap!.message, /net\.vrf\.strict_mode \(line \d+, module vrf\) not checked/);
    const strict = await withEnv({ CI: 'true', S2SGW_REQUIRE_KERNEL_LINKS: '1' }, () => target.check(checkInput(input, files)));
    assert.ok(strict.filter((x) => x.code === 'sysctl/kernel-unsupported').every((x) => x.severity === 'error'));
  }
});

test('check: an unknown key and a value the kernel refuses are errors', async () => {
  const input = build(VSID);
  const files = render(input);
  const f = files.find((x) => x.path === SYSCTL_CONF)!;
  f.sections[0].text += 'net.ipv4.no_such_setting = 1\nnet.ipv4.conf.all.rp_filter = 7\n';
  const d = await target.check(checkInput(input, files));
  const errs = d.filter((x) => x.code === 'sysctl/check');
  assert.ok(errs.some((x) => /no_such_setting/.test(x.message)), JSON.stringify(d, null, 1));
  assert.ok(errs.some((x) => /rp_filter/.test(x.message)), JSON.stringify(d, null, 1));
});

test.run();
