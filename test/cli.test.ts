// The command line as a whole: the option table drives parsing, help, usage errors, the bash completion and docs/cli.md.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { commands, help } from '../src/cli';
import { cliMarkdown, commandHelp } from '../src/commands/help';
import { COMMON_OPTIONS, nearest } from '../src/commands/options';
import { ROOT, UPDATE, cli } from './helpers';

const DOC = path.join(ROOT, 'docs', 'cli.md');

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
  assert.equal(complete(['s2sgw', 'completion', '']), ['bash', '--help', '--debug', '--quiet', '--verbose']);
});

test.run();
