// Text made from the option table (src/util/options.ts): a command's --help, the bash completion and docs/cli.md.
import { Command, usageOf } from './common';
import { COMMON_OPTIONS, Option, Options } from '../util/options';

function flag(name: string, o: Option): string {
  return `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
}

function notes(o: Option): string[] {
  return [
    o.required ? 'required' : '',
    o.multiple ? 'repeatable' : '',
    o.default !== undefined ? `default: ${o.default}` : '',
    o.example ? `e.g. ${o.example}` : '',
  ].filter(Boolean);
}

function optionLines(opts: Options): string[] {
  const rows = Object.entries(opts).map(([n, o]) => [flag(n, o), (o.description ?? '') + (notes(o).length ? ` (${notes(o).join('; ')})` : '')]);
  const width = Math.min(32, Math.max(...rows.map(([f]) => f.length)));
  return rows.map(([f, d]) => (f.length > width ? `  ${f}\n  ${''.padEnd(width)}  ${d}` : `  ${f.padEnd(width)}  ${d}`));
}

/** `s2sgw <command> --help` and `s2sgw help <command>`. */
export function commandHelp(cmd: Command): string {
  const pos = cmd.positionals ?? [];
  return [
    `usage: ${usageOf(cmd)}`,
    '',
    cmd.summary,
    ...(pos.length ? ['', 'arguments:', ...pos.map((p) => `  ${p.name.padEnd(12)}  ${p.description}${p.choices ? ` (one of ${p.choices.join(', ')})` : ''}${p.optional ? ' (optional)' : ''}`)] : []),
    ...(Object.keys(cmd.options).length ? ['', 'options:', ...optionLines(cmd.options)] : []),
    '',
    'common options:',
    ...optionLines(COMMON_OPTIONS),
    ...(cmd.examples?.length ? ['', 'examples:', ...cmd.examples.map((e) => `  ${e}`)] : []),
    ...(cmd.details ? ['', cmd.details.replace(/\n$/, '')] : []),
    '',
  ].join('\n');
}

/** What bash completes for an option's value. */
function completeValue(o: Option): string {
  if (o.choices) return `COMPREPLY=($(compgen -W '${o.choices.join(' ')}' -- "$cur"))`;
  const how = o.complete ?? (/DIR/.test(o.value ?? '') ? 'dir' : /FILE/.test(o.value ?? '') ? 'file' : 'none');
  if (how === 'dir') return 'COMPREPLY=($(compgen -d -- "$cur"))';
  if (how === 'file') return 'COMPREPLY=($(compgen -f -- "$cur"))';
  return 'COMPREPLY=()';
}

/** `s2sgw completion bash`: commands, options, choices and folder/file values, all from the table. */
export function completionBash(cmds: Command[]): string {
  return [
    '# bash completion for s2sgw, generated from its option table (s2sgw completion bash).',
    '# Install: s2sgw completion bash > /etc/bash_completion.d/s2sgw  (or: source <(s2sgw completion bash))',
    '_s2sgw() {',
    '  local cur prev cmd',
    '  cur="${COMP_WORDS[COMP_CWORD]}"',
    '  prev="${COMP_WORDS[COMP_CWORD-1]}"',
    '  cmd="${COMP_WORDS[1]}"',
    '  if [ "$COMP_CWORD" -eq 1 ]; then',
    `    COMPREPLY=($(compgen -W '${[...cmds.map((c) => c.name), 'help', '--help', '--version'].join(' ')}' -- "$cur"))`,
    '    return',
    '  fi',
    '  case "$cmd" in',
    '    help)',
    `      COMPREPLY=($(compgen -W '${cmds.map((c) => c.name).join(' ')}' -- "$cur"))`,
    '      ;;',
    ...cmds.flatMap((c) => {
      // Required options first: what `s2sgw plan <TAB>` offers starts with what the command cannot run without.
      const all = Object.entries({ ...c.options, ...COMMON_OPTIONS });
      const opts = [...all.filter(([, o]) => o.required), ...all.filter(([, o]) => !o.required)];
      const valued = opts.filter(([, o]) => o.type === 'string');
      const words = [...(c.positionals ?? []).flatMap((p) => p.choices ?? []), ...opts.map(([n]) => `--${n}`)];
      return [
        `    ${c.name})`,
        ...(valued.length ? ['      case "$prev" in', ...valued.map(([n, o]) => `        --${n}${o.short ? `|-${o.short}` : ''}) ${completeValue(o)}; return ;;`), '      esac'] : []),
        `      COMPREPLY=($(compgen -W '${words.join(' ')}' -- "$cur"))`,
        '      ;;',
      ];
    }),
    '  esac',
    '}',
    'complete -F _s2sgw s2sgw',
    '',
  ].join('\n');
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

/** docs/cli.md: every command, its usage, options, and JSON shape (test/cli.test.ts keeps it current; UPDATE=1 rewrites it). */
export function cliMarkdown(cmds: Command[], general: string): string {
  const table = (opts: Options) => [
    '| option | value | description | default | example |',
    '|---|---|---|---|---|',
    ...Object.entries(opts).map(([n, o]) =>
      `| ${o.short ? `\`-${o.short}\`, ` : ''}\`--${n}\`${o.required ? ' (required)' : ''}${o.multiple ? ' (repeatable)' : ''} | ${o.type === 'string' ? `\`${cell(o.value ?? 'VALUE')}\`` : ''} | ${cell(o.description ?? '')}${o.choices ? ` (one of ${o.choices.map((c) => `\`${c}\``).join(', ')})` : ''} | ${o.default !== undefined ? `\`${cell(o.default)}\`` : ''} | ${o.example ? `\`${cell(o.example)}\`` : ''} |`,
    ),
  ];
  return [
    '# s2sgw command line',
    '',
    '<!-- Generated from the option table (src/util/options.ts and each src/commands/*.ts) by',
    '     `UPDATE=1 node scripts/test.js \'^cli\\.test\\.js$\'`; test/cli.test.ts fails when this file is stale. -->',
    '',
    '```',
    general.trimEnd(),
    '```',
    '',
    'Usage errors (an unknown option or command, a missing value, a value outside an option\'s choices, a missing',
    'required option) print one line naming the problem, a near-miss suggestion when there is one (`did you mean',
    '--confirm?`) and the usage line, and exit 2.',
    '',
    'Colour is used only when the stream written to is a terminal, and never when `NO_COLOR` is set or `TERM=dumb`.',
    'Progress of long work (building or planning many tenants, a full apply) goes to stderr only when stderr is a',
    'terminal, never with `--format json` or `--quiet`. `S2SGW_TTY=1` makes s2sgw treat stderr as a terminal (for tests',
    'of the progress output only).',
    '',
    '## Options every command takes',
    '',
    ...table(COMMON_OPTIONS),
    '',
    ...cmds.flatMap((c) => [
      `## ${c.name}`,
      '',
      c.summary.charAt(0).toUpperCase() + c.summary.slice(1) + '.',
      '',
      '```',
      usageOf(c),
      '```',
      '',
      ...((c.positionals ?? []).length ? [...(c.positionals ?? []).map((p) => `- \`${p.name}\`: ${p.description}${p.choices ? ` (one of ${p.choices.map((x) => `\`${x}\``).join(', ')})` : ''}${p.optional ? ' (optional)' : ''}`), ''] : []),
      ...(Object.keys(c.options).length ? [...table(c.options), ''] : []),
      ...(c.examples?.length ? ['Examples:', '', '```', ...c.examples, '```', ''] : []),
      ...(c.json ? ['`--format json` prints:', '', '```json', c.json.trimEnd(), '```', ''] : []),
    ]),
  ].join('\n');
}
