// Mapping a real tool's complaint about a bundle line back to the YAML, and the severity of a check this kernel cannot run.
import type { Place, Severity } from '../../model/diagnostics';
import type { RenderedFile, Section } from '../target';

/** The section holding 1-based `line` of a rendered file, or undefined past its end. */
export function sectionAtLine(file: RenderedFile, line: number): Section | undefined {
  let first = 1;
  for (const s of file.sections) {
    const n = s.text.split('\n').length - 1;
    if (line >= first && line < first + n) return s;
    first += n;
  }
  return undefined;
}

/** The tenant of every 1-based line of a file (index 0 unused), in one pass. */
export function lineTenants(file: RenderedFile): Array<string | undefined> {
  const out: Array<string | undefined> = [undefined];
  for (const s of file.sections) {
    const n = s.text.split('\n').length - 1;
    for (let k = 0; k < n; k++) out.push(s.tenant);
  }
  return out;
}

/** The 1-based text of one line of a rendered file ('' past its end). */
export function lineText(file: RenderedFile, line: number): string {
  return file.sections.map((s) => s.text).join('').split('\n')[line - 1] ?? '';
}

/** Where a bundle line came from: its section's origin, else the fallback (the gateway file). */
export function originOfLine(file: RenderedFile, line: number, fallback: Place): Place {
  const o = sectionAtLine(file, line)?.origin ?? fallback;
  return { file: o.file, line: o.line, col: o.col };
}

/**
 * What this kernel cannot check is a warning here (the lab VM checks it), but an error in CI when
 * S2SGW_REQUIRE_KERNEL_LINKS=1 says this runner is expected to have the modules.
 */
export function kernelGapSeverity(env: NodeJS.ProcessEnv = process.env): Severity {
  return env.CI && env.S2SGW_REQUIRE_KERNEL_LINKS === '1' ? 'error' : 'warning';
}

/** "3-5, 9" from sorted 1-based line numbers; past `max` ranges, "and N more lines" keeps a message readable. */
export function lineRanges(lines: number[], max = 30): string {
  const out: string[] = [];
  let i = 0;
  for (; i < lines.length && out.length < max; ) {
    let j = i;
    while (j + 1 < lines.length && lines[j + 1] === lines[j] + 1) j++;
    out.push(i === j ? `${lines[i]}` : `${lines[i]}-${lines[j]}`);
    i = j + 1;
  }
  return i < lines.length ? `${out.join(', ')} and ${lines.length - i} more lines` : out.join(', ');
}
