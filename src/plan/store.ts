// Plan without a cache keeps both sides' rendered texts here, compressed, instead of as strings: at 10,000 tenants a
// side's texts are about 110 MB of strings (82 MB of target files, 26 MB of summaries), which stood next to the other
// side's model (about 95 MB) and, with V8's heap growth, put the uncached plan near 680 MB of RSS. Compressed they are
// a few MB; plan reads back only the pieces a diff shows (docs/architecture.md, "Memory at scale").
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { newlines, segmentsOf } from '../bundle/bundle';
import type { Bundle, BundleFile, BundleSink, Segment } from '../bundle/bundle';

/** Texts are joined into chunks of about this many UTF-16 units before they are compressed. */
const CHUNK = 1 << 16;
/** Decoded chunks kept (a diff and the matching of the other side read a file's pieces in order). */
const DECODED = 8;

/**
 * Texts added one by one, joined into chunks and compressed (raw deflate, level 1) as each chunk fills. A text that
 * is not well-formed UTF-16 (a lone surrogate would not survive UTF-8) is kept as it is.
 */
export class TextStore {
  private readonly chunks: Buffer[] = [];
  private open: string[] = [];
  private openLength = 0;
  private readonly decoded = new Map<number, string>();

  add(text: string): StoredText {
    if (!isWellFormed(text)) return new KeptText(text);
    if (this.openLength >= CHUNK) this.seal();
    // A text starts before the chunk is full: its offset is under CHUNK.
    const t = new StoredText(this, this.chunks.length * CHUNK + this.openLength, text.length, newlines(text));
    this.open.push(text);
    this.openLength += text.length;
    return t;
  }

  /** Compresses the chunk being filled. */
  seal(): void {
    if (!this.open.length) return;
    const packed = deflateRawSync(Buffer.from(this.open.join(''), 'utf8'), { level: 1 });
    // zlib's output is a view of a 16 KiB buffer, most of it unused: an exact copy (19 MB less at 10,000 tenants).
    const exact = Buffer.allocUnsafeSlow(packed.length);
    packed.copy(exact);
    this.chunks.push(exact);
    this.open = [];
    this.openLength = 0;
  }

  /** The text at `at` (its chunk times CHUNK plus its offset in the chunk). */
  read(at: number, length: number): string {
    const chunk = Math.floor(at / CHUNK);
    const start = at - chunk * CHUNK;
    if (chunk === this.chunks.length) this.seal();
    let s = this.decoded.get(chunk);
    if (s === undefined) {
      s = inflateRawSync(this.chunks[chunk]).toString('utf8');
      if (this.decoded.size >= DECODED) this.decoded.delete(this.decoded.keys().next().value as number);
      this.decoded.set(chunk, s);
    }
    return s.slice(start, start + length);
  }

  /** Compressed bytes held (the bench and tests read it). */
  get bytes(): number {
    return this.chunks.reduce((n, c) => n + c.length, 0);
  }
}

function isWellFormed(s: string): boolean {
  const f = (s as unknown as { isWellFormed?: () => boolean }).isWellFormed;
  return f ? f.call(s) : !/[\uD800-\uDFFF]/.test(s);
}

/**
 * One piece of a stored file (a section's text), read from its store when asked for; its length and newlines are
 * known without it. Both sides of a plan hold the same StoredText for a piece they share.
 */
export class StoredText {
  // Four fields (one object per piece: 226,000 at 10,000 tenants): the chunk and the offset in it are one number.
  constructor(
    private readonly store: TextStore | undefined,
    private readonly at: number,
    readonly length: number,
    readonly lines: number,
  ) {}

  get text(): string {
    return this.store!.read(this.at, this.length);
  }
}

/** A text the store keeps as it is (not well-formed UTF-16). */
class KeptText extends StoredText {
  constructor(private readonly kept: string) {
    super(undefined, 0, kept.length, newlines(kept));
  }

  override get text(): string {
    return this.kept;
  }
}

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
