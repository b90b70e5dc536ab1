// The changed tenant sections of a large file verify took part by part: read from the current release's copy and the changed parts, never the whole file.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import type { FilePart } from '../../bundle/manifest';
import type { Marker } from './sections';
import { readAt } from '../../util/read-at';

/**
 * A new file as verify holds it part by part (a PiecedFile): runs of the current release's copy (`at`, `len`) and the
 * bytes verify read from the bundle and hashed (`bytes`), in the new file's order. `old` is that copy's path and
 * `oldParts` its parts as the current release's manifest lists them: every byte read from it is checked against them.
 */
export interface PatchedFile {
  old: string;
  oldParts: FilePart[];
  pieces: ReadonlyArray<{ len: number; at?: number; bytes?: Buffer }>;
}

/** A stretch where the two files differ: old bytes [o, o + olen) became new bytes [n, n + nlen) (`fresh`). */
interface Diff {
  o: number;
  olen: number;
  n: number;
  nlen: number;
  fresh: Buffer[];
}

/** A stretch both files have: old [o, o + len) is new [n, n + len). */
interface Same {
  o: number;
  n: number;
  len: number;
}

/**
 * The old copy's bytes, read a whole part at a time and each part checked against its sha256 once (a part is
 * 48-256 KiB): a damaged release copy is never taken for the file it should be. Throws on a mismatch or a short file.
 */
class PartReader {
  private readonly starts: number[] = [];
  private readonly got = new Map<number, Buffer>();
  readonly size: number;
  constructor(
    private readonly fd: number,
    private readonly parts: FilePart[],
  ) {
    let at = 0;
    for (const [len] of parts) {
      this.starts.push(at);
      at += len;
    }
    this.size = at;
  }

  /** The index of the part holding byte `pos` (< size). */
  private partAt(pos: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private part(i: number): Buffer {
    let b = this.got.get(i);
    if (b) return b;
    const [len, sha] = this.parts[i];
    b = Buffer.allocUnsafe(len);
    if (readAt(this.fd, b, 0, len, this.starts[i]) !== len) throw new Error('the release copy is shorter than its parts');
    if (createHash('sha256').update(b).digest('hex') !== sha) throw new Error('a part of the release copy does not match its sha256');
    this.got.set(i, b);
    return b;
  }

  /** Bytes [from, to) of the old copy. */
  read(from: number, to: number): Buffer {
    if (from >= to) return Buffer.alloc(0);
    const first = this.partAt(from);
    const last = this.partAt(to - 1);
    if (first === last) return this.part(first).subarray(from - this.starts[first], to - this.starts[first]);
    const out: Buffer[] = [];
    for (let i = first; i <= last; i++) {
      const s = this.starts[i];
      const p = this.part(i);
      out.push(p.subarray(Math.max(0, from - s), Math.min(p.length, to - s)));
    }
    return Buffer.concat(out);
  }
}

/** The file as stretches both have and stretches that differ, alternating; undefined when the runs are out of order. */
function stretches(f: PatchedFile, oldSize: number): Array<Same | Diff> | undefined {
  const out: Array<Same | Diff> = [];
  let o = 0;
  let n = 0;
  let diff: Diff | undefined;
  const open = () => (diff ??= { o, olen: 0, n, nlen: 0, fresh: [] });
  const close = () => {
    if (diff && (diff.olen || diff.nlen)) out.push(diff);
    diff = undefined;
  };
  for (const x of f.pieces) {
    if (x.bytes) {
      open().nlen += x.len;
      diff!.fresh.push(x.bytes);
    } else {
      // A run taken from before where the last one ended (a part found again elsewhere): not a plain patch.
      if (x.at === undefined || x.at < o) return undefined;
      if (x.at > o) open().olen += x.at - o;
      close();
      out.push({ o: x.at, n, len: x.len });
      o = x.at + x.len;
    }
    n += x.len;
  }
  if (o > oldSize) return undefined;
  if (o < oldSize) open().olen += oldSize - o;
  close();
  return out;
}

const isSame = (s: Same | Diff): s is Same => 'len' in s;

/**
 * The old and the new file cut down to what a plan between them reads: the head (the gateway's lines, the same in
 * both) and, for every stretch where they differ, the whole tenant sections around it, as texts on which headOf and
 * sectionOf answer exactly as on the whole files for every tenant whose section differs (and alike on both sides for
 * every other: a section outside the cut is the same bytes in both files, and is in neither text).
 *
 * A cut starts at a section marker in bytes both files have before a difference and ends at one after it (or at the
 * file's end), so the sections in it are whole and in both files' order; one with no marker before it (a change in the
 * head, or in the sections of its first part) starts at the file's start, each file's own head in it. Undefined (the
 * caller reads the whole files) when the file is not a plain patch of the old copy (its runs out of order), when
 * nothing differs, when it opens with a section (no head), or when the old copy cannot be read or does not match its parts.
 */
export function changedSections(f: PatchedFile, m: Marker): { old: Buffer; now: Buffer } | undefined {
  let fd: number;
  try {
    fd = fs.openSync(f.old, 'r');
  } catch {
    return undefined;
  }
  try {
    const r = new PartReader(fd, f.oldParts);
    if (fs.fstatSync(fd).size !== r.size) return undefined;
    const s = stretches(f, r.size);
    if (!s || !s.some((x) => !isSame(x))) return undefined;
    const marker = Buffer.from(`\n${m.prefix}`);
    // Where the last marker (its '\n' and prefix) inside same stretch `x` starts, as an old offset; -1 when none.
    const lastMarker = (x: Same): number => {
      for (let span = 64 << 10; ; span *= 4) {
        const from = Math.max(x.o, x.o + x.len - span);
        const k = r.read(from, x.o + x.len).lastIndexOf(marker);
        if (k >= 0) return from + k;
        if (from === x.o) return -1;
      }
    };
    const firstMarker = (x: Same): number => {
      for (let span = 64 << 10; ; span *= 4) {
        const to = Math.min(x.o + x.len, x.o + span);
        const k = r.read(x.o, to).indexOf(marker);
        if (k >= 0) return x.o + k;
        if (to === x.o + x.len) return -1;
      }
    };
    // A file whose first line is a section's marker has no head (headOf: ''), which the search below would not see.
    if (r.read(0, Math.min(r.size, m.prefix.length)).equals(Buffer.from(m.prefix))) return undefined;
    const oldParts: Buffer[] = [];
    const newParts: Buffer[] = [];
    let head = false;
    for (let i = 0; i < s.length; i++) {
      if (isSame(s[i])) continue;
      // Back to a marker in a same stretch before it (through earlier differences, which join this cut); with none,
      // the cut starts at the file's start and holds each file's own head (headOf on the cuts then tells them apart).
      let a = i - 1;
      let at = -1;
      for (; a >= 0; a--) {
        const x = s[a];
        if (isSame(x) && (at = lastMarker(x)) >= 0) break;
      }
      if (a < 0) {
        a = 0;
        at = -1;
        head = true;
      } else if (!head) {
        // The first cut starts after the head: every stretch before it is one both files have, the head with them.
        const first = firstMarker({ o: 0, n: 0, len: at + marker.length });
        const bytes = r.read(0, first + 1);
        oldParts.push(bytes);
        newParts.push(bytes);
        head = true;
      }
      // Forward to a marker in a same stretch after it (through later differences), or the file's end.
      let b = i + 1;
      let end = -1;
      for (; b < s.length; b++) {
        const x = s[b];
        if (isSame(x) && (end = firstMarker(x)) >= 0) break;
      }
      // The cut, from the marker's line (after its '\n') to the next marker's line: both sides, stretch by stretch.
      const start = at + 1;
      for (let k = a; k <= Math.min(b, s.length - 1); k++) {
        const x = s[k];
        if (isSame(x)) {
          const lo = k === a ? Math.max(start, x.o) : x.o;
          const hi = k === b ? end + 1 : x.o + x.len;
          const bytes = r.read(lo, hi);
          oldParts.push(bytes);
          newParts.push(bytes);
        } else {
          oldParts.push(r.read(x.o, x.o + x.olen));
          newParts.push(...x.fresh);
        }
      }
      i = b;
    }
    return { old: Buffer.concat(oldParts), now: Buffer.concat(newParts) };
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}
