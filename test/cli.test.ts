// The command line as a whole: the option table drives parsing, help, usage errors, the bash completion and docs/cli.md.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { commands, help } from '../src/cli';
import { cliMarkdown, commandHelp } from '../src/commands/help';
import { COMMON_OPTIONS, nearest } from '../src/util/options';
import { runnerFrom } from '../src/apply/options';
import * as os from 'node:os';
import { ROOT, UPDATE, cli, tempCopy } from './helpers';

const DOC = path.join(ROOT, 'docs', 'cli.md');

test('a host command exits at once, but only after a slow pipe reader got all its output (exitFlushed)', async () => {
  // 4 MB on stdout (a pipe's buffer holds 64 KB), the reader starting late: process.exit alone would cut it short.
  const code = `const { exitFlushed } = require(${JSON.stringify(path.resolve(__dirname, '..', 'src', 'cli.js'))}); process.stdout.write('x'.repeat(4 << 20)); process.stderr.write('e'.repeat(1 << 20)); exitFlushed(3);`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pause();
  child.stderr.pause();
  let out = 0;
  let err = 0;
  child.stdout.on('data', (d: Buffer) => (out += d.length));
  child.stderr.on('data', (d: Buffer) => (err += d.length));
  setTimeout(() => {
    child.stdout.resume();
    child.stderr.resume();
  }, 300);
  const exit = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.is(exit, 3);
  assert.is(out, 4 << 20);
  assert.is(err, 1 << 20);
});

test('every command has a summary and every option a description (and a value name when it takes one)', () => {
  const missing: string[] = [];
  for (const c of commands()) {
    if (!c.summary) missing.push(`${c.name}: no summary`);
    for (const [n, o] of Object.entries({ ...c.options, ...COMMON_OPTIONS })) {
      if (!o.description || o.description.length < 8) missing.push(`${c.name} --${n}: no description`);
      if (o.type === 'string' && !o.value) missing.push(`${c.name} --${n}: no value name`);
      if (o.choices && o.default !== undefined && !o.choices.includes(o.default)) missing.push(`${c.name} --${n}: default not among choices`);
    }
    for (const p of c.positionals ?? []) if (!p.description) missing.push(`${c.name} ${p.name}: no description`);
  }
  assert.equal(missing, []);
});

test('docs/cli.md is generated from the option table (UPDATE=1 rewrites it)', () => {
  const text = cliMarkdown(commands(), help());
  if (UPDATE) fs.writeFileSync(DOC, text);
  assert.ok(fs.existsSync(DOC), 'docs/cli.md is missing: run with UPDATE=1');
  assert.ok(fs.readFileSync(DOC, 'utf8') === text, 'docs/cli.md is stale: run `UPDATE=1 node scripts/test.js \'^cli\\.test\\.js$\'`');
  for (const c of commands()) assert.match(text, new RegExp(`\\n## ${c.name}\\n`));
});

test('usage errors: exit 2, one line naming the problem, a near-miss suggestion, the usage line, no stack', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['apply', '--bundle', 'x', '--confim', '30'], /^s2sgw apply: unknown option --confim \(did you mean --confirm\?\)\nhint: usage: s2sgw apply --bundle DIR /],
    [['validate', '--conifg', '.'], /^s2sgw validate: unknown option --conifg \(did you mean --config\?\)\n/],
    [['validate', '--config'], /^s2sgw validate: --config needs a value \(DIR\)\n/],
    [['validate', '--format', 'jsn'], /^s2sgw validate: --format must be one of text, json, github, got jsn \(did you mean json\?\)\n/],
    [['plan', '--against', 'x', '--format', 'xml'], /^s2sgw plan: --format must be one of text, json, markdown, got xml\n/],
    [['apply', '--full=yes'], /^s2sgw apply: --full takes no value\n/],
    [['validate', 'extra'], /^s2sgw validate: unexpected argument "extra"\n/],
    [['aply'], /^s2sgw: unknown command `aply` \(did you mean `apply`\?\)\nhint: run `s2sgw help`/],
    [['help', 'bulid'], /^s2sgw: unknown command `bulid` \(did you mean `build`\?\)\n/],
    [['frobnicate'], /^s2sgw: unknown command `frobnicate`\nhint: /],
    [['completion', 'fish'], /^s2sgw completion: SHELL must be one of bash, got fish\n/],
    [['plan'], /^s2sgw plan: missing required option --against DIR\|REF\nhint: usage: s2sgw plan \[--config DIR\] --against DIR\|REF .* \(e\.g\. --against origin\/main\)\n$/],
    [['plan', '--against', ''], /^s2sgw plan: missing required option --against DIR\|REF\n/],
    [['plan', '--agaisnt', 'out/'], /^s2sgw plan: unknown option --agaisnt \(did you mean --against\?\)\n/],
    [['sign'], /^s2sgw sign: missing required options --bundle DIR and --key FILE\nhint: .*\(e\.g\. --bundle out\/gw1 --key ~\/\.ssh\/id_ed25519\)\n$/],
    [['peer-config', '--tenant', 'contoso'], /^s2sgw peer-config: missing required option --connection IFACE\n/],
    [['apply', '--dry-run'], /^s2sgw apply: missing required option --bundle DIR\n/],
  ];
  for (const [argv, re] of cases) {
    const r = await cli(argv);
    assert.is(r.code, 2, argv.join(' '));
    assert.is(r.out, '', argv.join(' '));
    assert.match(r.err, re, argv.join(' '));
    assert.not.match(r.err, /\n\s+at /);
  }
  assert.is(nearest('zzzz', ['config', 'format']), undefined);
});

test('help: general, per command (--help, -h and `help <command>` agree), built from the table', async () => {
  const general = await cli(['help']);
  assert.is(general.code, 0);
  for (const c of commands()) assert.match(general.out, new RegExp(`\\n  ${c.name} +${c.summary.slice(0, 20).replace(/[()]/g, '.')}`));
  assert.is((await cli([])).code, 2, 'no command is a usage error');
  for (const c of commands()) {
    const a = await cli([c.name, '--help']);
    const b = await cli(['help', c.name]);
    const h = await cli([c.name, '-h']);
    assert.is(a.code, 0);
    assert.is(a.out, b.out);
    assert.is(a.out, h.out);
    assert.is(a.out, commandHelp(c));
    for (const n of Object.keys(c.options)) assert.match(a.out, new RegExp(`--${n}\\b`));
  }
  const apply = await cli(['apply', '--help']);
  assert.match(apply.out, /--confirm SECONDS +roll back unless/);
  assert.match(apply.out, /--keep N .*default: 5/);
});

test('--quiet drops summaries, never findings; --verbose is accepted by every command', async () => {
  const q = await cli(['validate', '--config', ROOT, '--quiet']);
  assert.is(q.code, 0);
  assert.is(q.err, '');
  const loud = await cli(['validate', '--config', ROOT]);
  assert.is(loud.err, '2 tenants on 1 gateway: valid\n');
  const bad = await cli(['validate', '--config', path.join(ROOT, 'test', 'fixtures', 'validate', 'duplicate-vlan'), '-q']);
  assert.is(bad.code, 1);
  assert.match(bad.err, /error duplicate-vlan/);
  for (const c of commands()) assert.is((await cli([c.name, '--verbose', '--help'])).code, 0, c.name);
});

test('old spellings keep working: short options, --opt=value, repeated and comma lists', async () => {
  const a = await cli(['validate', '-c', ROOT, '-f', 'json']);
  assert.is(a.code, 0, a.err);
  assert.equal(JSON.parse(a.out).diagnostics, []);
  const b = await cli(['validate', `--config=${ROOT}`, '--format=json']);
  assert.is(b.code, 0, b.err);
});

test('completion bash: valid bash that completes commands, options, choices from the table', async () => {
  const r = await cli(['completion', 'bash']);
  assert.is(r.code, 0);
  const complete = (words: string[]) => {
    const script = `${r.out}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _s2sgw; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const p = spawnSync('bash', ['--norc', '-c', script], { encoding: 'utf8' });
    assert.is(p.status, 0, p.stderr);
    return p.stdout.split('\n').filter(Boolean);
  };
  assert.equal(complete(['s2sgw', 'pl']), ['plan']);
  assert.equal(complete(['s2sgw', 'apply', '--conf']), ['--confirm']);
  assert.equal(complete(['s2sgw', 'validate', '--format', 'g']), ['github']);
  assert.equal(complete(['s2sgw', 'plan', '--format', '']), ['text', 'json', 'markdown']);
  assert.equal(complete(['s2sgw', 'help', 'peer']), ['peer-config']);
  assert.equal(complete(['s2sgw', 'sign', '']).slice(0, 2), ['--bundle', '--key'], 'required options first');
  assert.equal(complete(['s2sgw', 'completion', '']), ['bash', '--help', '--debug', '--quiet', '--verbose']);
});

test('--format json: every command with output documents a versioned shape in docs/cli.md', () => {
  for (const c of commands()) {
    const f = c.options.format;
    if (!f) continue;
    assert.ok(f.choices?.includes('json'), `${c.name}: --format without json`);
    assert.ok(c.json, `${c.name}: --format json without a documented shape`);
    if (c.name !== 'validate') assert.match(c.json!, /"version": 1/, c.name);
  }
  for (const name of ['apply', 'confirm', 'rollback', 'recover', 'status', 'releases', 'peer-config', 'build', 'plan']) assert.ok(commands().find((c) => c.name === name)?.json, name);
});

test('host commands --format json: one object on stdout, nothing else, the exit code inside', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-cli-'));
  try {
    const a = await cli(['apply', '--bundle', path.join(root, 'no-bundle'), '--root', root, '--format', 'json']);
    assert.is(a.code, 1);
    const j = JSON.parse(a.out);
    assert.equal([j.version, j.command, j.ok, j.exitCode, j.error.step, j.dryRun], [1, 'apply', false, 1, 'verify', false]);
    assert.match(j.error.message, /is not a bundle/);
    assert.is(a.err, '');
    for (const [cmd, msg] of [['confirm', /no apply is waiting/], ['rollback', /nothing is applied/]] as const) {
      const r = await cli([cmd, '--root', root, '--format', 'json']);
      assert.is(r.code, 1);
      const o = JSON.parse(r.out);
      assert.equal([o.version, o.command, o.ok, o.release], [1, cmd, false, null]);
      assert.match(o.error.message, msg);
      assert.is(r.err, '');
    }
    // Text mode keeps its old stderr message.
    const t = await cli(['confirm', '--root', root]);
    assert.match(t.err, /^s2sgw confirm: step confirm: no apply is waiting/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('build: the lock allocations as one summary line (--verbose lists each, --quiet none, json has them all)', async () => {
  const dir = tempCopy(ROOT);
  const fresh = async (args: string[]) => {
    fs.rmSync(path.join(dir, 'allocations.lock.yaml'), { force: true });
    return cli(['build', '--config', dir, ...args]);
  };
  try {
    const plain = await fresh([]);
    assert.is(plain.code, 0, plain.err);
    assert.match(plain.err, /^allocations\.lock\.yaml: allocated ids for 2 tenants \(a routing table and zone each\) and 3 connections \(an if_id each\)/m);
    assert.is(plain.err.split('\n').filter((l) => l.startsWith('allocations.lock.yaml')).length, 1);
    const verbose = await fresh(['--verbose']);
    assert.is(verbose.err.split('\n').filter((l) => l.startsWith('allocations.lock.yaml: ')).length, 5);
    assert.match(verbose.err, /allocations\.lock\.yaml: connection woodgrove\/IfWe2: if_id 3/);
    const quiet = await fresh(['-q']);
    assert.is(quiet.code, 0);
    assert.is(quiet.err, '');
    const json = await fresh(['--format', 'json']);
    const j = JSON.parse(json.out);
    assert.equal([j.version, j.ok, j.diagnostics, j.bundles.map((b: { gateway: string }) => b.gateway)], [1, true, [], ['gw1']]);
    assert.is(j.lock.changes.length, 5);
    assert.is(json.err, '');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('colour only on a terminal (a real pseudo-terminal via script(1)), never with NO_COLOR or when piped', () => {
  const bin = path.join(ROOT, 'bin', 's2sgw.js');
  const fixture = path.join(ROOT, 'test', 'fixtures', 'validate', 'duplicate-vlan');
  const base: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm' };
  delete base.NO_COLOR;
  const run = (env: NodeJS.ProcessEnv, tty: boolean) => {
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} validate --config ${JSON.stringify(fixture)}`;
    const p = tty
      ? spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', env: { ...base, ...env } })
      : spawnSync(process.execPath, [bin, 'validate', '--config', fixture], { encoding: 'utf8', env: { ...base, ...env } });
    return p.stdout + p.stderr;
  };
  const onTty = run({}, true);
  assert.match(onTty, /duplicate-vlan/);
  assert.match(onTty, /\x1b\[/, 'colour on a terminal');
  const noColor = run({ NO_COLOR: '1' }, true);
  assert.match(noColor, /duplicate-vlan/);
  assert.not.match(noColor, /\x1b\[/, 'NO_COLOR');
  const piped = run({}, false);
  assert.match(piped, /duplicate-vlan/);
  assert.not.match(piped, /\x1b\[/, 'not a terminal');
});

test('progress on stderr only on a terminal: what and how far; never piped, with --quiet or in json', async () => {
  const dir = tempCopy(ROOT);
  try {
    const tty = { ...process.env, S2SGW_TTY: '1' };
    const shown = await cli(['build', '--config', dir], ROOT, tty);
    assert.is(shown.code, 0, shown.err);
    assert.match(shown.err, /\r\x1b\[Kbuild: validating 3 files \([\d.]+ s\)/);
    assert.match(shown.err, /\r\x1b\[Kbuild: rendering 1 gateway bundle/);
    assert.match(shown.err, /\r\x1b\[Kbuild: writing gw1 \(1\/1\)/);
    assert.match(shown.err, /\r\x1b\[Kbuilt /, 'the line is cleared before the summary');
    const plan = await cli(['plan', '--config', dir, '--against', path.join(dir, 'out')], ROOT, tty);
    assert.match(plan.err, /plan: this side: validating 3 files/);
    assert.match(plan.err, /plan: comparing/);
    const env = { ...process.env };
    delete env.S2SGW_TTY;
    for (const [args, e] of [[[], env], [['--quiet'], tty], [['--format', 'json'], tty]] as const) {
      const r = await cli(['build', '--config', dir, ...args], ROOT, e);
      assert.is(r.code, 0, r.err);
      assert.not.match(r.err, /\r|\x1b/, args.join(' ') || 'not a terminal');
      assert.not.match(r.out, /\r|\x1b/);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--verbose on a host command says every command the runner ran, after it ran; without it nothing', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-verbose-'));
  for (const verbose of [true, false]) {
    const said: string[] = [];
    const runner = runnerFrom({ root }, { out: () => undefined, err: (s: string) => said.push(s), env: {}, cwd: root, verbose });
    runner.step = 'check';
    const r = await runner.run('true', ['--flag']);
    assert.is(r.code, 0);
    if (verbose) {
      assert.is(said.length, 1, said.join(''));
      assert.match(said[0], /^ {2}\[check\] true --flag -> 0 \(\d+ ms\)\n$/);
    } else assert.equal(said, []);
  }
  fs.rmSync(root, { recursive: true, force: true });
});

test.run();
