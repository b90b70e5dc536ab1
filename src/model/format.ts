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

const SECRET_KEY = /(^|[\s{,-])(psk|secret|password|passphrase)(\s*:)([ \t]*)/g;
const REF = /^(env:[A-Za-z_][A-Za-z0-9_]*|file:\/[^\s"'\\;{}#,]+)$/;

/**
 * The text with the value of every `psk:`, `secret:` (or `password:`) key starred out (same length, so carets
 * still line up), unless it is an env:/file: reference. Line-based, so it also works on text
 * that is not valid YAML; block and multi-line values are starred to their end.
 */
export function maskSecrets(text: string): string {
  const lines = text.split('\n');
  let blockIndent = -1; // > -1: inside a multi-line secret value whose key sits at this column
  let openQuote = ''; // inside a quoted secret value that goes on past its line
  // Leading indentation stays (so block lines keep their shape); everything after it is starred.
  const star = (s: string) => s.replace(/\S.*$/, (m) => '*'.repeat(m.length));
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    if (openQuote) {
      const end = line.indexOf(openQuote);
      if (end < 0) {
        lines[i] = star(line);
        continue;
      }
      line = star(line.slice(0, end)) + line.slice(end);
      openQuote = '';
    }
    if (blockIndent >= 0) {
      const indent = line.length - line.trimStart().length;
      if (line.trim() === '' || indent > blockIndent) {
        lines[i] = star(line);
        continue;
      }
      blockIndent = -1;
    }
    let out = '';
    let from = 0;
    SECRET_KEY.lastIndex = 0;
    for (let m = SECRET_KEY.exec(line); m; m = SECRET_KEY.exec(line)) {
      const start = m.index + m[0].length;
      const flow = /[{,]\s*$/.test(line.slice(0, m.index + m[1].length)) || /^[{,]/.test(m[1]);
      const rest = line.slice(start);
      let len: number;
      if (rest[0] === '"' || rest[0] === "'") {
        const close = rest.indexOf(rest[0], 1);
        if (close < 0) openQuote = rest[0];
        len = close < 0 ? rest.length : close + 1;
      } else if (/^[|>]/.test(rest) || /^(#.*)?$/.test(rest)) {
        // Block scalar, or a value on the following lines.
        blockIndent = m.index + m[1].length;
        len = 0;
      } else {
        const stop = rest.search(flow ? /\s+#|[,}]/ : /\s+#/);
        len = stop < 0 ? rest.length : stop;
        while (len > 0 && /\s/.test(rest[len - 1])) len--;
      }
      const value = rest.slice(0, len);
      const bare = value.replace(/^["']|["']$/g, '');
      out += line.slice(from, start) + (REF.test(bare) ? value : star(value));
      from = start + len;
      SECRET_KEY.lastIndex = from;
    }
    lines[i] = out + line.slice(from);
  }
  return lines.join('\n');
}

/** A few lines around line:col with a caret (or carets over `length` characters); every secret value masked. */
export function codeFrame(text: string, line: number, col: number, length = 1, mask = false, color = false): string {
  return frameOf(maskSecrets(text).split('\n'), line, col, length, mask, color);
}

/** codeFrame() over a file's lines already masked: formatText masks each file once, not once per diagnostic (12,000 findings in one file took 54 s). */
function frameOf(lines: string[], line: number, col: number, length: number, mask: boolean, color: boolean): string {
  const c = style(color);
  const from = Math.max(1, line - 2);
  const to = Math.min(lines.length, line + 1);
  const width = String(to).length;
  const out: string[] = [];
  for (let n = from; n <= to; n++) {
    let src = (lines[n - 1] ?? '').replace(/\r$/, '');
    // The diagnostic's own span holds a secret: star it out whatever key it sits under.
    if (mask && n === line) src = src.slice(0, col - 1) + src.slice(col - 1, col - 1 + length).replace(/[^\s]/g, '*') + src.slice(col - 1 + length);
    const gutter = `${n === line ? '>' : ' '} ${String(n).padStart(width)} | `;
    out.push((n === line ? c.bold(gutter) : c.dim(gutter)) + src);
    if (n === line) out.push(`  ${' '.repeat(width)} | ${' '.repeat(Math.max(0, col - 1))}${c.red('^'.repeat(Math.max(1, length)))}`);
  }
  return out.join('\n');
}

/** Every inline secret the findings are about: each output stars it out wherever it appears. */
function secretsOf(diags: Diagnostic[]): string[] {
  return [...new Set(diags.map((d) => d.secretValue).filter((v): v is string => !!v))].sort((a, b) => b.length - a.length);
}

/** The text with every occurrence of each secret starred out, same length (so columns still line up). */
export function starOut(text: string, secrets: string[]): string {
  for (const s of secrets) if (text.includes(s)) text = text.split(s).join('*'.repeat(s.length));
  return text;
}

/**
 * Text from a finding as it may be printed on a line: control characters and line breaks escaped (a key or
 * file name holding "\n::add-mask::" must not start a line a CI runner obeys, nor an escape sequence reach
 * the terminal), and every inline secret starred out.
 */
export function clean(text: string, secrets: string[] = []): string {
  return starOut(text, secrets).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (ch) => `\\x${ch.charCodeAt(0) < 256 ? ch.charCodeAt(0).toString(16).padStart(2, '0') : ch.charCodeAt(0).toString(16)}`);
}

/** The same diagnostics with every printed text cleaned (clean()). */
function cleaned(diags: Diagnostic[]): Diagnostic[] {
  const secrets = secretsOf(diags);
  const cl = (s: string) => clean(s, secrets);
  return diags.map((d) => ({ ...d, file: cl(d.file), code: cl(d.code), message: cl(d.message), ...(d.hint !== undefined ? { hint: cl(d.hint) } : {}), related: d.related.map((r) => ({ ...r, file: cl(r.file), message: cl(r.message) })) }));
}

export function formatText(all: Diagnostic[], opts: TextOptions): string {
  const c = style(opts.color);
  const blocks: string[] = [];
  const secrets = secretsOf(all);
  const diags = cleaned(all);
  const masked = new Map<string, string[]>();
  // A source line may hold any character but a line break: tabs stay, other control characters show as \uFFFD (one column, so carets line up).
  const linesOf = (file: string, text: string) => {
    let lines = masked.get(file);
    if (!lines) masked.set(file, (lines = starOut(maskSecrets(text), secrets).split('\n').map((l) => l.replace(/\r$/, '').replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g, '\ufffd'))));
    return lines;
  };
  for (let i = 0; i < diags.length; i++) {
    const d = diags[i];
    const sev = d.severity === 'error' ? c.red(c.bold('error')) : c.yellow(c.bold('warning'));
    const lines = [`${c.bold(`${d.file}:${d.line}:${d.col}`)}: ${sev} ${c.cyan(d.code)}: ${d.message}`];
    const text = opts.sources.get(all[i].file);
    if (text !== undefined && text.length) lines.push(frameOf(linesOf(all[i].file, text), d.line, d.col, d.length ?? 1, !!d.secret, opts.color));
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
export function formatGithub(all: Diagnostic[]): string {
  const out: string[] = [];
  const diags = cleaned(all);
  for (const d of diags) {
    const kind = d.severity === 'error' ? 'error' : 'warning';
    const msg = d.hint ? `${d.message} (${d.hint})` : d.message;
    out.push(`::${kind} file=${ghProp(d.file)},line=${d.line},col=${d.col},title=${ghProp(d.code)}::${ghData(msg)}`);
    for (const r of d.related) out.push(`::${kind} file=${ghProp(r.file)},line=${r.line},col=${r.col},title=${ghProp(d.code)}::${ghData(`${r.message} (related to ${d.file}:${d.line}:${d.col}: ${d.message})`)}`);
  }
  return out.length ? out.join('\n') + '\n' : '';
}

/** The contract's JSON shape; internal fields (length, secret) are left out. */
export function toJson(all: Diagnostic[]): object {
  // JSON escapes control characters itself; the secrets are starred out all the same.
  const secrets = secretsOf(all);
  const diags = secrets.length ? all.map((d) => ({ ...d, message: starOut(d.message, secrets), ...(d.hint !== undefined ? { hint: starOut(d.hint, secrets) } : {}), related: d.related.map((r) => ({ ...r, message: starOut(r.message, secrets) })) })) : all;
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
export function formatLines(all: Diagnostic[]): string {
  const out: string[] = [];
  const diags = cleaned(all);
  for (const d of diags) {
    out.push(`${d.file}:${d.line}:${d.col}: ${d.severity} ${d.code}: ${d.message}`);
    for (const r of d.related) out.push(`${r.file}:${r.line}:${r.col}: related ${d.code}: ${r.message}`);
  }
  return out.join('\n') + (out.length ? '\n' : '');
}
