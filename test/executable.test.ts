// The single executable (scripts/bundle.js, what the Debian package ships) built from this compiled tree, and what it
// runs besides the CLI: `s2sgw ha-listen`, the notify listener keepalived starts (docs/ha.md), against a real charon in a
// network namespace: FAULT terminates the tenant's IKE_SA and blackholes its site, MASTER removes the blackhole.
// (test/package.test.ts builds the whole package and runs the CLI in a clean Debian root; this one is quicker.)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../src/model/load';
import { validate } from '../src/validate';
import { allocate, emptyLock } from '../src/model/lock';
import { tenantsOn } from '../src/model/model';
import { text } from '../src/targets/target';
import { render } from '../src/targets/keepalived';
import { run, which, withNetns } from '../src/util/exec';
import { FIXTURES, ROOT } from './helpers';
import { withCharon } from './charon';

const DIST = path.resolve(__dirname, '..');
const out = fs.mkdtempSync('/tmp/s2sgw-exe-');
process.on('exit', () => fs.rmSync(out, { recursive: true, force: true }));
let exe = '';

const waitFor = async (ok: () => Promise<boolean> | boolean, ms: number): Promise<boolean> => {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await ok()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return ok();
};

test.before(() => {
  // The tree these tests were compiled into (dist, or a dist-NAME of the developer's).
  const b = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'bundle.js'), out], { cwd: ROOT, env: { ...process.env, S2SGW_DIST: DIST }, encoding: 'utf8' });
  assert.is(b.status, 0, b.stderr + b.stdout);
  exe = path.join(out, 's2sgw');
});

test('the executable runs the CLI and `ha-listen` (no FIFO: exit 2, says why)', () => {
  const v = spawnSync(exe, ['--version'], { encoding: 'utf8' });
  assert.is(v.status, 0, v.stderr);
  const l = spawnSync(exe, ['ha-listen'], { encoding: 'utf8' });
  assert.is(l.status, 2);
  assert.match(l.stderr, /s2sgw ha-listen: no FIFO given/);
});

test('`s2sgw ha-listen` (the executable) against a real charon: FAULT terminates and blackholes the site, MASTER removes the blackhole; SIGTERM removes its pid file', async () => {
  const v = validate(loadConfig(path.join(FIXTURES, 'build', 'ha-pair')));
  const { alloc } = allocate(v.model, emptyLock());
  const gw = v.model.gateways.find((g) => g.name === 'gw1')!;
  const kconf = text(render({ model: v.model, gateway: gw, tenants: tenantsOn(v.model, 'gw1'), alloc })[0]);
  const conn = path.join(FIXTURES, 'build', 'ha-pair', 'expected', 'gw1', 'swanctl', 'conf.d', 'contoso.conf');
  const dir = fs.mkdtempSync('/tmp/s2sgw-exl-');
  try {
    await withNetns(async (ns) => {
      for (const a of [['link', 'add', 'dummy0', 'type', 'dummy'], ['address', 'add', '203.0.113.10/24', 'dev', 'dummy0'], ['link', 'set', 'dummy0', 'up'], ['route', 'add', 'default', 'dev', 'dummy0']]) await run('ip', a, { netns: ns });
      await withCharon({ ns, dir }, async (charon) => {
        fs.writeFileSync(path.join(dir, 'swanctl.conf'), `include ${conn}\n`);
        assert.is((await charon.swanctl('--load-conns', '--file', path.join(dir, 'swanctl.conf'))).code, 0);
        // An IKE_SA to terminate (half-open: nobody answers on the dummy link).
        await charon.swanctl('--initiate', '--child', 'IfCe1', '--timeout', '1');
        const sas = async () => (await charon.swanctl('--list-sas', '--ike', 'IfCe1')).stdout;
        assert.match(await sas(), /^IfCe1: #\d+, CONNECTING,/m);
        const conf = path.join(dir, 'k.conf');
        fs.writeFileSync(conf, kconf);
        const fifo = path.join(dir, 'notify.fifo');
        assert.is(spawnSync('mkfifo', [fifo]).status, 0);
        const pid = path.join(dir, 'listener.pid');
        const logFile = path.join(dir, 'listen.log');
        const log = fs.openSync(logFile, 'w');
        // In the namespace, as keepalived would start it there (its `ip -batch` must touch only the namespace's routes).
        const child = spawn(which('ip')!, ['netns', 'exec', ns, exe, 'ha-listen', '--vici', `unix://${charon.sock}`, '--conf', conf, '--pid-file', pid, fifo], { stdio: ['ignore', log, log] });
        fs.closeSync(log);
        const exited = new Promise((r) => child.once('exit', r));
        const llog = () => fs.readFileSync(logFile, 'utf8');
        const blackholes = async () => (await run('ip', ['-4', 'route', 'show', 'type', 'blackhole'], { netns: ns })).stdout;
        try {
          assert.ok(await waitFor(() => /listening on /.test(llog()), 30_000), `not listening:\n${llog()}`);
          assert.ok(fs.existsSync(pid), 'no pid file');
          // keepalived's writes: a line per state change, the FIFO opened and closed by the writer.
          // (non-blocking: with no reader the open fails, ENXIO, rather than hanging the test)
          const say = (line: string) => {
            const fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
            fs.writeSync(fd, `${line}\n`);
            fs.closeSync(fd);
          };
          say('INSTANCE "contoso" FAULT 150');
          assert.ok(await waitFor(() => /contoso: FAULT: terminated IfCe1 \w+; blackholed the sites/.test(llog()), 20_000), `no FAULT:\n${llog()}`);
          assert.not.match(await sas(), /^IfCe1: #/m, 'the IKE_SA is still there');
          assert.ok(await waitFor(async () => /blackhole 131\.107\.0\.10\b/.test(await blackholes()), 10_000), `no blackhole:\n${llog()}`);
          say('INSTANCE "contoso" MASTER 150');
          assert.ok(await waitFor(async () => !/131\.107\.0\.10/.test(await blackholes()), 10_000), `the blackhole stayed:\n${llog()}`);
          // The listener removes the blackhole and then dials: wait for its line too (a loaded CI looked between the two).
          assert.ok(await waitFor(() => /contoso: MASTER: dialing IfCe1/.test(llog()), 10_000), `no dial:\n${llog()}`);
        } finally {
          // keepalived ends it so when it stops: it must exit (it hung in Node's exit while a thread waited in the FIFO's open).
          child.kill('SIGTERM');
          const late = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(late);
        }
        assert.is(child.signalCode, null, 'the listener did not exit on SIGTERM within 10 s (killed)');
        assert.is(child.exitCode, 0);
        assert.not.ok(fs.existsSync(pid), 'the pid file stayed');
      });
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
