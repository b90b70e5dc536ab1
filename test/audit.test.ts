// The audit trail's sinks: audit.log rotated by size, a syslog socket (as /dev/log) fed through logger, who ran it.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AUDIT_KEEP, auditLine, whoRuns, writeAudit } from '../src/apply/audit';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-audit-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const rec = { command: 'apply' as const, user: 'alice', gateway: 'gw1', release: 'a'.repeat(64), commit: 'c'.repeat(40), dirty: false, signer: 'ci@example.com', outcome: 'ok' as const, durationMs: 12 };

test('who runs it: SUDO_USER over USER, then LOGNAME, then the uid; the actor from --actor, S2SGW_ACTOR or the CI job', () => {
  assert.equal(whoRuns({ SUDO_USER: 'alice', USER: 'root' }), { user: 'alice' });
  assert.equal(whoRuns({ USER: 'bob' }), { user: 'bob' });
  assert.equal(whoRuns({ LOGNAME: 'carol' }), { user: 'carol' });
  assert.match(whoRuns({}).user, /^uid \d+$/);
  assert.equal(whoRuns({ USER: 'root', S2SGW_ACTOR: 'pipeline 7', GITHUB_ACTOR: 'octocat' }, 'deploy\nx'), { user: 'root', actor: 'deploy x' });
  assert.equal(whoRuns({ USER: 'root', S2SGW_ACTOR: 'pipeline 7', GITHUB_ACTOR: 'octocat' }), { user: 'root', actor: 'pipeline 7' });
  assert.equal(whoRuns({ USER: 'root', GITHUB_ACTOR: 'octocat', GITHUB_REPOSITORY: 'acme/gw', GITHUB_RUN_ID: '9' }).actor, 'octocat (GitHub Actions acme/gw run 9)');
  assert.equal(whoRuns({ USER: 'root', GITLAB_USER_LOGIN: 'dev', CI_PROJECT_PATH: 'acme/gw', CI_JOB_ID: '5' }).actor, 'dev (GitLab CI acme/gw job 5)');
});

test('audit.log: one JSON line per record; past the size limit it is rotated to audit.log.1 .. .5, the oldest dropped', () => {
  const root = path.join(tmp, 'rot');
  const host = (p: string) => path.join(root, p);
  const file = host('/var/log/s2sgw/audit.log');
  for (let i = 0; i < 20; i++) assert.is(writeAudit(host, { ...rec, durationMs: i }, { maxBytes: 1000, devLog: path.join(tmp, 'none') }), undefined);
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(fs.statSync(file).size <= 1000);
  for (let i = 1; i <= AUDIT_KEEP; i++) assert.ok(fs.existsSync(`${file}.${i}`), `audit.log.${i}`);
  assert.not.ok(fs.existsSync(`${file}.${AUDIT_KEEP + 1}`));
  // The newest records are in audit.log, in order; .1 holds the ones just before.
  assert.is(lines.at(-1).durationMs, 19);
  const older = fs.readFileSync(`${file}.1`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.is(older.at(-1).durationMs, lines[0].durationMs - 1);
  assert.equal(Object.keys(lines[0]), ['time', 'host', 'command', 'user', 'gateway', 'release', 'commit', 'dirty', 'signer', 'outcome', 'durationMs']);
  assert.is(fs.statSync(file).mode & 0o777, 0o640);
});

test('the journal: one line through logger to the syslog socket when there is one; none and no error when there is not', async () => {
  const sock = path.join(tmp, 'dev-log');
  const got: string[] = [];
  const server = net.createServer((c) => c.on('data', (d) => got.push(d.toString())));
  await new Promise<void>((r) => server.listen(sock, r));
  try {
    assert.is(writeAudit((p) => path.join(tmp, 'j', p), { ...rec, actor: 'deploy job 42' }, { devLog: sock }), undefined);
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    server.close();
  }
  const text = got.join('');
  assert.match(text, /^<13>.* s2sgw: apply ok: gateway gw1, release aaaaaaaaaaaa, commit cccccccccccc, signed by ci@example\.com; by alice for deploy job 42; 12 ms\n$/);
  assert.is(auditLine({ ...rec, time: '', host: 'h', outcome: 'refused', error: 'signature: not signed', signer: null, commit: null }), 'apply refused (signature: not signed): gateway gw1, release aaaaaaaaaaaa, commit none, unsigned; by alice; 12 ms');
  // No socket (the lab VM): the file alone, no complaint.
  assert.is(writeAudit((p) => path.join(tmp, 'k', p), rec, { devLog: path.join(tmp, 'missing') }), undefined);
});

test.run();
