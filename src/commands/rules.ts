// `s2sgw rules`: every diagnostic code with its one-line summary; `--format json` for tools.
import { CATALOGUE } from '../validate/catalogue';
import { UsageError } from '../util/usage';
import { Command, EXIT, formatOption } from './common';
import { format as formatOpt } from '../util/options';
import { entryJson } from './explain';

export const command: Command = {
  name: 'rules',
  summary: 'list every diagnostic code with its one-line summary',
  details:
    'Text: one line per code, CODE SEVERITY SUMMARY, in the order of docs/rules.md (YAML, schema, rules,\n' +
    'lock file, checks of the generated files). `s2sgw explain CODE` prints one in full.\n' +
    '--format json prints {"version":1,"rules":[{code, codes?, phase, severity, summary, explanation,\n' +
    'examples:{lang, bad, good}}]}; docs/rules.md describes the shape.\n',
  options: { ...formatOpt(['text', 'json'], 'text: CODE SEVERITY SUMMARY per line; json: {"version":1,"rules":[...]}') },
  json: `{"version": 1, "rules": [{"code": "duplicate-vlan", "phase": "rules", "severity": "error", "summary": "...",
  "explanation": "...", "examples": {"lang": "yaml", "bad": "...", "good": "..."}, "codes": ["..."]}]}
// "codes": the concrete codes of a family entry (frr/check's family <target>/check), absent otherwise`,
  examples: ['s2sgw rules', 's2sgw rules --format json'],
  async run({ values, positionals }, io) {
    const format = formatOption(values, ['text', 'json']);
    if (positionals.length) throw new UsageError(`rules takes no arguments, got \`${positionals[0]}\``, `to see one code: s2sgw explain ${positionals[0]}`);
    if (format === 'json') {
      io.out(`${JSON.stringify({ version: 1, rules: CATALOGUE.map(entryJson) }, null, 2)}\n`);
      return EXIT.ok;
    }
    const width = Math.max(...CATALOGUE.map((e) => e.code.length));
    const sev = Math.max(...CATALOGUE.map((e) => e.severity.length));
    io.out(CATALOGUE.map((e) => `${e.code.padEnd(width)}  ${e.severity.padEnd(sev)}  ${e.summary}\n`).join(''));
    return EXIT.ok;
  },
};
