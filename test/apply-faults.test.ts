// Faults at every apply step: the tool fails, the process is SIGKILLed (a real child process), two applies race. The host ends on the old release or the new one, with a clean journal.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES } from './helpers';
import { FIXTURE_ENV, fingerprint, fixtureBundle, openSandbox, prepareFixtureHost, Sandbox } from '../src/apply/sandbox';
import { Runner, parseFaults } from '../src/apply/runner';
import { apply, describeError, recover, recoverHost } from '../src/apply/engine';

const DIST = path.resolve(__dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-apply-faults-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const b1 = path.join(tmp, 'v1');
const b2 = path.join(tmp, 'v2');
fixtureBundle(path.join(FIXTURES, 'apply', 'v1'), b1);
fixtureBundle(path.join(FIXTURES, 'apply', 'v2'), b2);
const SKIP = ['links', 'vrf'];

/** Runs apply in a child node process (so it can really be killed), with S2SGW_FAULTS set. */
const CHILD = path.join(tmp, 'child.js');
fs.writeFileSync(
  CHILD,
  `const {Runner,parseFaults}=require(${JSON.stringify(path.join(DIST, 'src/apply/runner'))});
const {apply,describeError}=require(${JSON.stringify(path.join(DIST, 'src/apply/engine'))});
const [opts,bundle,wait,full]=process.argv.slice(2);
const r=new Runner({...JSON.parse(opts),faults:parseFaults(process.env.S2SGW_FAULTS)});
apply(r,{bundle,env:process.env,full:full==='1',lockWaitMs:Number(wait),say:(s)=>process.stderr.write(s+'\\n')}).then((o)=>{if(o.error)process.stderr.write(describeError(o.error)+'\\n');process.exit(o.code)});
`,
);

function child(sb: Sandbox, bundle: string, faults: string, opts: { wait?: number; full?: boolean } = {}) {
  const p = spawn(process.execPath, [CHILD, JSON.stringify(sb.runner({ skip: SKIP })), bundle, String(opts.wait ?? 60000), opts.full ? '1' : '0'], {
    env: { ...process.env, ...FIXTURE_ENV, S2SGW_FAULTS: faults },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }>((r) => p.on('close', (code, signal) => r({ code, signal, err })));
  return { pid: p.pid!, done };
}

async function applyHere(sb: Sandbox, bundle: string, extra: { faults?: string; full?: boolean; wait?: number } = {}) {
  const runner = new Runner({ ...sb.runner({ skip: SKIP }), faults: parseFaults(extra.faults) });
  const said: string[] = [];
  const out = await apply(runner, { bundle, env: FIXTURE_ENV, full: extra.full, lockWaitMs: extra.wait, say: (s) => said.push(s) });
  return { out, runner, said: said.join('\n') };
}

const journal = (sb: Sandbox) => path.join(sb.root, 'var/lib/s2sgw/journal.json');

let sb: Sandbox;
let v1: Record<string, string>;
let v2: Record<string, string>;

test.before(async () => {
  sb = await openSandbox({ frr: true });
  prepareFixtureHost(sb);
  // The two end states every fault must land on (v1 first: the veth standing in for IfWe2 keeps its qdisc, as in every later state).
  assert.is((await applyHere(sb, b1)).out.code, 0);
  assert.is((await applyHere(sb, b2)).out.code, 0);
  v2 = fingerprint(sb);
  const back = await applyHere(sb, b1);
  assert.is(back.out.code, 0, back.out.error && describeError(back.out.error));
  v1 = fingerprint(sb);
  assert.is.not(v1.charon, v2.charon);
});
test.after(async () => {
  await sb?.close();
});

const STEPS = ['switch', 'reload-sysctl', 'reload-frr', 'reload-strongswan', 'reload-nftables', 'reload-tc', 'health', 'commit'];

for (const step of STEPS) {
  test(`the tool fails at ${step}: apply exits 1 naming the step and the host is back on the old release`, async () => {
    const r = await applyHere(sb, b2, { faults: `fail@${step}`, full: true });
    assert.is(r.out.code, step === 'commit' ? 0 : 1, r.said);
    if (step === 'commit') {
      // After the commit point the new release stands: a failure there is not a rollback.
      assert.equal(fingerprint(sb), v2);
      assert.is((await applyHere(sb, b1)).out.code, 0);
    } else {
      assert.is(r.out.error!.step, step);
      assert.match(describeError(r.out.error!), new RegExp(`step ${step}: `));
      assert.equal(fingerprint(sb), v1);
    }
    assert.not.ok(fs.existsSync(journal(sb)), 'the journal is clean');
  });
}

for (const step of ['stage', ...STEPS]) {
  test(`SIGKILL at ${step}: the next apply finishes the rollback (or the committed switch) from the journal`, async () => {
    const c = child(sb, b2, `kill@${step}`, { full: true });
    const res = await c.done;
    assert.is(res.signal, 'SIGKILL', res.err);
    if (step !== 'stage') assert.ok(fs.existsSync(journal(sb)), 'the killed apply left its journal');
    const said: string[] = [];
    await recover(new Runner(sb.runner({ skip: SKIP })), (s) => said.push(s));
    assert.not.ok(fs.existsSync(journal(sb)), 'the journal is clean');
    const fp = fingerprint(sb);
    if (step === 'commit') {
      assert.equal(fp, v2, said.join('\n'));
      assert.is((await applyHere(sb, b1)).out.code, 0);
    } else assert.equal(fp, v1, said.join('\n'));
  });
}

/** The files part of a fingerprint: what a files-only recovery (at boot, before the daemons start) puts back. */
const files = (f: Record<string, string>) => Object.fromEntries(Object.entries(f).filter(([k]) => k === 'current' || k === 'state' || k.startsWith('etc/')));

for (const step of ['switch', 'reload-frr', 'reload-nftables', 'health', 'commit']) {
  test(`SIGKILL at ${step}, then \`s2sgw recover\` at boot (files only): the live files, links and state are one release's; a second recover does nothing`, async () => {
    const c = child(sb, b2, `kill@${step}`, { full: true });
    const res = await c.done;
    assert.is(res.signal, 'SIGKILL', res.err);
    const said: string[] = [];
    const out = await recoverHost(new Runner(sb.runner({ skip: SKIP })), { say: (s) => said.push(s) });
    assert.is(out.code, 0, said.join('\n'));
    assert.not.ok(fs.existsSync(journal(sb)), 'the journal is clean');
    assert.equal(files(fingerprint(sb)), files(step === 'commit' ? v2 : v1), said.join('\n'));
    // The live files root reads are links into `current`: one rename switched them.
    for (const f of ['etc/sysctl.d/90-s2sgw.conf']) assert.match(fs.readlinkSync(path.join(sb.root, f)), /^\.\.\/\.\.\/var\/lib\/s2sgw\/current\//);
    const again: string[] = [];
    assert.is((await recoverHost(new Runner(sb.runner({ skip: SKIP })), { say: (s) => again.push(s) })).code, 0);
    assert.equal(again, ['nothing to recover']);
    // The daemons, started after recover at boot, would read these files; here they still run: a full apply converges them.
    assert.is((await applyHere(sb, b1, { full: true })).out.code, 0);
    assert.equal(fingerprint(sb), v1);
  });
}

test('two concurrent applies: the second gives up naming the holder, or waits and runs after it, never interleaved', async () => {
  const c = child(sb, b2, 'pause@reload-frr:3000');
  // Let the child take the lock.
  const t0 = Date.now();
  while (!fs.existsSync(journal(sb)) && Date.now() - t0 < 20000) await new Promise((r) => setTimeout(r, 20));
  const impatient = await applyHere(sb, b1, { wait: 300 });
  assert.is(impatient.out.code, 1);
  assert.is(impatient.out.error!.step, 'lock');
  assert.match(impatient.out.error!.message, new RegExp(`pid ${c.pid} \\(apply --bundle `));
  assert.equal(impatient.runner.log, [], 'the refused apply ran nothing');
  const patient = await applyHere(sb, b1, { wait: 60000 });
  const res = await c.done;
  assert.is(res.code, 0, res.err);
  assert.is(patient.out.code, 0, patient.out.error && describeError(patient.out.error));
  assert.equal(fingerprint(sb), v1);
  // The command log: every command of the child comes before every command of the patient apply.
  const log = fs.readFileSync(path.join(sb.root, 'var/log/s2sgw/commands.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { pid: number });
  const mine = log.map((e, i) => (e.pid === process.pid ? i : -1)).filter((i) => i >= 0);
  const theirs = log.map((e, i) => (e.pid === c.pid ? i : -1)).filter((i) => i >= 0);
  assert.ok(theirs.length > 0 && mine.length > 0);
  assert.ok(Math.max(...theirs) < Math.min(...mine.filter((i) => i > theirs[0])), 'no interleaving');
});

test.run();
