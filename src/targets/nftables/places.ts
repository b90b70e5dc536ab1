// Maps a line of a rendered file back to where it came from: the `comment "file:line"` on the line, else its section's origin.
import type { Place } from '../../model/diagnostics';
import type { Tenant } from '../../model/model';
import type { RenderedFile, Section } from '../target';

/** Where the bundle's copy of a file is reported: out/<gateway>/<path>, as `s2sgw build` writes it by default. */
export function bundlePlace(gateway: string, path: string, line: number, col = 1): Place {
  return { file: `out/${gateway}/${path}`, line, col };
}

/** The section holding 1-based line `line` of a rendered file, and that line's text. */
export function lineAt(file: RenderedFile, line: number): { section?: Section; text: string } {
  let first = 1;
  for (const s of file.sections) {
    const lines = s.text.split('\n');
    lines.pop(); // every section ends in "\n"
    if (line < first + lines.length) return { section: s, text: lines[line - first] };
    first += lines.length;
  }
  return { text: '' };
}

/** Every place the model knows in these tenants' files, to find a column for a `file:line` comment. */
function knownPlaces(tenants: Tenant[]): Place[] {
  return tenants.flatMap((t) => [
    t.origin,
    t.network.origin,
    ...t.connections.map((c) => c.origin),
    ...t.filters.flatMap((f) => [f.origin, ...f.rules.map((r) => r.origin)]),
  ]);
}

/**
 * The YAML place a rendered line comes from: the `comment "file:line"` it carries (the column from
 * the model's place on that line, else 1), else its section's origin, else undefined. Pure.
 */
export function originOfLine(file: RenderedFile, line: number, tenants: Tenant[]): Place | undefined {
  const { section, text } = lineAt(file, line);
  const m = /comment "([^"]+):(\d+)"/.exec(text);
  if (m) {
    const [, f, l] = m;
    const known = knownPlaces(tenants).find((p) => p.file === f && p.line === Number(l));
    return { file: f, line: Number(l), col: known?.col ?? 1 };
  }
  return section?.origin ? { file: section.origin.file, line: section.origin.line, col: section.origin.col } : undefined;
}
