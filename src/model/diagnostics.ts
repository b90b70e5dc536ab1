// Diagnostics as plain data: every finding is one of these, printed later by src/model/format.ts.

/** A place in a source file; line and col are 1-based, file is relative to --config. */
export interface Place {
  file: string;
  line: number;
  col: number;
}

export interface Related extends Place {
  message: string;
}

export type Severity = 'error' | 'warning';

export interface Diagnostic extends Place {
  code: string;
  severity: Severity;
  message: string;
  hint?: string;
  related: Related[];
  /** Length of the span under the caret in the code frame (0 or absent: one caret). Not printed in JSON. */
  length?: number;
  /** Set when the span holds a secret: the code frame masks it. Not printed in JSON. */
  secret?: boolean;
  /** The secret itself (an inline secret the finding is about): every output masks it wherever it appears in the file. Never printed. */
  secretValue?: string;
}

export function error(code: string, at: Place & { length?: number }, message: string, extra: { hint?: string; related?: Related[]; secret?: boolean; secretValue?: string } = {}): Diagnostic {
  const d: Diagnostic = { code, severity: 'error', message, file: at.file, line: at.line, col: at.col, related: extra.related ?? [] };
  if (extra.hint !== undefined) d.hint = extra.hint;
  if (at.length) d.length = at.length;
  if (extra.secret) d.secret = true;
  if (extra.secretValue) d.secretValue = extra.secretValue;
  return d;
}

export function warning(code: string, at: Place, message: string, extra: { hint?: string; related?: Related[] } = {}): Diagnostic {
  return { ...error(code, at, message, extra), severity: 'warning' };
}

function comparePlace(a: Place, b: Place): number {
  return a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.col - b.col;
}

/** Sorted by file, line, column, then code and message, so the same input prints the same bytes. Duplicates dropped. */
export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const d of [...list].sort((a, b) => comparePlace(a, b) || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0) || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0))) {
    const key = `${d.file}\0${d.line}\0${d.col}\0${d.code}\0${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ ...d, related: [...d.related].sort(comparePlace) });
  }
  return out;
}

export function hasErrors(list: Diagnostic[]): boolean {
  return list.some((d) => d.severity === 'error');
}
