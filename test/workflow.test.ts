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

/** A step's env as GitHub would give it: the base branch is main; the approval label is on the pull request or not. */
function stepEnv(s: Step, approved = false): Record<string, string> {
  return Object.fromEntries(
    Object.entries(s.env ?? {}).map(([k, v]) => {
      if (v === '${{ github.base_ref }}') return [k, 'main'];
      if (v.includes("'s2sgw/approve-disruptive'")) {
        // `!contains(labels, L) && A || B`: A without the label, B with it.
        const m = /^\$\{\{ !contains\(github\.event\.pull_request\.labels\.\*\.name, 's2sgw\/approve-disruptive'\) && '([^']*)' \|\| '([^']*)' \}\}$/.exec(v);
        assert.ok(m, `the approval expression: ${v}`);
        return [k, approved ? m![2] : m![1]];
      }
      return [k, v];
    }),
  );
}

/** The example config in a Git repository: main as origin/main, then a branch `change` with `edit` applied. */
function repoWithChange(edit: (dir: string) => void): string {
  const dir = tempCopy(ROOT);
  const git = (...a: string[]) => assert.is(spawnSync('git', ['-C', dir, '-c', 'user.email=ci@example.com', '-c', 'user.name=ci', ...a]).status, 0, a.join(' '));
  git('init', '-q', '-b', 'main');
  git('add', '.');
  git('commit', '-qm', 'base');
  git('update-ref', 'refs/remotes/origin/main', 'HEAD');
  git('checkout', '-qb', 'change');
  edit(dir);
  return dir;
}

const editFile = (file: string, from: string, to: string) => (dir: string) => {
  const f = path.join(dir, file);
  const text = fs.readFileSync(f, 'utf8');
  assert.ok(text.includes(from), from);
  fs.writeFileSync(f, text.replace(from, to));
};

test('the pull-request job validates and writes a markdown plan against the base branch', () => {
  const dir = repoWithChange(editFile('tenants/contoso.yaml', 'metric: 100', 'metric: 90'));
  const steps = s2sgwSteps('pull-request');
  assert.equal(steps.map((s) => s.name), ['Validate', 'Plan']);
  for (const s of steps) {
    const r = sh(dir, s.run!, stepEnv(s));
    assert.is(r.code, 0, `${s.name}: ${r.out}`);
  }
  const md = fs.readFileSync(path.join(dir, 'plan.md'), 'utf8');
  assert.match(md, /### s2sgw plan against `origin\/main/);
  assert.match(md, /route `10\.1\.0\.0\/16 on IfCe1` changed: metric 100 -> 90/);
  assert.match(md, /— \*\*hitless\*\*: routes change in the VRF/);
});

test("the pull request's gate equals main's: validate and plan run --locked, as main's build does", () => {
  const [validate, plan] = s2sgwSteps('pull-request');
  assert.match(validate.run!, /^npx s2sgw validate --locked /);
  assert.match(plan.run!, /^npx s2sgw plan --locked \$FAIL_ON /);
  // A tenant added without its lock entry: main's build --locked would refuse it, so the pull request does.
  const dir = repoWithChange((d) => {
    fs.writeFileSync(path.join(d, 'tenants', 'fabrikam-lab.yaml'), 'tenant: fabrikam-lab\nroutingDomain: "{12345678-1000-2000-3000-123456780009}"\ngateways: [gw1]\nnetwork: { interface: IfLi1, vlan: 4009, addresses: [192.168.0.1/29] }\nconnections:\n  - interface: IfLe1\n    destination: 131.107.9.10\n    auth: { psk: env:FABRIKAM_LAB_PSK }\n');
  });
  const v = sh(dir, validate.run!);
  assert.is(v.code, 1, v.out);
  assert.match(v.out, /^::error file=allocations\.lock\.yaml,line=1,col=1,title=lock\/would-change::--locked: the lock file would change/m);
  const p = sh(dir, plan.run!, stepEnv(plan));
  assert.is(p.code, 1, p.out);
  assert.match(p.out, /lock\/would-change/);
  const main = sh(dir, s2sgwSteps('main')[0].run!);
  assert.is(main.code, 1);
  assert.match(main.out, /lock\/would-change/);
});

test('a disruptive change fails the Plan step with the plan written, until the approval label is on the pull request', () => {
  const dir = repoWithChange(editFile('tenants/contoso.yaml', 'vlan: 4000', 'vlan: 4010'));
  const plan = s2sgwSteps('pull-request')[1];
  const refused = sh(dir, plan.run!, stepEnv(plan));
  assert.is(refused.code, 1, refused.out);
  assert.match(refused.out, /--fail-on disruptive: 1 change of class disruptive or worse planned/);
  assert.match(refused.out, /gw1 contoso: network IfCi1 changed \(disruptive: /);
  // The markdown is there for the comment step, which runs after a failed step.
  assert.match(fs.readFileSync(path.join(dir, 'plan.md'), 'utf8'), /\*\*disruptive\*\*: the tenant's VLAN\/VXLAN link is recreated/);
  const post = workflow.jobs['pull-request'].steps.find((s) => s.name === 'Post the plan') as Step & { if?: string };
  assert.is(post.if, '${{ !cancelled() }}');
  const approved = sh(dir, plan.run!, stepEnv(plan, true));
  assert.is(approved.code, 0, approved.out);
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
