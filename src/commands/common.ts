// What the commands share: option parsing, printing diagnostics in the chosen format, and exit codes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Diagnostic } from '../model/diagnostics';
import { Format, formatGithub, formatJson, formatText } from '../model/format';
import type { SourceFile } from '../model/source';
import { UsageError } from '../util/usage';
import { environment } from '../util/env';
import { LOCK_FILE } from '../model/lock';
import { Options, Parsed, parseOptions } from '../util/options';

export const EXIT = { ok: 0, findings: 1, usage: 2, changes: 3 } as const;

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Colour for stdout: on a TTY unless NO_COLOR is set (or TERM=dumb). */
  color: boolean;
  /** Colour for stderr (text diagnostics, progress), by the same rule; `color` when absent. */
  errColor?: boolean;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** --quiet: only errors and the requested output. */
  quiet?: boolean;
  /** --verbose: more detail (e.g. every lock allocation). */
  verbose?: boolean;
  /** Progress of long work may go to stderr: stderr is a TTY (or S2SGW_TTY=1, tests only), not --quiet, not --format json. */
  progress?: boolean;
}

export interface Progress {
  /** Shows what is being done now (replacing the previous line). */
  step(what: string): void;
  /** Clears the line. */
  done(): void;
}

/**
 * Progress of long work on stderr, one line rewritten in place: only when io.progress (stderr is a terminal, or
 * S2SGW_TTY=1 in tests; never with --quiet or --format json), so logs and pipes never see it.
 */
export function progressLine(io: Io, command: string): Progress {
  if (!io.progress) return { step() {}, done() {} };
  const t0 = Date.now();
  let shown = false;
  return {
    step(what) {
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      io.err(`\r\x1b[K${command}: ${what} (${secs} s)`);
      shown = true;
    },
    done() {
      if (shown) io.err('\r\x1b[K');
      shown = false;
    },
  };
}

/** An informational line on stderr (a summary, a step): not with --quiet. */
export function note(io: Io, s: string): void {
  if (!io.quiet) io.err(s.endsWith('\n') ? s : s + '\n');
}

export function processIo(): Io {
  // A plain copy, read once: process.env answers each key with a scan of the whole environment (src/util/env.ts).
  const env = environment();
  return {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    color: !!process.stdout.isTTY && env.NO_COLOR === undefined && env.TERM !== 'dumb',
    errColor: !!process.stderr.isTTY && env.NO_COLOR === undefined && env.TERM !== 'dumb',
    progress: !!process.stderr.isTTY,
    env,
    cwd: process.cwd(),
  };
}

export interface Positional {
  name: string;
  description: string;
  optional?: boolean;
  /** The only words accepted (e.g. `completion bash`). */
  choices?: readonly string[];
}

export interface Command {
  name: string;
  summary: string;
  /** Ignored (kept so commands written before the option table compile): the usage line is made by usageOf(). */
  usage?: string;
  /** More lines for `s2sgw <command> --help`, each ending in a newline. */
  details?: string;
  /** The option table (src/util/options.ts): parsing, help, completion and docs/cli.md come from it. */
  options: Options;
  /** Bare arguments, in order (none unless listed). */
  positionals?: Positional[];
  /** The shape of `--format json` output, documented in docs/cli.md (a JSON example with "version": 1). */
  json?: string;
  /** Example command lines for the help. */
  examples?: string[];
  run(args: Parsed, io: Io): Promise<number>;
}

/** The usage line, from the table: required options and positionals bare, the rest in brackets. */
export function usageOf(cmd: Command): string {
  const parts = [`s2sgw ${cmd.name}`];
  for (const p of cmd.positionals ?? []) parts.push(p.optional ? `[${p.name}]` : p.name);
  for (const [n, o] of Object.entries(cmd.options)) {
    const flag = `--${n}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}${o.multiple ? ' ...' : ''}`;
    parts.push(o.required ? flag : `[${flag}]`);
  }
  return parts.join(' ');
}

export function parse(cmd: Command, argv: string[]): Parsed {
  const r = parseOptions(cmd.options, argv, usageOf(cmd), (cmd.positionals ?? []).length);
  (cmd.positionals ?? []).forEach((p, i) => {
    const v = r.positionals[i];
    if (v === undefined && !p.optional && !r.values.help) throw new UsageError(`missing ${p.name}`, `usage: ${usageOf(cmd)}`);
    if (v !== undefined && p.choices && !p.choices.includes(v)) throw new UsageError(`${p.name} must be one of ${p.choices.join(', ')}, got ${v}`, `usage: ${usageOf(cmd)}`);
  });
  return r;
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
    // Only the files a finding is in: a file validate took from the cache decodes its text when first asked (fromCache()).
    const wanted = new Set(diags.map((d) => d.file));
    const sources = new Map(files.filter((f) => wanted.has(f.path)).map((f) => [f.path, f.text]));
    if (lock !== undefined && typeof lock !== 'number') sources.set(LOCK_FILE, lock.toString());
    io.err(formatText(diags, { color: io.errColor ?? io.color, sources }));
  }
}

export function exists(p: string): boolean {
  return fs.existsSync(p);
}
