// Plan without a cache keeps both sides' rendered texts here, compressed, instead of as strings: at 10,000 tenants a
// side's texts are about 110 MB of strings (82 MB of target files, 26 MB of summaries), which stood next to the other
// side's model (about 95 MB) and, with V8's heap growth, put the uncached plan near 680 MB of RSS. Compressed they are
// a few MB (a TextStore, src/util/text-store.ts); plan reads back only the pieces a diff shows (docs/architecture.md,
// "Memory at scale").
import { segmentsOf } from '../bundle/bundle';
import { StoredText, TextStore } from '../util/text-store';
import type { Bundle, BundleFile, BundleSink, Segment } from '../bundle/bundle';

export { StoredText, TextStore } from '../util/text-store';

/** A piece of a file plan diffs piece by piece: a string, a cached tenant's Piece, or a StoredText. */
export type PlanSegment = Segment | StoredText;

/** The text of a piece. */
export const pieceText = (s: PlanSegment): string => (typeof s === 'string' ? s : s.text);

/** A target file of a stored side: its pieces, joined only when its whole text is read. */
export class StoredFile implements BundleFile {
  constructor(
    readonly path: string,
    readonly segments: StoredText[],
    readonly mode: number,
  ) {}

  get content(): string {
    return this.segments.map((s) => s.text).join('');
  }
}

/** A stored side's summaries/ file. */
class StoredSummary implements BundleFile {
  constructor(
    readonly path: string,
    readonly stored: StoredText,
    readonly mode: number,
  ) {}

  get content(): string {
    return this.stored.text;
  }
}

/** The pieces of a file plan diffs piece by piece (lean or stored); undefined for any other file. */
export function piecesOf(f: BundleFile): PlanSegment[] | undefined {
  return f instanceof StoredFile ? f.segments : segmentsOf(f);
}

/**
 * The sink bundleGatewayTo keeps a side's files with, in `store`. `like`: the other side's bundle of that gateway,
 * stored before: a piece (or summary) whose text equals one of its pieces of the same file is that StoredText, not
 * stored again, so a one-tenant change stores a few pieces for the second side and the diff finds the rest equal
 * without reading them.
 */
export function storingSink(store: TextStore, like?: Bundle): BundleSink {
  const other = like && new Map(like.files.map((f) => [f.path, f]));
  return {
    file(path, texts, mode) {
      const theirs = other?.get(path);
      const known = new Map<string, StoredText>();
      if (theirs instanceof StoredFile) for (const s of theirs.segments) known.set(s.text, s);
      const pieces = texts.map((t) => known.get(t) ?? store.add(t));
      return new StoredFile(path, pieces, mode);
    },
    summary(path, text) {
      const theirs = other?.get(path);
      const stored = theirs instanceof StoredSummary && theirs.stored.length === text.length && theirs.stored.text === text ? theirs.stored : store.add(text);
      return { file: new StoredSummary(path, stored, 0o644), read: () => stored.text };
    },
  };
}
