// What the commands share: option parsing, printing diagnostics in the chosen format, and exit codes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs, ParseArgsConfig } from 'node:util';
import type { Diagnostic } from '../compiler/diagnostics';
import { Format, formatGithub, formatJson, formatText } from '../compiler/format';
import type { SourceFile } from '../compiler/source';
import { UsageError } from '../usage';
import { environment } from '../env';
import { LOCK_FILE } from '../compiler/lock';

export const EXIT = { ok: 0, findings: 1, usage: 2, changes: 3 } as const;

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Colour on a TTY unless NO_COLOR is set. */
  color: boolean;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function processIo(): Io {
  // A plain copy, read once: process.env answers each key with a scan of the whole environment (src/env.ts).
  const env = environment();
  return {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    color: !!process.stdout.isTTY && env.NO_COLOR === undefined && env.TERM !== 'dumb',
    env,
    cwd: process.cwd(),
  };
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** More lines for `s2sgw <command> --help`, each ending in a newline. */
  details?: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(args: { values: Record<string, unknown>; positionals: string[] }, io: Io): Promise<number>;
}

export function parse(cmd: Command, argv: string[]): { values: Record<string, unknown>; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options: { ...cmd.options, help: { type: 'boolean', short: 'h' }, debug: { type: 'boolean' } }, allowPositionals: true, strict: true });
    return { values: r.values as Record<string, unknown>, positionals: r.positionals };
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\. To specify.*$/s, ''), `usage: ${cmd.usage}`);
  }
}

export function formatOption(values: Record<string, unknown>, allowed: string[]): string {
  const f = (values.format as string | undefined) ?? allowed[0];
  if (!allowed.includes(f)) throw new UsageError(`--format must be one of ${allowed.join(', ')}, got ${f}`);
  return f;
}

export function configDir(values: Record<string, unknown>, io: Io): string {
  return path.resolve(io.cwd, (values.config as string | undefined) ?? '.');
}

/** `lock`: allocations.lock.yaml as loaded, for code frames of lock/* findings. */
export function printDiagnostics(diags: Diagnostic[], format: Format, files: SourceFile[], io: Io, lock?: Buffer | number | string): void {
  if (format === 'json') io.out(formatJson(diags));
  else if (format === 'github') io.out(formatGithub(diags));
  else {
    const sources = new Map(files.map((f) => [f.path, f.text]));
    if (lock !== undefined && typeof lock !== 'number') sources.set(LOCK_FILE, lock.toString());
    io.err(formatText(diags, { color: io.color, sources }));
  }
}

/** The --cache-dir paragraph of validate's, build's and plan's --help. */
export const CACHE_HELP =
  '--cache-dir DIR (or S2SGW_CACHE_DIR=DIR): keep each tenant\'s checked model and rendered sections in DIR\n' +
  'between runs, so an unchanged tenant is not parsed, checked or rendered again. Output is the same\n' +
  'with or without it; damaged or stale entries are rebuilt; a DIR that cannot be written is a warning.\n' +
  'No cache without the option.\n';

export function exists(p: string): boolean {
  return fs.existsSync(p);
}
