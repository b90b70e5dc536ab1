// The option table: every command's options with description, value name, default, choices and example. Parsing
// (node's util.parseArgs), --help, `s2sgw help <command>`, usage errors with near-miss suggestions, the bash
// completion and docs/cli.md are all generated from it, so a new option is one entry in its command's `options`.
import { parseArgs } from 'node:util';
import { UsageError } from './usage';

export interface Option {
  type: 'string' | 'boolean';
  short?: string;
  /** May be given more than once (values arrive as a list). */
  multiple?: boolean;
  /**
   * One line for --help and docs/cli.md. Optional for the type checker only, so a command written against the older
   * table still compiles: test/cli.test.ts fails, naming the option, until it has one.
   */
  description?: string;
  /** How the value is shown: `--config DIR`. Defaults to VALUE. */
  value?: string;
  /** What is used when the option is absent, as text for the help (parsing does not apply it: the command does). */
  default?: string;
  /** The only values accepted; anything else is a usage error with a near-miss suggestion. */
  choices?: readonly string[];
  /** An example of the option in use, e.g. `--confirm 120`. */
  example?: string;
  /** The command refuses to run without it: parseOptions makes its absence a usage error (shown without brackets in the usage line). */
  required?: boolean;
  /** What bash completes for the value; derived from the value name when absent (DIR: folders, FILE: files). */
  complete?: 'dir' | 'file' | 'none';
}

export type Options = Record<string, Option>;

/** Options every command takes. */
export const COMMON_OPTIONS: Options = {
  help: { type: 'boolean', short: 'h', description: 'print this help and exit' },
  debug: { type: 'boolean', description: 'print the stack of an internal error' },
  quiet: { type: 'boolean', short: 'q', description: 'print only errors and the requested output (no progress, no summaries)' },
  verbose: { type: 'boolean', short: 'v', description: 'print more detail: every lock allocation (build), every host command as it ran (apply, confirm, rollback, recover, status, drain)' },
};

// ---- shared entries --------------------------------------------------------------------------------------
export const CONFIG: Options = {
  config: { type: 'string', short: 'c', value: 'DIR', default: '.', description: 'the config repository (gateways/, tenants/, allocations.lock.yaml)', example: '--config ./netconfig' },
};

export function format(choices: readonly string[], description = 'output format'): Options {
  return { format: { type: 'string', short: 'f', value: choices.join('|'), choices, default: choices[0], description } };
}

export const CACHE_DIR: Options = {
  'cache-dir': {
    type: 'string',
    value: 'DIR',
    description: 'keep each tenant\'s checked model and rendered sections in DIR between runs (also S2SGW_CACHE_DIR); output is the same with or without it',
    example: '--cache-dir .s2sgw-cache',
  },
};

/** The --cache-dir paragraph of validate's, build's and plan's --help. */
export const CACHE_HELP =
  '--cache-dir DIR (or S2SGW_CACHE_DIR=DIR): keep each tenant\'s checked model and rendered sections in DIR\n' +
  'between runs, so an unchanged tenant is not parsed, checked or rendered again. Output is the same\n' +
  'with or without it; damaged or stale entries are rebuilt; a DIR that cannot be written is a warning.\n' +
  'No cache without the option.\n';

export const GATEWAYS: Options = {
  gateway: { type: 'string', short: 'g', multiple: true, value: 'NAME', description: 'only this gateway (repeatable); default all', example: '--gateway gw1' },
};

/** All options of a command, its own first, then the common ones. */
export function allOptions(opts: Options): Options {
  return { ...opts, ...COMMON_OPTIONS };
}

// ---- parsing ---------------------------------------------------------------------------------------------
/** Edit distance, for "did you mean". */
export function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.length][b.length];
}

/** The closest of `known` to `word` (a typo or a prefix), or undefined when nothing is close. */
export function nearest(word: string, known: readonly string[]): string | undefined {
  const prefixed = known.filter((k) => word.length >= 2 && k.startsWith(word));
  if (prefixed.length === 1) return prefixed[0];
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const dd = distance(word, k);
    if (dd < bestD) [best, bestD] = [k, dd];
  }
  return best !== undefined && bestD <= Math.max(1, Math.min(3, Math.floor(best.length / 3))) ? best : undefined;
}

export interface Parsed {
  values: Record<string, unknown>;
  positionals: string[];
}

/**
 * Parses argv against a command's table with util.parseArgs (strict). Unknown options, missing values, values
 * outside `choices`, missing `required` options (unless --help) and unexpected arguments are UsageErrors (exit 2),
 * with a near-miss suggestion where there is one.
 * `positionals`: how many bare arguments the command takes (0 unless it says so).
 */
export function parseOptions(opts: Options, argv: string[], usage: string, positionals = 0): Parsed {
  const all = allOptions(opts);
  const config = Object.fromEntries(Object.entries(all).map(([n, o]) => [n, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }]));
  let r;
  try {
    r = parseArgs({ args: argv, options: config, allowPositionals: true, strict: true });
  } catch (e) {
    const err = e as Error & { code?: string };
    const names = Object.keys(all);
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const m = /Unknown option '(-{1,2})([^']*)'/.exec(err.message);
      const word = m ? m[2].replace(/=.*$/, '') : '';
      const near = m && m[1] === '--' ? nearest(word, names) : undefined;
      throw new UsageError(`unknown option ${m ? `${m[1]}${word}` : ''}${near ? ` (did you mean --${near}?)` : ''}`.replace(/ $/, ''), `usage: ${usage}`);
    }
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const m = /Option '(?:-\w, )?--([\w-]+)/.exec(err.message);
      const o = m ? all[m[1]] : undefined;
      if (o && o.type === 'string') throw new UsageError(`--${m![1]} needs a value (${o.value ?? 'VALUE'})`, `usage: ${usage}`);
      if (o) throw new UsageError(`--${m![1]} takes no value`, `usage: ${usage}`);
    }
    throw new UsageError(err.message.replace(/\. To specify.*$/s, ''), `usage: ${usage}`);
  }
  const values = r.values as Record<string, unknown>;
  for (const [n, o] of Object.entries(all)) {
    if (!o.choices || values[n] === undefined) continue;
    for (const v of ([] as unknown[]).concat(values[n])) {
      if (typeof v === 'string' && !o.choices.includes(v)) {
        const near = nearest(v, o.choices);
        throw new UsageError(`--${n} must be one of ${o.choices.join(', ')}, got ${v}${near ? ` (did you mean ${near}?)` : ''}`, `usage: ${usage}`);
      }
    }
  }
  // Required options, after the checks above so a typo in one (--agaisnt) is named as such, not as a missing option.
  // --help needs none. An empty value (--against '') counts as missing: no command can use it.
  if (!values.help) {
    const missing = Object.entries(all).filter(([n, o]) => o.required && (values[n] === undefined || values[n] === '' || (Array.isArray(values[n]) && !(values[n] as unknown[]).length)));
    if (missing.length) {
      const named = missing.map(([n, o]) => `--${n}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`);
      const examples = missing.map(([, o]) => o.example).filter(Boolean);
      throw new UsageError(
        `missing required option${missing.length > 1 ? 's' : ''} ${named.join(missing.length > 2 ? ', ' : ' and ').replace(/, ([^,]*)$/, ' and $1')}`,
        `usage: ${usage}${examples.length === missing.length ? ` (e.g. ${examples.join(' ')})` : ''}`,
      );
    }
  }
  if (r.positionals.length > positionals) {
    const extra = r.positionals[positionals];
    const near = extra.startsWith('-') ? undefined : nearest(extra, Object.keys(all));
    throw new UsageError(`unexpected argument ${JSON.stringify(extra)}${near ? ` (did you mean --${near}?)` : ''}`, `usage: ${usage}`);
  }
  return { values, positionals: r.positionals };
}
