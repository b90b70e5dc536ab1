// The diagnostics catalogue (src/validate/catalogue.ts) is complete and exact: every code emitted anywhere in src/ has an
// entry, every entry is emitted, docs/rules.md is the generator's output; and `s2sgw explain` / `s2sgw rules` work.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as YAML from 'yaml';
import { main } from '../src/cli';
import type { Io } from '../src/commands/common';
import { allCodes, CATALOGUE, lookup, TARGETS } from '../src/validate/catalogue';
import { allRules } from '../src/validate/rules';

const ROOT = path.resolve(__dirname, '..', fs.existsSync(path.join(__dirname, '..', 'package.json')) ? '' : '..');
const SRC = path.join(ROOT, 'src');
const CATALOGUE_FILE = path.join('src', 'validate', 'catalogue.ts');

/** Literals in src/ that look like a code (`word/word`) but are not one; say why when adding. */
const NOT_CODES = new Set<string>([
  'handlebars/runtime', // a module path: src/targets/target.ts loads Handlebars' runtime only (templates precompiled)
]);

/** A placeholder, computed (`${e.keyword}`) or in a family's name (`<target>`), compares as `<*>`. */
const norm = (code: string) => code.replace(/\$\{[^}]*\}|<[^>]*>/g, '<*>');

function tsFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((d) => (d.isDirectory() ? tsFiles(path.join(dir, d.name)) : d.name.endsWith('.ts') ? [path.join(dir, d.name)] : []))
    .sort();
}

/**
 * Every code the sources can emit, with where: a string literal of the form `prefix/name` (prefix/`${computed}` too),
 * as every diagnostic constructor call, `code:` field and CODE constant spells one, and every rule file's name (its id).
 */
function emitted(src = SRC): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (code: string, where: string) => out.set(code, [...(out.get(code) ?? []), where]);
  const computed: Array<[string, string]> = [];
  for (const file of tsFiles(src)) {
    const rel = path.relative(path.dirname(src), file);
    if (rel === CATALOGUE_FILE) continue;
    fs.readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (/^\s*(\/\/|\*|\/\*)/.test(line)) return; // comments name codes without emitting them
        for (const m of line.matchAll(/(['"`])([a-z][a-z0-9]*\/(?:[a-z][a-z0-9-]*|\$\{[^}]*\}))\1/g)) {
          if (NOT_CODES.has(m[2])) continue;
          if (m[2].includes('${')) computed.push([m[2], `${rel}:${i + 1}`]);
          else add(m[2], `${rel}:${i + 1}`);
        }
      });
  }
  // A computed code (`schema/${e.keyword}`) counts under a prefix that literal codes use; `releases/${id}` is a path.
  const prefixes = new Set([...out.keys()].map((c) => c.split('/')[0]));
  for (const [code, where] of computed) if (prefixes.has(code.split('/')[0])) add(norm(code), where);
  const rules = path.join(src, 'validate', 'rules');
  for (const f of fs.existsSync(rules) ? fs.readdirSync(rules).sort() : []) {
    if (!f.endsWith('.ts') || f === 'rule.ts' || f === 'index.ts') continue;
    const text = fs.readFileSync(path.join(rules, f), 'utf8').split('\n');
    const line = text.findIndex((l) => /\bid:/.test(l)) + 1 || 1;
    add(f.replace(/\.ts$/, ''), `src/validate/rules/${f}:${line}`);
  }
  return out;
}

const catalogued = new Map<string, string>(); // normalised code -> the entry that covers it
for (const e of CATALOGUE) for (const c of e.codes ?? [e.code]) catalogued.set(norm(c), e.code);

test('the scan finds codes in constructor calls, code fields, constants, computed codes and rule files, and skips comments and paths', () => {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 's2sgw-catalogue-'));
  try {
    const src = path.join(dir, 'src');
    fs.mkdirSync(path.join(src, 'validate', 'rules'), { recursive: true });
    fs.writeFileSync(path.join(src, 'a.ts'), [
      "out.push(error('frob/nicate', at, 'x'));",
      "const CODE = \"frob/check\";",
      "  return { code: 'frob/other', path };",
      "// error('frob/in-comment') is only mentioned",
      "error(`frob/${kind}`, at, 'computed');",
      "const p = `releases/${id}`; const f = 'frob/x.conf';",
    ].join('\n'));
    fs.writeFileSync(path.join(src, 'validate', 'rules', 'new-rule.ts'), "export const rule = {\n  id: 'new-rule',\n};\n");
    fs.writeFileSync(path.join(src, 'validate', 'rules', 'rule.ts'), '');
    const found = emitted(src);
    assert.equal([...found.keys()].sort(), ['frob/<*>', 'frob/check', 'frob/nicate', 'frob/other', 'new-rule']);
    assert.equal(found.get('frob/nicate'), ['src/a.ts:1']);
    assert.equal(found.get('new-rule'), ['src/validate/rules/new-rule.ts:2']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('every code emitted in src/ has a catalogue entry', () => {
  const found = emitted();
  assert.ok(found.size >= 80, `only ${found.size} codes found in src/: the scan is broken`);
  const families = CATALOGUE.filter((e) => e.codes).map((e) => e.code.replace(/^<[^>]*>/, ''));
  const missing = [...found]
    .filter(([code]) => !catalogued.has(code))
    .map(([code, where]) => {
      const family = families.find((f) => code.endsWith(f) && f.startsWith('/'));
      return `  ${code}  (${where.join(', ')})${family ? `  [a new target? add \`${code.split('/')[0]}\` to TARGETS, or to the family's codes, for <target>${family}]` : ''}`;
    });
  assert.ok(!missing.length, `codes emitted in src/ but missing from ${CATALOGUE_FILE} (add an entry: summary, explanation, bad and good example; then node scripts/rules-doc.js):\n${missing.join('\n')}`);
});

test('every catalogue entry is emitted somewhere in src/', () => {
  const found = emitted();
  const stale = [...catalogued].filter(([code]) => !found.has(code)).map(([code, entry]) => `  ${code}${code === entry ? '' : ` (of ${entry})`}`);
  assert.ok(!stale.length, `catalogue entries no code in src/ emits (remove them, or fix the code's spelling):\n${stale.join('\n')}`);
});

test('every entry is complete, codes are unique, rule summaries match the rules', () => {
  const seen = new Set<string>();
  for (const e of CATALOGUE) {
    for (const c of [e.code, ...(e.codes ?? [])]) {
      assert.ok(!seen.has(c), `${c} is in the catalogue twice`);
      seen.add(c);
    }
    for (const key of ['summary', 'explanation', 'bad', 'good'] as const) assert.ok(e[key].trim().length > 5, `${e.code} has no ${key}`);
    assert.ok(!/\n/.test(e.summary), `${e.code}: the summary is one line`);
    assert.is(lookup(e.code), e, `lookup(${e.code})`);
    for (const c of e.codes ?? []) assert.is(lookup(c), e, `lookup(${c})`);
  }
  for (const r of allRules()) assert.is(lookup(r.id)?.summary, r.summary, `the summary of rule ${r.id} (src/validate/rules/${r.id}.ts) differs from its catalogue entry`);
  for (const t of TARGETS) assert.ok(fs.existsSync(path.join(SRC, 'targets', t)), `no target ${t}`);
  assert.is(lookup('schema/const')?.code, 'schema/<keyword>');
  assert.is(lookup('nope/nothing'), undefined);
});

test('every YAML example parses (but the two about broken YAML), and a bad example differs from its good one', () => {
  const BROKEN_ON_PURPOSE = new Set(['yaml/syntax', 'yaml/duplicate-key']);
  for (const e of CATALOGUE) {
    assert.is.not(e.bad.trim(), e.good.trim(), `${e.code}: the bad and the good example are the same`);
    if ((e.lang ?? 'yaml') !== 'yaml') continue;
    for (const k of ['bad', 'good'] as const) {
      const errors = YAML.parseAllDocuments(e[k]).flatMap((d) => ('errors' in d ? d.errors : []));
      if (k === 'bad' && BROKEN_ON_PURPOSE.has(e.code)) assert.ok(errors.length, `${e.code}: its bad example should not parse`);
      else assert.ok(!errors.length, `${e.code}: the ${k} example is not YAML (${errors[0]?.message.split('\n')[0]}); separate two files with ---`);
    }
  }
});

test('docs/rules.md is what node scripts/rules-doc.js writes', () => {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { render } = require(path.join(ROOT, 'scripts', 'rules-doc.js')) as { render: (c: typeof CATALOGUE) => string };
  const want = render(CATALOGUE);
  const have = fs.readFileSync(path.join(ROOT, 'docs', 'rules.md'), 'utf8');
  if (have !== want) {
    const a = have.split('\n');
    const b = want.split('\n');
    const i = a.findIndex((l, n) => l !== b[n]);
    assert.unreachable(`docs/rules.md differs from the catalogue at line ${i + 1}: run \`npx tsc -p tsconfig.json && node scripts/rules-doc.js\`\n  file:      ${a[i]}\n  generated: ${b[i]}`);
  }
  for (const e of CATALOGUE) assert.ok(want.includes(`\n## ${e.code}\n`), `docs/rules.md has no "## ${e.code}"`);
});

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (s) => (out += s), err: (s) => (err += s), color: false, env: {}, cwd: ROOT };
  const code = await main(args, io);
  return { code, out, err };
}

test('explain CODE prints the explanation and both examples; a family member finds its family', async () => {
  const r = await run('explain', 'duplicate-vlan');
  assert.is(r.code, 0);
  assert.is(r.err, '');
  const e = lookup('duplicate-vlan')!;
  assert.ok(r.out.startsWith(`duplicate-vlan (error): ${e.summary}\n`), r.out);
  assert.ok(r.out.includes(e.explanation));
  assert.ok(r.out.includes(`Bad:\n    ${e.bad.split('\n')[0]}`), r.out);
  assert.ok(r.out.includes(`Good:\n    ${e.good.split('\n')[0]}`), r.out);
  const f = await run('explain', 'nftables/check');
  assert.is(f.code, 0);
  assert.match(f.out, /^<target>\/check \(error\): /);
  assert.match(f.out, /codes: .*nftables\/check/);
  const k = await run('explain', 'tc/kernel-unsupported');
  assert.match(k.out, /^<target>\/kernel-unsupported /);
  for (const asked of ['duplicate-vlan:', '`duplicate-vlan`', 'Duplicate-VLAN']) assert.is((await run('explain', asked)).out, r.out, asked);
  const l = await run('explain', 'lock/would-change');
  assert.is(l.code, 0);
  assert.match(l.out, /^lock\/would-change \(error\)/);
});

test('explain: an unknown code is a usage error (exit 2) with a near miss; no code, two codes, a bad format too', async () => {
  const r = await run('explain', 'duplicate-vlam');
  assert.is(r.code, 2);
  assert.is(r.out, '');
  assert.match(r.err, /^s2sgw explain: unknown diagnostic code `duplicate-vlam`\nhint: did you mean `duplicate-vlan`\?/);
  const far = await run('explain', 'no-such-thing-at-all');
  assert.is(far.code, 2);
  assert.not.match(far.err, /did you mean/);
  assert.match(far.err, /s2sgw rules/);
  assert.is((await run('explain', 'schema/enm')).err.includes('did you mean `schema/enum`'), true);
  const esc = await run('explain', 'x\u001b[31m\nerror forged');
  assert.is(esc.code, 2);
  assert.match(esc.err, /^s2sgw explain: unknown diagnostic code `x\\x1b\[31m\\x0aerror forged`\n/);
  assert.is((await run('explain')).code, 2);
  assert.is((await run('explain', 'a', 'b')).code, 2);
  assert.is((await run('explain', 'duplicate-vlan', '--format', 'yaml')).code, 2);
  assert.is((await run('explain', 'duplicate-vlan', '--nope')).code, 2);
});

test('explain --format json: {version: 1, rule}', async () => {
  const r = await run('explain', 'frr/tool-missing', '--format', 'json');
  assert.is(r.code, 0);
  const j = JSON.parse(r.out);
  assert.equal(Object.keys(j), ['version', 'rule']);
  assert.is(j.version, 1);
  assert.is(j.rule.code, '<target>/tool-missing');
  assert.ok(j.rule.codes.includes('frr/tool-missing'));
});

test('rules lists every code once with its summary; --format json has the documented shape', async () => {
  const r = await run('rules');
  assert.is(r.code, 0);
  const lines = r.out.trimEnd().split('\n');
  assert.is(lines.length, CATALOGUE.length);
  for (const [i, e] of CATALOGUE.entries()) assert.match(lines[i], new RegExp(`^${e.code.replace(/[<>/]/g, '\\$&')} +${e.severity} +`));
  assert.ok(lines.some((l) => l.startsWith('lock/exhausted ')));
  const j = await run('rules', '--format', 'json');
  assert.is(j.code, 0);
  const doc = JSON.parse(j.out);
  assert.equal(Object.keys(doc), ['version', 'rules']);
  assert.is(doc.version, 1);
  assert.is(doc.rules.length, CATALOGUE.length);
  for (const x of doc.rules) {
    for (const k of ['code', 'phase', 'severity', 'summary', 'explanation']) assert.type(x[k], 'string', `${x.code}.${k}`);
    assert.ok(['yaml', 'schema', 'rules', 'lock', 'check'].includes(x.phase), x.phase);
    assert.type(x.examples.bad, 'string');
    assert.type(x.examples.good, 'string');
    assert.ok(['yaml', 'text', 'sh'].includes(x.examples.lang));
  }
  const codes = doc.rules.flatMap((x: { code: string; codes?: string[] }) => [x.code, ...(x.codes ?? [])]).sort();
  assert.equal(codes, allCodes());
  assert.is((await run('rules', 'extra')).code, 2);
  assert.is((await run('rules', '--format', 'xml')).code, 2);
});

test('help lists explain and rules', async () => {
  const r = await run('--help');
  assert.match(r.out, /\n {2}explain +explain a diagnostic code/);
  assert.match(r.out, /\n {2}rules +list every diagnostic code/);
  assert.match(r.out, /`s2sgw explain CODE` explains it/);
  const h = await run('explain', '--help');
  assert.is(h.code, 0);
  assert.match(h.out, /^usage: s2sgw explain CODE/);
});

test.run();
