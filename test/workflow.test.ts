// The example GitHub workflow's s2sgw commands run as written against the bundled example.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { ROOT, tempCopy } from './helpers';

interface Step {
  name?: string;
  run?: string;
  env?: Record<string, string>;
}

const workflow = parse(fs.readFileSync(path.join(ROOT, 'examples', 'github', 's2sgw.yml'), 'utf8')) as { jobs: Record<string, { steps: Step[] }> };

/** The steps that run s2sgw, with `npx s2sgw` pointing at this checkout. */
function s2sgwSteps(job: string): Step[] {
  return workflow.jobs[job].steps.filter((s) => s.run?.includes('npx s2sgw'));
}

function sh(dir: string, script: string, env: Record<string, string> = {}): { code: number; out: string } {
  const bin = path.join(ROOT, 'bin', 's2sgw.js');
  const r = spawnSync('bash', ['-c', `set -o pipefail; ${script.replace(/npx s2sgw/g, `node ${bin}`)}`], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status ?? 1, out: r.stdout + r.stderr };
}

test('the pull-request job validates and writes a markdown plan against the base branch', () => {
  const dir = tempCopy(ROOT);
  const git = (...a: string[]) => assert.is(spawnSync('git', ['-C', dir, '-c', 'user.email=ci@example.com', '-c', 'user.name=ci', ...a]).status, 0, a.join(' '));
  git('init', '-q', '-b', 'main');
  git('add', '.');
  git('commit', '-qm', 'base');
  git('update-ref', 'refs/remotes/origin/main', 'HEAD');
  git('checkout', '-qb', 'change');
  const f = path.join(dir, 'tenants', 'contoso.yaml');
  fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('metric: 100', 'metric: 90'));
  const steps = s2sgwSteps('pull-request');
  assert.equal(steps.map((s) => s.name), ['Validate', 'Plan']);
  for (const s of steps) {
    const env = Object.fromEntries(Object.entries(s.env ?? {}).map(([k, v]) => [k, v === '${{ github.base_ref }}' ? 'main' : v]));
    const r = sh(dir, s.run!, env);
    assert.is(r.code, 0, `${s.name}: ${r.out}`);
  }
  const md = fs.readFileSync(path.join(dir, 'plan.md'), 'utf8');
  assert.match(md, /### s2sgw plan against `origin\/main/);
  assert.match(md, /route `10\.1\.0\.0\/16 on IfCe1` changed: metric 100 -> 90/);
});

test('the validate step annotates a broken tenant file and fails the job', () => {
  const dir = tempCopy(ROOT);
  const f = path.join(dir, 'tenants', 'woodgrove.yaml');
  fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('vlan: 4001', 'vlan: 4000'));
  const r = sh(dir, s2sgwSteps('pull-request')[0].run!);
  assert.is(r.code, 1);
  assert.match(r.out, /^::error file=tenants\/woodgrove\.yaml,line=\d+,col=\d+,title=duplicate-vlan::/m);
});

test('both jobs keep the work cache between runs, in the folder S2SGW_CACHE_DIR names', () => {
  const wf = workflow as unknown as { env: Record<string, string>; jobs: Record<string, { steps: Array<Step & { uses?: string; with?: Record<string, string> }> }> };
  assert.is(wf.env.S2SGW_CACHE_DIR, '.s2sgw-cache');
  for (const job of ['pull-request', 'main']) {
    const steps = wf.jobs[job].steps;
    const cache = steps.findIndex((s) => s.uses?.startsWith('actions/cache@'));
    assert.ok(cache >= 0, `${job}: an actions/cache step`);
    assert.is(steps[cache].with!.path, wf.env.S2SGW_CACHE_DIR, job);
    assert.ok(cache < steps.findIndex((s) => s.run?.includes('npx s2sgw')), `${job}: restored before s2sgw runs`);
  }
  // The steps run as written with the cache set: the second run uses it and says the same.
  const dir = tempCopy(ROOT);
  const env = { S2SGW_CACHE_DIR: wf.env.S2SGW_CACHE_DIR };
  const first = sh(dir, s2sgwSteps('main')[0].run!, env);
  assert.is(first.code, 0, first.out);
  assert.ok(fs.readdirSync(path.join(dir, '.s2sgw-cache')).length > 0);
  assert.equal(sh(dir, s2sgwSteps('main')[0].run!, env), first);
});

test('the main job builds with --locked and signs each bundle with the key from its secret', () => {
  const dir = tempCopy(ROOT);
  const steps = s2sgwSteps('main');
  assert.equal(steps.map((s) => s.name), ['Build (the committed lock must already hold every id)', 'Sign each bundle']);
  assert.is(steps[0].run, 'npx s2sgw build --locked');
  const r = sh(dir, steps[0].run!);
  assert.is(r.code, 0, r.out);
  assert.ok(fs.existsSync(path.join(dir, 'out', 'gw1', 'manifest.json')));
  const key = path.join(dir, 'k');
  assert.is(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ci', '-f', key]).status, 0);
  const runnerTemp = fs.mkdtempSync(path.join(dir, 'runner-temp-'));
  const signed = sh(dir, steps[1].run!, { SIGNING_KEY: fs.readFileSync(key, 'utf8').trimEnd(), RUNNER_TEMP: runnerTemp });
  assert.is(signed.code, 0, signed.out);
  assert.match(fs.readFileSync(path.join(dir, 'out', 'gw1', 'manifest.json.sig'), 'utf8'), /^-----BEGIN SSH SIGNATURE-----/);
  // The key does not outlive the step.
  assert.equal(fs.readdirSync(runnerTemp), []);
});

test('after main, the deploy job waits for its environment, takes the packed bundles and runs the rollout playbook', () => {
  type Job = { needs?: string; environment?: string; concurrency?: { 'cancel-in-progress'?: boolean }; steps: Array<Step & { uses?: string; with?: Record<string, string> }> };
  const jobs = (workflow as unknown as { jobs: Record<string, Job> }).jobs;
  const deploy = jobs.deploy;
  assert.is(deploy.needs, 'main');
  assert.is(deploy.environment, 'gateways');
  assert.is(deploy.concurrency?.['cancel-in-progress'], false);
  const upload = jobs.main.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))!;
  const download = deploy.steps.find((s) => s.uses?.startsWith('actions/download-artifact@'))!;
  assert.is(download.with!.name, upload.with!.name);
  const play = deploy.steps.find((s) => s.run?.includes('ansible-playbook'))!;
  assert.match(play.run!, /ansible-playbook -i \S+ s2sgw\.gateway\.rollout -e s2sgw_bundles="\$PWD\/bundles"/);
  assert.ok(fs.existsSync(path.join(ROOT, 'ansible', 'playbooks', 'rollout.yml')));
  // The pack step, run after a build, leaves <gateway>.tar.gz for every bundle: what the rollout role delivers.
  const dir = tempCopy(ROOT);
  assert.is(sh(dir, 'npx s2sgw build --locked').code, 0);
  const pack = jobs.main.steps.find((s) => s.name?.startsWith('Pack each bundle'))!;
  const r = sh(dir, pack.run!);
  assert.is(r.code, 0, r.out);
  assert.is(upload.with!.path, 'bundles/');
  for (const g of fs.readdirSync(path.join(dir, 'out'))) {
    const list = spawnSync('tar', ['-tzf', path.join(dir, 'bundles', `${g}.tar.gz`)], { encoding: 'utf8' }).stdout;
    assert.match(list, new RegExp(`^${g}/manifest\\.json$`, 'm'));
  }
});

test.run();
