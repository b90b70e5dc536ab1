// Finds one tenant's part of a rendered bundle file by the comment each tenant section opens with, without splitting the whole file.
import * as fs from 'node:fs';
import { readAt } from '../../util/read-at';

/**
 * A bundle file's bytes or text. apply passes Buffers: decoding a 20 MB nft file to search it for one tenant
 * cost more than the search (10,000 tenants); only the parts found are decoded.
 */
export type Text = string | Buffer;

const slice = (t: Text, from: number, to?: number): string => (typeof t === 'string' ? t.slice(from, to) : t.toString('utf8', from, to));

/** How a file marks its tenant sections: each starts on a line `${prefix}${tenant}${after}...`; the gateway's head comes before the first. */
export interface Marker {
  prefix: string;
  after: string;
}

/** frr/frr.conf: `! tenant contoso: tenants/contoso.yaml`. */
export const FRR_MARKER: Marker = { prefix: '! tenant ', after: ': ' };
/** nftables/s2sgw.nft: `# tenant contoso (tenants/contoso.yaml): conntrack zone 7`. */
export const NFT_MARKER: Marker = { prefix: '# tenant ', after: ' (' };

/**
 * The text before the first tenant section: the gateway's own lines. Tenant sections follow the head and
 * nothing follows them (targets render head, then tenants), so a file whose head is unchanged differs
 * only in tenant sections.
 */
export function headOf(text: Text, m: Marker): string {
  const i = text.indexOf(m.prefix) === 0 ? 0 : text.indexOf(`\n${m.prefix}`);
  return i < 0 ? slice(text, 0) : slice(text, 0, i + 1);
}

/** The lines of `tenant`'s section (its marker line up to the next tenant's marker), or '' when the file has none. */
export function sectionOf(text: Text | undefined, m: Marker, tenant: string): string {
  const s = text ? sectionSpan(text, m, tenant) : undefined;
  return s ? slice(text!, s[0], s[1]) : '';
}

/** Where `tenant`'s section is in `text`: [start, end) of sectionOf's lines, or undefined when the file has none. */
export function sectionSpan(text: Text, m: Marker, tenant: string): [number, number] | undefined {
  const key = `\n${m.prefix}${tenant}${m.after}`;
  // A large file's sections are sorted by tenant: a binary search finds one in microseconds, where searching the bytes
  // took 7 ms for a tenant in the middle of a 24 MB s2sgw.nft (10,000 tenants), and a plan looks several up.
  const i = typeof text !== 'string' && text.length >= SORTED_MIN ? sortedFind(text, m, tenant) : -1;
  const at = i >= 0 ? i : text.indexOf(key);
  if (at < 0) return undefined;
  const end = text.indexOf(`\n${m.prefix}`, at + key.length);
  return [at + 1, end < 0 ? text.length : end + 1];
}

/** Files this large are searched by sortedFind first. */
const SORTED_MIN = 1 << 20;

/**
 * Where the line before `tenant`'s marker ends (as `text.indexOf(key)` answers), found by a binary search over the
 * marker lines on the assumption that sections are sorted by tenant name (code-unit order, as the targets render
 * them and the manifest lists them). Only a hit is trusted: the marker found is compared byte for byte, so a file in
 * another order can make it miss (-1) but never answer wrong; the caller then searches the bytes.
 */
function sortedFind(text: Buffer, m: Marker, tenant: string): number {
  const next = Buffer.from(`\n${m.prefix}`);
  const first = text.indexOf(next);
  if (first < 0) return -1;
  // The first marker line starting at or after `pos` (its '\n'), or text.length.
  const markerFrom = (pos: number) => {
    const k = text.indexOf(next, pos);
    return k < 0 ? text.length : k;
  };
  const nameAt = (k: number) => {
    const s = k + next.length;
    const e = text.indexOf(m.after, s);
    const nl = text.indexOf(10, s);
    return e < 0 || (nl >= 0 && nl < e) ? undefined : text.toString('utf8', s, e);
  };
  // Markers before lo name tenants below `tenant`; markers at hi or after name `tenant` or above.
  let lo = first;
  let hi = text.length;
  while (lo < hi) {
    const mid = lo + ((hi - lo) >> 1);
    const k = markerFrom(mid);
    if (k >= hi) {
      hi = mid;
      continue;
    }
    const name = nameAt(k);
    if (name === undefined) return -1;
    if (name < tenant) lo = k + 1;
    else hi = k;
  }
  const k = markerFrom(lo);
  const key = Buffer.from(`\n${m.prefix}${tenant}${m.after}`);
  return k < text.length && text.compare(key, 0, key.length, k, k + key.length) === 0 ? k : -1;
}

/**
 * The parts of a release's file `file` that a plan between it and `now` (the new file's bytes) reads, without
 * reading the rest: its head and the touched tenants' sections, as a text that headOf and sectionOf answer for
 * exactly as they would on the whole file. At 10,000 tenants the old s2sgw.nft is 24 MB, of which a one-tenant
 * change needs a few KiB.
 *
 * Every untouched tenant's section is the same bytes in both files (their digests say so), so the old file is the
 * new one with the touched tenants' sections swapped: the window holding them starts where it starts in `now` and
 * ends as many bytes later as the files' sizes differ. A tenant missing from `now` (removed) sits where the next
 * tenant of `names()` (the new manifest's, sorted as the sections are) starts. What is read is then checked, and any
 * doubt gives undefined (the caller reads the whole file): the heads are the same bytes and a section starts after
 * the old head; the window starts and ends at a section marker (or the file's end); the untouched sections in the
 * old window are the new window's, in order; every touched tenant the old release has (`inOld`) is in the window,
 * and no other touched tenant is. `inNew` (as nftPlan's) spares the search of `now` for a tenant it does not have.
 */
export function oldSections(file: string, now: Buffer, m: Marker, touched: string[], inOld: (t: string) => boolean, names: () => string[], inNew?: (t: string) => boolean): Buffer | undefined {
  const prefix = Buffer.from(m.prefix);
  // (A file without a head, its first section on the first line, is not one sectionOf reads either.)
  const headEnd = now.indexOf(`\n${m.prefix}`) + 1;
  if (headEnd <= 0 || now.indexOf(prefix) === 0) return undefined;
  // The span of `now` that holds every touched tenant's section, or the place it would be in.
  let lo = Infinity;
  let hi = -1;
  for (const t of touched) {
    const s = inNew && !inNew(t) ? undefined : sectionSpan(now, m, t);
    let at = now.length;
    if (!s) {
      // Not in `now`: where the next tenant by name starts (the file's end after the last).
      const all = names();
      let j = lowerBound(all, t);
      let found = false;
      for (let tries = 0; j < all.length && tries < 8; j++, tries++) {
        if (all[j] === t) continue;
        const x = sectionSpan(now, m, all[j]);
        if (x) {
          at = x[0];
          found = true;
          break;
        }
      }
      if (!found && j < all.length) return undefined;
    }
    lo = Math.min(lo, s ? s[0] : at);
    hi = Math.max(hi, s ? s[1] : at);
  }
  if (hi < 0 || lo < headEnd) return undefined;
  // The last section has no blank line after it: one added after it, or the one after it removed, changes its end.
  // The window then starts at that section (the same in both, but for that byte) and ends at the file's end.
  if (hi === now.length) {
    const p = now.lastIndexOf(`\n${m.prefix}`, lo - 2);
    if (p + 1 >= headEnd) lo = p + 1;
  }
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fs.fstatSync(fd).size;
    const oldHi = hi + size - now.length;
    if (oldHi < lo || oldHi > size) return undefined;
    const bytesAt = (from: number, to: number): Buffer => {
      const b = Buffer.allocUnsafe(Math.max(0, to - from));
      return b.subarray(0, readAt(fd, b, 0, b.length, from));
    };
    // The head, and the marker that ends it.
    const head = bytesAt(0, headEnd + prefix.length);
    if (!head.equals(now.subarray(0, headEnd + prefix.length))) return undefined;
    // The window, with the line end before it and the marker after it (none at the file's end).
    const buf = bytesAt(lo - 1, Math.min(size, oldHi + prefix.length));
    if (buf[0] !== 10 || buf.length !== Math.min(size, oldHi + prefix.length) - (lo - 1)) return undefined;
    const window = buf.subarray(1, oldHi - lo + 1);
    if (window.length && (!window.subarray(0, prefix.length).equals(prefix) || window[window.length - 1] !== 10)) return undefined;
    if (oldHi < size && !buf.subarray(oldHi - lo + 1).equals(prefix)) return undefined;
    // The same untouched sections, in the same order, on both sides; the touched ones where the old release has them.
    const skip = new Set(touched);
    const named = sectionNames(window, m);
    const namedNow = sectionNames(now.subarray(lo, hi), m);
    if (named.includes(undefined) || namedNow.includes(undefined)) return undefined;
    const oldNames = named as string[];
    const kept = oldNames.filter((t) => !skip.has(t));
    const keptNow = (namedNow as string[]).filter((t) => !skip.has(t));
    if (kept.length !== keptNow.length || kept.some((t, i) => t !== keptNow[i])) return undefined;
    const present = new Set(oldNames);
    if (present.size !== oldNames.length) return undefined;
    for (const t of touched) if (present.has(t) !== inOld(t)) return undefined;
    return Buffer.concat([head.subarray(0, headEnd), window]);
  } finally {
    fs.closeSync(fd);
  }
}

/** The tenants of the sections in `t` (which starts with a section's marker), in order; undefined for a marker line without its name's end. */
function sectionNames(t: Buffer, m: Marker): Array<string | undefined> {
  const out: Array<string | undefined> = [];
  const next = Buffer.from(`\n${m.prefix}`);
  for (let at = t.length && t.indexOf(m.prefix) === 0 ? 0 : -1; at >= 0; ) {
    const s = at + m.prefix.length;
    const e = t.indexOf(m.after, s);
    const nl = t.indexOf(10, s);
    out.push(e < 0 || (nl >= 0 && nl < e) ? undefined : t.toString('utf8', s, e));
    const n = t.indexOf(next, s);
    at = n < 0 ? -1 : n + 1;
  }
  return out;
}

/** The first index in sorted `xs` whose name is not below `x`. */
function lowerBound(xs: string[], x: string): number {
  let a = 0;
  let b = xs.length;
  while (a < b) {
    const mid = (a + b) >> 1;
    if (xs[mid] < x) a = mid + 1;
    else b = mid;
  }
  return a;
}
