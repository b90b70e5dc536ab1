// Prints diagnostics three ways (text with code frames, GitHub annotations, JSON) plus the one-line-per-place form golden files use.
import type { Diagnostic } from './diagnostics';

export type Format = 'text' | 'json' | 'github';

export interface TextOptions {
  color: boolean;
  /** File contents by path, for code frames; a file not given prints no frame. */
  sources: Map<string, string>;
}

const style = (on: boolean) => ({
  red: (s: string) => (on ? `\x1b[31m${s}\x1b[39m` : s),
  yellow: (s: string) => (on ? `\x1b[33m${s}\x1b[39m` : s),
  bold: (s: string) => (on ? `\x1b[1m${s}\x1b[22m` : s),
  dim: (s: string) => (on ? `\x1b[2m${s}\x1b[22m` : s),
  cyan: (s: string) => (on ? `\x1b[36m${s}\x1b[39m` : s),
});

/** A few lines around line:col with a caret (or carets over `length` characters); secrets masked. */
export function codeFrame(text: string, line: number, col: number, length = 1, mask = false, color = false): string {
  const c = style(color);
  const lines = text.split('\n');
  const from = Math.max(1, line - 2);
  const to = Math.min(lines.length, line + 1);
  const width = String(to).length;
  const out: string[] = [];
  for (let n = from; n <= to; n++) {
    let src = (lines[n - 1] ?? '').replace(/\r$/, '');
    if (mask && n === line) src = src.slice(0, col - 1) + '*'.repeat(Math.max(1, length)) + src.slice(col - 1 + length);
    if (mask && n !== line) src = src.replace(/(psk|secret)(\s*:\s*).*/, '$1$2…');
    const gutter = `${n === line ? '>' : ' '} ${String(n).padStart(width)} | `;
    out.push((n === line ? c.bold(gutter) : c.dim(gutter)) + src);
    if (n === line) out.push(`  ${' '.repeat(width)} | ${' '.repeat(Math.max(0, col - 1))}${c.red('^'.repeat(Math.max(1, length)))}`);
  }
  return out.join('\n');
}

export function formatText(diags: Diagnostic[], opts: TextOptions): string {
  const c = style(opts.color);
  const blocks: string[] = [];
  for (const d of diags) {
    const sev = d.severity === 'error' ? c.red(c.bold('error')) : c.yellow(c.bold('warning'));
    const lines = [`${c.bold(`${d.file}:${d.line}:${d.col}`)}: ${sev} ${c.cyan(d.code)}: ${d.message}`];
    const text = opts.sources.get(d.file);
    if (text !== undefined && text.length) lines.push(codeFrame(text, d.line, d.col, d.length ?? 1, d.secret, opts.color));
    if (d.hint) lines.push(`  ${c.bold('hint')}: ${d.hint}`);
    for (const r of d.related) lines.push(`  ${c.dim('related')}: ${r.file}:${r.line}:${r.col}: ${r.message}`);
    blocks.push(lines.join('\n'));
  }
  const errors = diags.filter((d) => d.severity === 'error').length;
  const warnings = diags.length - errors;
  if (!diags.length) return '';
  return `${blocks.join('\n\n')}\n\n${errors} error${errors === 1 ? '' : 's'}${warnings ? `, ${warnings} warning${warnings === 1 ? '' : 's'}` : ''}\n`;
}

function ghData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
function ghProp(s: string): string {
  return ghData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** One `::error` (or `::warning`) workflow command per place. */
export function formatGithub(diags: Diagnostic[]): string {
  const out: string[] = [];
  for (const d of diags) {
    const kind = d.severity === 'error' ? 'error' : 'warning';
    const msg = d.hint ? `${d.message} (${d.hint})` : d.message;
    out.push(`::${kind} file=${ghProp(d.file)},line=${d.line},col=${d.col},title=${ghProp(d.code)}::${ghData(msg)}`);
    for (const r of d.related) out.push(`::${kind} file=${ghProp(r.file)},line=${r.line},col=${r.col},title=${ghProp(d.code)}::${ghData(`${r.message} (related to ${d.file}:${d.line}:${d.col}: ${d.message})`)}`);
  }
  return out.length ? out.join('\n') + '\n' : '';
}

/** The contract's JSON shape; internal fields (length, secret) are left out. */
export function toJson(diags: Diagnostic[]): object {
  return {
    diagnostics: diags.map((d) => ({
      code: d.code,
      severity: d.severity,
      message: d.message,
      file: d.file,
      line: d.line,
      col: d.col,
      ...(d.hint !== undefined ? { hint: d.hint } : {}),
      related: d.related.map((r) => ({ file: r.file, line: r.line, col: r.col, message: r.message })),
    })),
  };
}

export function formatJson(diags: Diagnostic[]): string {
  return JSON.stringify(toJson(diags), null, 2) + '\n';
}

/** One line per place: what golden errors.txt files hold. */
export function formatLines(diags: Diagnostic[]): string {
  const out: string[] = [];
  for (const d of diags) {
    out.push(`${d.file}:${d.line}:${d.col}: ${d.severity} ${d.code}: ${d.message}`);
    for (const r of d.related) out.push(`${r.file}:${r.line}:${r.col}: related ${d.code}: ${r.message}`);
  }
  return out.join('\n') + (out.length ? '\n' : '');
}
