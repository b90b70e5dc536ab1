// Texts kept compressed rather than as strings: joined into chunks, each deflated, a text read back only when asked for.
// Plan keeps both sides' rendered files here (src/plan/store.ts); build and plan keep the sources' texts here once
// the findings are settled (stowTexts() in src/model/source.ts). See docs/architecture.md, "Memory at scale".
import { deflateRawSync, inflateRawSync } from 'node:zlib';

/** Newlines in a text. */
export function newlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

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
