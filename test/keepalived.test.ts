// The keepalived target: one VRRP instance per HA tenant and gateway, checked by the real `keepalived -t`, and run for
// real in a network namespace (it takes the virtual address, writes its state, and the drain file lowers its priority).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../src/model/load';
import { validate } from '../src/validate';
import { allocate, emptyLock } from '../src/model/lock';
import { tenantsOn } from '../src/model/model';
import { RenderedFile, text, TargetInput } from '../src/targets/target';
import { target, render, KEEPALIVED_CONF } from '../src/targets/keepalived';
import { keepalivedFindings } from '../src/targets/keepalived/check';
import { DAEMONS_SCRIPT, HA_STATE_DIR, LISTENER_SCRIPT, notifyCommand } from '../src/targets/keepalived/view';
import { writeListener } from '../src/apply/steps';
import { LISTENER_NICE } from '../src/apply/ha-listen';
import { Runner } from '../src/apply/runner';
import { run, which, withNetns, withTempDir } from '../src/util/exec';
import { FIXTURES, tempCopy } from './helpers';
import { startCharon } from './charon';

const DIR = path.join(FIXTURES, 'build', 'ha-pair');

function inputs(): Map<string, TargetInput> {
  const v = validate(loadConfig(DIR));
  assert.equal(v.diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: ${d.code}: ${d.message}`), []);
  const { alloc } = allocate(v.model, emptyLock());
  return new Map(v.model.gateways.map((g) => [g.name, { model: v.model, gateway: g, tenants: tenantsOn(v.model, g.name), alloc }]));
}

const check = (file: RenderedFile, input: TargetInput) => target.check({ dir: '/nonexistent', files: [file], gateway: input.gateway, tenants: input.tenants });

test('an instance per HA tenant, active (150) on the first gateway and standby (100) on the second; no single-gateway tenant', () => {
  const ins = inputs();
  for (const [gw, prio] of [['gw1', 150], ['gw2', 100]] as const) {
    const [f] = render(ins.get(gw)!);
    assert.is(f.path, KEEPALIVED_CONF);
    assert.equal(f.sections.map((s) => s.tenant ?? ''), ['', 'contoso', 'woodgrove']);
    const t = text(f);
    assert.is([...t.matchAll(/priority (\d+)/g)].map((m) => Number(m[1])).join(','), `${prio},${prio}`);
    assert.match(t, /virtual_ipaddress \{\n    192\.168\.0\.1\/29 dev IfCi1\n  \}/);
    assert.not.match(t, /fabrikam/);
  }
});

test('advert_int: 0.2 s by default; network.ha.advertInterval sets it in hundredths (the YAML, through validation); keepalived -t accepts it; out of range is a schema error', async () => {
  const ins = inputs();
  // ha-pair: contoso keeps the default, woodgrove writes 0.5.
  assert.is([...text(render(ins.get('gw1')!)[0]).matchAll(/\n  advert_int (\S+)\n/g)].map((m) => m[1]).join(','), '0.2,0.5');
  const cfg = tempCopy(DIR);
  const f = path.join(cfg, 'tenants', 'contoso.yaml');
  const yaml = fs.readFileSync(f, 'utf8');
  for (const [written, rendered] of [['0.5', '0.5'], ['0.123', '0.12'], ['1', '1']]) {
    fs.writeFileSync(f, yaml.replace('ha: { vrid: 40,', `ha: { vrid: 40, advertInterval: ${written},`));
    const v = validate(loadConfig(cfg));
    assert.equal(v.diagnostics, []);
    const i = { ...ins.get('gw2')!, model: v.model, tenants: tenantsOn(v.model, 'gw2') };
    const file = render(i)[0];
    const t = text(file);
    assert.is([...t.matchAll(/advert_int (\S+)/g)].map((m) => m[1]).join(','), `${rendered},0.5`, written);
    assert.equal(await check(file, i), [], written);
  }
  fs.writeFileSync(f, yaml.replace('ha: { vrid: 40,', 'ha: { vrid: 40, advertInterval: 0.01,'));
  const bad = validate(loadConfig(cfg)).diagnostics;
  assert.ok(bad.some((d) => d.file === 'tenants/contoso.yaml' && d.line === 10 && /advertInterval/.test(d.message)), JSON.stringify(bad));
});

test('a gateway without HA tenants gets no keepalived file', () => {
  const ins = inputs();
  const i = ins.get('gw1')!;
  assert.equal(render({ ...i, tenants: i.tenants.filter((t) => !t.network.ha) }), []);
});

test('real keepalived -t accepts both gateways\' files', async () => {
  for (const i of inputs().values()) assert.equal(await check(render(i)[0], i), [], i.gateway.name);
});

test('real keepalived -t rejects a bad line, reported at the tenant\'s network.ha', async () => {
  const i = inputs().get('gw1')!;
  const f = render(i)[0];
  const bad = { ...f, sections: f.sections.map((s) => (s.tenant === 'woodgrove' ? { ...s, text: s.text.replace('virtual_router_id 41', 'virtual_router_id 300') } : s)) };
  const d = await check(bad, i);
  assert.ok(d.length >= 1, 'no finding');
  assert.is(d[0].code, 'keepalived/check');
  assert.is(`${d[0].file}:${d[0].line}`, 'tenants/woodgrove.yaml:10');
  assert.match(d[0].message, /^keepalived\/keepalived\.conf:59: keepalived: number '300' outside range \[1, 255\]/);
});

test('keepalivedFindings ignores the missing-interface noise and maps lines to sections', () => {
  const f: RenderedFile = { path: KEEPALIVED_CONF, sections: [{ text: 'a\nb\n', origin: { file: 'g', line: 1, col: 1 } }, { tenant: 't', text: 'c\n', origin: { file: 't', line: 9, col: 3 } }] };
  const out = keepalivedFindings(f, "(x: Line 3) WARNING - interface IfX for vrrp_instance t doesn't exist\n(x: Line 3) Unknown keyword 'foo'\nNon-existent interface specified in configuration\n", { file: 'g', line: 1, col: 1 });
  assert.equal(out.map((d) => `${d.file}:${d.line} ${d.message}`), ["t:9 keepalived/keepalived.conf:3: keepalived: Unknown keyword 'foo'"]);
});

test('the health script, run as keepalived runs it: passes while charon (or charon-systemd) and zebra run in its PID namespace, fails when either is gone', async () => {
  await withTempDir('ka-health', async (dir) => {
    // Stand-in daemons: a process's name (/proc/PID/comm) is the name it was executed by, here a link to sleep.
    for (const n of ['charon-systemd', 'charon', 'zebra', 'zebra-x', 'xcharon']) fs.symlinkSync('/bin/sleep', path.join(dir, n));
    // A PID namespace of its own (with its /proc), so the host's own charon or zebra cannot make it pass.
    const health = async (names: string[]) => {
      const start = names.map((n) => `${path.join(dir, n)} 30 &`).join(' ');
      const r = await run('unshare', ['--pid', '--fork', '--mount-proc', '/bin/sh', '-c', `${start} sleep 0.3; ${DAEMONS_SCRIPT}`]);
      return r.code;
    };
    assert.is(await health(['charon-systemd', 'zebra']), 0, 'charon-systemd and zebra');
    assert.is(await health(['charon', 'zebra']), 0, 'charon and zebra');
    assert.is.not(await health(['charon-systemd']), 0, 'no zebra');
    assert.is.not(await health(['zebra']), 0, 'no charon');
    assert.is.not(await health(['xcharon', 'zebra-x']), 0, 'names that only contain them');
    assert.is.not(await health([]), 0, 'nothing');
  });
});

test('notify_fault blackholes the sites only while charon runs (with charon gone the kernel\'s SAs still carry what the sites send)', async () => {
  const i = inputs().get('gw1')!;
  const t = i.tenants.find((x) => x.name === 'contoso')!;
  await withTempDir('ka-fault', async (dir) => {
    fs.symlinkSync('/bin/sleep', path.join(dir, 'charon-systemd'));
    const cmd = notifyCommand(t, 'contoso', 'fault').replaceAll('/run/s2sgw/ha', path.join(dir, 'ha'));
    // Third: charon runs but so does the listener (its pid file names a live process, here the PID namespace's sh): the
    // command only writes the state and leaves the tunnels to the listener.
    for (const [charon, listener] of [[false, false], [true, false], [true, true]]) {
      await withNetns(async (ns) => {
        if (listener) fs.writeFileSync(path.join(dir, 'ha', 'listener.pid'), '1\n');
        const start = charon ? `${path.join(dir, 'charon-systemd')} 30 & sleep 0.3;` : '';
        const r = await run('ip', ['netns', 'exec', ns, 'unshare', '--pid', '--fork', '--mount-proc', '/bin/sh', '-c', `${start} ${cmd}`]);
        assert.is(r.code, 0, r.stderr);
        assert.is(fs.readFileSync(path.join(dir, 'ha', 'contoso.state'), 'utf8').trim(), 'FAULT');
        const routes = (await run('ip', ['-4', 'route', 'show', 'type', 'blackhole'], { netns: ns })).stdout;
        if (charon && !listener) assert.match(routes, /blackhole 131\.107\.0\.10\b/);
        else assert.not.match(routes, /131\.107\.0\.10/);
      });
    }
  });
});

test('notify_master and notify_backup, run against a real charon: a half-open IKE_SA (CONNECTING, its IKE_SA_INIT unanswered) is terminated before the dial, which starts a new one instead of queueing behind it', async () => {
  const i = inputs().get('gw1')!;
  const t = i.tenants.find((x) => x.name === 'contoso')!;
  const conn = path.join(FIXTURES, 'build', 'ha-pair', 'expected', 'gw1', 'swanctl', 'conf.d', 'contoso.conf');
  const dir = fs.mkdtempSync('/tmp/s2sgw-ka-'); // short: a unix socket path has 108 bytes
  try {
    for (const event of ['master', 'backup'] as const) {
      await withNetns(async (ns) => {
        // The gateway's address on a dummy link, the site behind it: what charon sends there goes nowhere, so the IKE_SA
        // it starts stays CONNECTING (retransmitting), as the lab's did into notify_fault's blackhole.
        await run('ip', ['link', 'add', 'dummy0', 'type', 'dummy'], { netns: ns });
        await run('ip', ['address', 'add', '203.0.113.10/24', 'dev', 'dummy0'], { netns: ns });
        await run('ip', ['link', 'set', 'dummy0', 'up'], { netns: ns });
        await run('ip', ['route', 'add', 'default', 'dev', 'dummy0'], { netns: ns });
        const charon = await startCharon({ ns, dir, name: event });
        const { env, swanctl } = charon;
        fs.writeFileSync(path.join(dir, 'swanctl.conf'), `include ${conn}\n`);
        try {
          const load = await swanctl('--load-conns', '--file', path.join(dir, 'swanctl.conf'));
          assert.is(load.code, 0, load.stdout + load.stderr);
          await swanctl('--initiate', '--child', 'IfCe1', '--timeout', '1');
          const before = (await swanctl('--list-sas', '--ike', 'IfCe1')).stdout;
          const half = /^IfCe1: #(\d+), CONNECTING,/m.exec(before);
          assert.ok(half, `no half-open IKE_SA:\n${before}`);
          // The notify command as keepalived runs it, with its state file in the test's folder and a short dial.
          const cmd = notifyCommand(t, 'contoso', event).replaceAll('/run/s2sgw/ha', path.join(dir, 'ha')).replace('--timeout 10', '--timeout 1');
          // Its exit status is the dial's (which fails here: nobody answers); keepalived ignores it.
          await run('/bin/sh', ['-c', cmd.replace(/^\/bin\/sh -c '(.*)'$/s, '$1')], { netns: ns, env, timeoutMs: 30_000 });
          assert.is(fs.readFileSync(path.join(dir, 'ha', 'contoso.state'), 'utf8').trim(), event.toUpperCase());
          const after = (await swanctl('--list-sas', '--ike', 'IfCe1')).stdout;
          assert.not.match(after, new RegExp(`^IfCe1: #${half![1]},`, 'm'), `the half-open IKE_SA #${half![1]} is still there:\n${after}`);
          assert.match(after, /^IfCe1: #\d+, CONNECTING,/m, `the dial started no new IKE_SA:\n${after}`);
        } finally {
          await charon.stop();
        }
      });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the notify listener, started by real keepalived from vrrp_notify_fifo_script, moves the tunnels of a real charon: MASTER ends the half-open IKE_SA and dials, FAULT terminates and blackholes, ready again removes the blackhole', async () => {
  const i = inputs().get('gw1')!;
  const conn = path.join(FIXTURES, 'build', 'ha-pair', 'expected', 'gw1', 'swanctl', 'conf.d', 'contoso.conf');
  const dir = fs.mkdtempSync('/tmp/s2sgw-kl-');
  try {
    await withNetns(async (ns) => {
      for (const a of [['link', 'add', 'dummy0', 'type', 'dummy'], ['address', 'add', '203.0.113.10/24', 'dev', 'dummy0'], ['link', 'set', 'dummy0', 'up'], ['route', 'add', 'default', 'dev', 'dummy0']]) await run('ip', a, { netns: ns });
      for (const [n, p] of [['IfCi1', 'p0'], ['IfWi1', 'p1']]) {
        await run('ip', ['link', 'add', n, 'type', 'veth', 'peer', 'name', p], { netns: ns });
        await run('ip', ['link', 'set', n, 'up'], { netns: ns });
        await run('ip', ['link', 'set', p, 'up'], { netns: ns });
        await run('ip', ['address', 'add', '192.168.0.2/29', 'dev', n], { netns: ns });
      }
      const charon = await startCharon({ ns, dir });
      const { sock, env, swanctl } = charon;
      fs.writeFileSync(path.join(dir, 'swanctl.conf'), `include ${conn}\n`);
      const sas = async () => (await swanctl('--list-sas', '--ike', 'IfCe1')).stdout;
      const routes = async () => (await run('ip', ['-4', 'route', 'show', 'type', 'blackhole'], { netns: ns })).stdout;
      const wait = async (ok: () => Promise<boolean> | boolean, ms: number) => {
        const until = Date.now() + ms;
        while (Date.now() < until && !(await ok())) await new Promise((r) => setTimeout(r, 100));
      };
      let ka: ReturnType<typeof spawn> | undefined;
      let log = '';
      const listenLog = path.join(dir, 'listen.log');
      const llog = () => (fs.existsSync(listenLog) ? fs.readFileSync(listenLog, 'utf8') : '');
      try {
        assert.is((await swanctl('--load-conns', '--file', path.join(dir, 'swanctl.conf'))).code, 0);
        // A half-open IKE_SA, as the trap policy started while the gateway was in FAULT.
        await swanctl('--initiate', '--child', 'IfCe1', '--timeout', '1');
        const half = /^IfCe1: #(\d+), CONNECTING,/m.exec(await sas());
        assert.ok(half, 'no half-open IKE_SA');
        // The rendered file with the test's paths; a health script the test turns on and off; the listener's script as
        // apply writes it (writeListener), here with the test's pid file.
        const ha = path.join(dir, 'ha');
        fs.mkdirSync(ha);
        const healthy = path.join(dir, 'healthy');
        fs.writeFileSync(healthy, '1');
        const kconf = path.join(dir, 'k.conf');
        const listen = path.join(dir, 'listen');
        fs.writeFileSync(
          kconf,
          text(render(i)[0])
            .replaceAll('/run/s2sgw/ha', ha)
            .replaceAll('/var/lib/s2sgw/ha/drain', path.join(dir, 'drain'))
            .replace('/var/lib/s2sgw/ha/listen', listen)
            .replace(DAEMONS_SCRIPT, `/bin/sh -c 'test -e ${healthy}'`),
        );
        const js = path.resolve(__dirname, '..', 'src', 'apply', 'ha-listen.js');
        fs.writeFileSync(listen, `#!/bin/sh\nexec ${process.execPath} ${js} --vici unix://${sock} --conf ${kconf} --pid-file ${path.join(ha, 'listener.pid')} "$@" 2>> ${listenLog}\n`, { mode: 0o755 });
        const kargs = ['ip', 'netns', 'exec', ns, 'keepalived', '-n', '-l', '-D', '--vrrp', '-f', kconf, '-p', path.join(dir, 'k.pid'), '-r', path.join(dir, 'v.pid')].join(' ');
        ka = spawn('unshare', ['--pid', '--fork', '--mount-proc', '/bin/sh', '-c', `exec ${kargs}`], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env });
        ka.stdout!.on('data', (b) => (log += b));
        ka.stderr!.on('data', (b) => (log += b));
        // MASTER: the listener (not the notify command) ended the half-open IKE_SA and dialed again.
        await wait(() => /contoso: MASTER: dialing IfCe1/.test(llog()), 30_000);
        assert.match(llog(), /contoso: MASTER: dialing IfCe1/, `listener log:\n${llog()}\nkeepalived:\n${log}`);
        assert.ok(fs.existsSync(path.join(ha, 'listener.pid')), 'no pid file');
        // Its VICI connections open from the start, and its priority above ordinary processes (keepalived runs it as root).
        assert.match(llog(), /\b2 VICI connection\(s\) open\b/, llog());
        // (its pid file holds its pid in keepalived's PID namespace: found here by its command line)
        const lpid = fs.readdirSync('/proc').find((p) => /^\d+$/.test(p) && (() => { try { const c = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8'); return c.includes('ha-listen') && c.includes(kconf); } catch { return false; } })());
        assert.ok(lpid, 'the listener process not found');
        const stat = fs.readFileSync(`/proc/${lpid}/stat`, 'utf8');
        assert.is(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]), LISTENER_NICE, `the listener's stat: ${stat}`);
        assert.is(fs.readFileSync(path.join(ha, 'contoso.state'), 'utf8').trim(), 'MASTER');
        await wait(async () => /^IfCe1: #\d+, CONNECTING,/m.test(await sas()) && !new RegExp(`^IfCe1: #${half![1]},`, 'm').test(await sas()), 15_000);
        const after = await sas();
        assert.not.match(after, new RegExp(`^IfCe1: #${half![1]},`, 'm'), `the half-open IKE_SA is still there:\n${after}`);
        assert.match(after, /^IfCe1: #\d+, CONNECTING,/m, `no new dial:\n${after}`);
        // FAULT: the IKE_SAs go, the site is blackholed (charon runs).
        fs.rmSync(healthy);
        // The listener may be quicker than the notify command that writes the state: wait for both.
        await wait(async () => /blackhole 131\.107\.0\.10\b/.test(await routes()) && fs.readFileSync(path.join(ha, 'contoso.state'), 'utf8').trim() === 'FAULT', 20_000);
        assert.match(await routes(), /blackhole 131\.107\.0\.10\b/, `listener log:\n${llog()}`);
        assert.is(fs.readFileSync(path.join(ha, 'contoso.state'), 'utf8').trim(), 'FAULT');
        assert.not.match(await sas(), /^IfCe1: #/m);
        // Ready again: the blackhole goes, the site is dialed.
        fs.writeFileSync(healthy, '1');
        // The listener removes the blackhole, then dials: wait for both.
        await wait(async () => !/131\.107\.0\.10/.test(await routes()) && /^IfCe1: #\d+, CONNECTING,/m.test(await sas()), 20_000);
        assert.not.match(await routes(), /131\.107\.0\.10/, `listener log:\n${llog()}`);
        assert.match(await sas(), /^IfCe1: #\d+, CONNECTING,/m);
      } finally {
        if (ka) {
          process.kill(-ka.pid!, 'SIGTERM');
          await new Promise((r) => ka!.once('exit', r));
        }
        await charon.stop();
      }
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('apply writes the listener script keepalived starts: this s2sgw\'s ha-listen.js with the VICI socket and the live keepalived.conf under --root, executable; the FIFO\'s folder exists', async () => {
  await withTempDir('ka-listen', async (root) => {
    writeListener(new Runner({ root, vici: 'unix:///run/x/charon.vici' }));
    const script = path.join(root, LISTENER_SCRIPT);
    assert.is(fs.statSync(script).mode & 0o777, 0o755);
    const t = fs.readFileSync(script, 'utf8');
    const js = path.resolve(__dirname, '..', 'src', 'apply', 'ha-listen.js');
    assert.ok(fs.existsSync(js), js);
    assert.match(t, `\necho $$ > '/run/s2sgw/ha/listener.pid' 2>/dev/null\n`);
    assert.match(t, `exec '${process.execPath}' '${js}' '--vici' 'unix:///run/x/charon.vici' '--conf' '${path.join(root, 'etc/keepalived/keepalived.conf')}' "$@" 2>> '${path.join(root, 'var/log/s2sgw/ha-listen.log')}'`);
    assert.ok(fs.statSync(path.join(root, HA_STATE_DIR)).isDirectory());
    // sh reads it (no syntax error).
    assert.is((await run('sh', ['-n', script])).code, 0);
  });
});

test('keepalived runs the rendered instance: takes the virtual address, writes MASTER, the drain file lowers its priority, FAULT blackholes the site until healthy again', async () => {
  const i = inputs().get('gw1')!;
  const conf = text(render(i)[0]);
  await withTempDir('ka-run', async (dir) => {
    // Private paths for the state and drain files, so the test touches nothing of the host's.
    const c = conf.replaceAll('/run/s2sgw/ha', path.join(dir, 'ha')).replaceAll('/var/lib/s2sgw/ha/drain', path.join(dir, 'drain'));
    // No charon or zebra in the namespace: stand the health script in with one that passes, then one that fails.
    const healthy = path.join(dir, 'healthy');
    fs.writeFileSync(healthy, '1');
    const c2 = c.replace(DAEMONS_SCRIPT, `/bin/sh -c 'test -e ${healthy}'`);
    fs.writeFileSync(path.join(dir, 'k.conf'), c2);
    await withNetns(async (ns) => {
      for (const [n, p] of [['IfCi1', 'p0'], ['IfWi1', 'p1']]) {
        await run('ip', ['link', 'add', n, 'type', 'veth', 'peer', 'name', p], { netns: ns });
        await run('ip', ['link', 'set', n, 'up'], { netns: ns });
        await run('ip', ['link', 'set', p, 'up'], { netns: ns });
        await run('ip', ['address', 'add', '192.168.0.2/29', 'dev', n], { netns: ns });
      }
      // In the foreground (-n), logging to the console (-l): the test reads its log and ends it. In a PID namespace of its
      // own with a stand-in charon (a link to sleep), which notify_fault looks for before it adds its blackholes.
      fs.symlinkSync('/bin/sleep', path.join(dir, 'charon-systemd'));
      const ka = ['ip', 'netns', 'exec', ns, 'keepalived', '-n', '-l', '-D', '--vrrp', '-f', path.join(dir, 'k.conf'), '-p', path.join(dir, 'k.pid'), '-r', path.join(dir, 'v.pid')].join(' ');
      const child = spawn('unshare', ['--pid', '--fork', '--mount-proc', '/bin/sh', '-c', `${path.join(dir, 'charon-systemd')} 600 & exec ${ka}`], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let log = '';
      child.stdout.on('data', (b) => (log += b));
      child.stderr.on('data', (b) => (log += b));
      const wait = async (ok: () => boolean, ms: number) => {
        const until = Date.now() + ms;
        while (Date.now() < until && !ok()) await new Promise((r) => setTimeout(r, 100));
      };
      try {
        const state = path.join(dir, 'ha', 'contoso.state');
        await wait(() => fs.existsSync(state) && fs.readFileSync(state, 'utf8').trim() === 'MASTER', 20_000);
        assert.is(fs.existsSync(state) ? fs.readFileSync(state, 'utf8').trim() : `no state file; log:\n${log}`, 'MASTER');
        const addrs = (await run('ip', ['-4', '-o', 'address', 'show', 'dev', 'IfCi1'], { netns: ns })).stdout;
        assert.match(addrs, /192\.168\.0\.1\/29/);
        fs.writeFileSync(path.join(dir, 'drain'), '1\n');
        await wait(() => /priority from 150 to 90/.test(log), 15_000);
        assert.match(log, /\(contoso\) Changing effective priority from 150 to 90/);
        // charon or FRR gone: two failed checks put the instance in FAULT and it gives the address up.
        fs.rmSync(healthy);
        await wait(() => fs.readFileSync(state, 'utf8').trim() === 'FAULT', 20_000);
        assert.is(fs.readFileSync(state, 'utf8').trim(), 'FAULT');
        assert.not.match((await run('ip', ['-4', '-o', 'address', 'show', 'dev', 'IfCi1'], { netns: ns })).stdout, /192\.168\.0\.1\/29/);
        // FAULT keeps the site's tunnel from coming back: a blackhole host route to the site (New York, 131.107.0.10).
        const routes = () => run('ip', ['-4', 'route', 'show', 'type', 'blackhole'], { netns: ns }).then((r) => r.stdout);
        for (let i = 0; i < 30 && !/131\.107\.0\.10/.test(await routes()); i++) await new Promise((r) => setTimeout(r, 100));
        assert.match(await routes(), /blackhole 131\.107\.0\.10\b/);
        // Healthy again: BACKUP (drained) or MASTER, and the blackhole goes.
        fs.writeFileSync(healthy, '1');
        await wait(() => fs.readFileSync(state, 'utf8').trim() !== 'FAULT', 20_000);
        assert.ok(['MASTER', 'BACKUP'].includes(fs.readFileSync(state, 'utf8').trim()), 'left FAULT');
        for (let i = 0; i < 20 && /131\.107\.0\.10/.test(await routes()); i++) await new Promise((r) => setTimeout(r, 100));
        assert.not.match(await routes(), /131\.107\.0\.10/);
      } finally {
        // unshare ignores SIGTERM while it waits: the signal goes to its process group, keepalived included.
        process.kill(-child.pid!, 'SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    });
  });
});

test.run();
