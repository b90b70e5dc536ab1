// `s2sgw explain CODE`: a diagnostic code's long explanation with a bad and a good example (as `rustc --explain`).
import { closest, distance } from 'fastest-levenshtein';
import { allCodes, CatalogueEntry, lookup } from '../validate/catalogue';
import { UsageError } from '../util/usage';
import { Command, EXIT, formatOption } from './common';
import { format as formatOpt } from '../util/options';

/** The entry as JSON (`explain --format json` and `rules --format json`): version 1 of the shape in docs/rules.md. */
export function entryJson(e: CatalogueEntry): Record<string, unknown> {
  return {
    code: e.code,
    ...(e.codes ? { codes: e.codes } : {}),
    phase: e.phase,
    severity: e.severity,
    summary: e.summary,
    explanation: e.explanation,
    examples: { lang: e.lang ?? 'yaml', bad: e.bad, good: e.good },
  };
}

/** The entry as text: a heading, the explanation, then the two examples indented. */
export function entryText(e: CatalogueEntry): string {
  const indent = (s: string) => s.split('\n').map((l) => (l ? `    ${l}` : '')).join('\n');
  return [
    `${e.code} (${e.severity}): ${e.summary}`,
    ...(e.codes ? [`codes: ${e.codes.join(', ')}`] : []),
    '',
    e.explanation,
    '',
    e.lang === 'sh' || e.lang === 'text' ? 'What it looks like:' : 'Bad:',
    indent(e.bad),
    '',
    e.lang === 'sh' || e.lang === 'text' ? 'After the fix:' : 'Good:',
    indent(e.good),
    '',
  ].join('\n');
}

/** The entry for CODE, or a usage error that names the nearest known code. */
export function find(asked: string): CatalogueEntry {
  // As copied from a finding (`error duplicate-vlan:`) or from docs (`\`frr/check\``).
  const code = asked.trim().replace(/^`|`?:?$/g, '').replace(/`$/, '');
  const codes = allCodes().filter((c) => !c.includes('<'));
  for (const c of [code, code.toLowerCase()]) if (allCodes().includes(c)) return lookup(c)!;
  const near = closest(code.toLowerCase(), codes);
  const isNear = near !== undefined && distance(code.toLowerCase(), near) <= 2;
  // A computed code (schema/<keyword>) that is not a typo of a known one.
  const computed = isNear ? undefined : lookup(code) ?? lookup(code.toLowerCase());
  if (computed) return computed;
  const shown = asked.slice(0, 60).replace(/[\u0000-\u001f\u007f-\u009f]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
  throw new UsageError(`unknown diagnostic code \`${shown}\``, `${isNear ? `did you mean \`${near}\`? ` : ''}\`s2sgw rules\` lists every code`);
}

export const command: Command = {
  name: 'explain',
  summary: "explain a diagnostic code: what it means, how to fix it, a bad and a good example",
  positionals: [{ name: 'CODE', description: 'a diagnostic code as a finding prints it (duplicate-vlan, frr/check, lock/would-change)' }],
  details:
    'CODE is what a finding prints after its severity, e.g. `s2sgw explain duplicate-vlan` or\n' +
    '`s2sgw explain frr/check`. `s2sgw rules` lists every code; docs/rules.md holds the same texts.\n' +
    '--format json prints {"version":1,"rule":{...}}, one entry of `s2sgw rules --format json`.\n',
  options: { ...formatOpt(['text', 'json'], 'text: the explanation with its examples; json: {"version":1,"rule":{...}}') },
  json: `{"version": 1, "rule": {"code": "duplicate-vlan", "phase": "rules", "severity": "error", "summary": "...",
  "explanation": "...", "examples": {"lang": "yaml", "bad": "...", "good": "..."}}}`,
  examples: ['s2sgw explain duplicate-vlan', 's2sgw explain frr/check --format json'],
  async run({ values, positionals }, io) {
    const format = formatOption(values, ['text', 'json']);
    if (positionals.length !== 1) throw new UsageError(positionals.length ? `explain takes one code, got ${positionals.length}` : 'explain needs a code', `usage: ${command.usage}`);
    const e = find(positionals[0]);
    io.out(format === 'json' ? `${JSON.stringify({ version: 1, rule: entryJson(e) }, null, 2)}\n` : entryText(e));
    return EXIT.ok;
  },
};
