// Plan: compares the bundles a config repository builds now with a base (built bundles on disk, or the repository at a
// Git ref built in memory) and assembles what would change, file by file and tenant by tenant. Pure but for reading the base.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatPatch, lineDiff, structuredPatch } from 'diff';
import type { StructuredPatch } from 'diff';
import type { Bundle, BundleFile, Manifest } from '../bundle/bundle';
import { newlines, parseManifest } from '../bundle/bundle';
import { PlanSegment, pieceText, piecesOf } from './store';
import { MANIFEST, SUMMARIES, summaryPath } from '../bundle/bundle';
import { impact, GatewayImpact } from './impact';
import { readTree } from '../bundle/write';

export interface BaseBundle {
  gateway: string;
  files: BundleFile[];
  manifest?: Manifest;
}

/** Where one side of a gateway's plan comes from, as its manifest says. */
export interface PlanSource {
  /** The config repository's commit; null when built outside Git or not recorded (an older manifest). */
  commit: string | null;
  dirty?: boolean;
  /** The s2sgw that built it (`s2sgw 0.1.0`). */
  compiler?: string;
  /** A built base bundle's signing key (manifest.json.sig beside it), unchecked: plan knows no trusted signers. */
  signedWith?: string;
}

export interface FileDiff {
  path: string;
  status: 'added' | 'removed' | 'changed';
  /** Unified diff, secrets redacted. */
  patch: string;
}

/** The proposals a connection of an added or changed tenant negotiates, after its gateway's defaults and s2sgw's built-in ones. */
export interface EffectiveProposals {
  tenant: string;
  connection: string;
  ike: string[];
  esp: string[];
}

export interface GatewayPlan {
  gateway: string;
  status: 'added' | 'removed' | 'changed' | 'unchanged';
  impact: GatewayImpact;
  files: FileDiff[];
  /** Effective IKE and ESP proposals of every connection of the tenants added or changed, by tenant and connection. */
  proposals?: EffectiveProposals[];
  /** Where each side comes from (absent for a side that does not exist). */
  source?: { before?: PlanSource; after?: PlanSource };
  /** The rollout wave that reaches the gateway (its file's `rollout`), only when set. */
  rollout?: { wave: number };
}

export interface Plan {
  against: string;
  gateways: GatewayPlan[];
  lock: { changes: string[]; patch: string };
  changed: boolean;
}

/** Reads built bundles: a folder with manifest.json (one bundle) or with <gateway>/manifest.json folders (out/). */
export function readBundles(dir: string): BaseBundle[] {
  const one = (d: string): BaseBundle => {
    const files = readTree(d);
    const m = files.find((f) => f.path === MANIFEST);
    const byPath = new Map(files.map((f) => [f.path, f.content]));
    const summaryOf = (t: string) => {
      const c = byPath.get(summaryPath(t));
      return c === undefined ? undefined : JSON.parse(c);
    };
    const manifest = m ? parseManifest(m.content, summaryOf) : undefined;
    return { gateway: manifest?.gateway ?? path.basename(d), files, manifest };
  };
  if (fs.existsSync(path.join(dir, MANIFEST))) return [one(dir)];
  return fs
    .readdirSync(dir)
    .filter((n) => !n.startsWith('.') && fs.existsSync(path.join(dir, n, MANIFEST)))
    .sort()
    .map((n) => one(path.join(dir, n)));
}

/** Masks anything that looks like a secret value; bundles hold only references, this is a second line of defence. */
export function redact(text: string): string {
  return text.replace(/^([+\- ]?\s*(?:secret|psk|password)\s*[=:]\s*)(?!env:|file:)("?)[^\s"]+\2/gim, '$1<redacted>');
}

const CONTEXT = 3;

/**
 * Both texts without the whole lines they share at the start, less a margin wider than the
 * context: the diff then tokenizes a 10,000-tenant file from the first change on, not all of it.
 * Exactly the same patch: jsdiff's search itself starts by walking the common start. (A common end
 * is not cut here: where a run of equal lines meets a change, the search may place the change
 * differently within the run; patchOf cuts it only when it can tell the search went the same way,
 * see watchedPatch.) `skipped` is how many lines were dropped (the hunks move by that).
 */
export function trimCommon(a: string, b: string, margin = CONTEXT + 1): { a: string; b: string; skipped: number } {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  // Back to the start of the line the first difference is on, then `margin` lines further back.
  let start = i === 0 ? 0 : a.lastIndexOf('\n', i - 1) + 1;
  for (let k = 0; k < margin && start > 0; k++) start = start < 2 ? 0 : a.lastIndexOf('\n', start - 2) + 1;
  return { a: a.slice(start), b: b.slice(start), skipped: countLines(a, start) };
}

function countLines(s: string, end: number): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0 && i < end; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

function patch(name: string, a: string, b: string): string {
  return patchOf(name, trimCommon(a, b));
}

/**
 * The unified diff of texts trimCommon cut (hunks moved back by the lines it skipped). jsdiff runs on them cut at
 * their common end as well when that gives exactly the hunks of the whole texts (watchedPatch), else on them whole,
 * or on `whole()` when given (t is then a window of the texts, see piecesPatch). A one-tenant change at 10,000
 * tenants then tokenizes a few lines, not everything after the change.
 */
function patchOf(name: string, t: Trimmed, whole?: () => Trimmed): string {
  const cut = cutEnd(t.a, t.b);
  let sp = cut && watchedPatch(`a/${name}`, `b/${name}`, cut.a, cut.b);
  let skipped = t.skipped;
  if (sp) searches.cut++;
  else {
    searches.whole++;
    const w = whole ? whole() : t;
    sp = structuredPatch(`a/${name}`, `b/${name}`, w.a, w.b, undefined, undefined, { context: CONTEXT });
    skipped = w.skipped;
  }
  for (const h of sp.hunks) {
    h.oldStart += skipped;
    h.newStart += skipped;
  }
  return formatted(sp);
}

/** A structured patch as plan prints it: no `===` line, no tab after the file names, secrets redacted. */
function formatted(sp: StructuredPatch): string {
  return redact(formatPatch(sp).replace(/^=+\n/, '').replace(/^(---|\+\+\+) (\S+)\t$/gm, '$1 $2'));
}

type Trimmed = { a: string; b: string; skipped: number };

/** How many patches were searched on texts cut at their common end, and how many whole (the tests read them). */
export const searches = { cut: 0, whole: 0 };

/** Common whole lines kept after the last difference when the common end is cut (more than the context). */
export const TAIL = 16;

/**
 * Both texts without the whole lines they share at the end, but for `tail` of them; undefined when they do not share
 * that many. The cut is at a line start, so the lines (jsdiff's tokens) before it are the texts' own.
 */
export function cutEnd(a: string, b: string, tail = TAIL): { a: string; b: string } | undefined {
  let i = a.length;
  let j = b.length;
  while (i > 0 && j > 0 && a.charCodeAt(i - 1) === b.charCodeAt(j - 1)) {
    i--;
    j--;
  }
  // The first newline within the common end closes the last line that differs; `tail` whole lines after it are kept.
  let at = a.indexOf('\n', i);
  for (let k = 0; k < tail && at >= 0; k++) at = a.indexOf('\n', at + 1);
  if (at < 0 || at + 1 >= a.length) return undefined;
  const d = a.length - b.length;
  return { a: a.slice(0, at + 1), b: b.slice(0, at + 1 - d) };
}

type Path = { oldPos: number };
type ExtractCommon = (this: unknown, path: Path, newTokens: string[], oldTokens: string[], diagonal: number, options: unknown) => number;

/**
 * structuredPatch of a and b, and whether its search stayed clear of the texts' ends: no path of jsdiff's search
 * (Myers' greedy one) reached the end of one text but not the other. Only then is the diff of texts cut at their
 * common end (cutEnd) the diff of the whole texts: every path, every comparison of two paths and every bound check
 * is the same, and the one path that reaches both ends at once goes on through the common end the same way. A
 * search that touched an end may have gone otherwise with the rest of the texts (a run of equal lines met further
 * on), so the caller diffs the whole texts then.
 */
function watchedPatch(oldName: string, newName: string, a: string, b: string): StructuredPatch | undefined {
  // lineDiff is the instance structuredPatch diffs with; its search's step is wrapped for this one synchronous call.
  // It must be the prototype's method (jsdiff 8): anything else (a renamed or own method after an upgrade) and the
  // texts are diffed whole, as they are when the wrapper was never called.
  const ld = lineDiff as unknown as { extractCommon: ExtractCommon };
  const step = ld.extractCommon;
  if (typeof step !== 'function' || Object.prototype.hasOwnProperty.call(ld, 'extractCommon')) return undefined;
  let touched = false;
  let calls = 0;
  ld.extractCommon = function (path, newTokens, oldTokens, diagonal, options) {
    calls++;
    const newPos = step.call(this, path, newTokens, oldTokens, diagonal, options);
    if (path.oldPos + 1 >= oldTokens.length !== newPos + 1 >= newTokens.length) touched = true;
    return newPos;
  };
  try {
    const sp = structuredPatch(oldName, newName, a, b, undefined, undefined, { context: CONTEXT });
    return touched || calls === 0 ? undefined : sp;
  } finally {
    delete (ld as { extractCommon?: ExtractCommon }).extractCommon;
  }
}

/** The signature `s2sgw sign` writes beside the manifest (src/apply/signature.ts). */
const SIGNATURE = 'manifest.json.sig';

/** What a reviewer reads in the diff: every generated file but the manifest, its signature and the tenant summaries (they only describe the others; the impact says what they mean). */
const shown = (f: BundleFile) => f.path !== MANIFEST && f.path !== SIGNATURE && !f.path.startsWith(SUMMARIES);

/** One side's source from its manifest (and its signature file, for a built bundle). */
function sourceOf(b: BaseBundle | undefined, signedWith: (armored: string) => string | undefined): PlanSource | undefined {
  if (!b) return undefined;
  const m = b.manifest;
  const sig = b.files.find((f) => f.path === SIGNATURE);
  const key = sig ? signedWith(sig.content) : undefined;
  return { commit: m?.source?.commit ?? null, ...(m?.source ? { dirty: m.source.dirty } : {}), ...(m?.compiler ? { compiler: m.compiler } : {}), ...(key ? { signedWith: key } : {}) };
}

/**
 * trimCommon of two files made of pieces (piecesOf: gateway sections and each tenant's part), joining only the
 * pieces from a little before the first one that differs: the same cut and line count as trimCommon of the joined
 * texts, without joining or scanning the common start char by char. Undefined when the texts are equal.
 */
export function trimCommonPieces(a: PlanSegment[], b: PlanSegment[], margin = CONTEXT + 1): { a: string; b: string; skipped: number } | undefined {
  const n = Math.min(a.length, b.length);
  let k = 0;
  while (k < n && same(a[k], b[k])) k++;
  if (k === a.length && k === b.length) return undefined;
  // Back far enough that trimCommon's walk to the line start and `margin` lines further back stays inside the window.
  let j = k;
  for (let lines = 0; j > 0 && lines < margin + 3; ) lines += count(a[--j]);
  const x = a.slice(j).map(pieceText).join('');
  const y = b.slice(j).map(pieceText).join('');
  if (x === y) return undefined;
  let skipped = 0;
  for (let i = 0; i < j; i++) skipped += count(a[i]);
  // At the file's start the window is the whole text: trimCommon there is exactly the whole texts' trimCommon.
  const t = trimCommon(x, y, margin);
  return { a: t.a, b: t.b, skipped: skipped + t.skipped };
}

/**
 * Whether two segments hold the same text: equal strings or the same Piece (both sides took the tenant from one cache
 * record) without reading it; else their texts, read when their lengths are equal (a tenant rendered on one side and
 * taken from the cache on the other, at the edge of a change).
 */
function same(x: PlanSegment, y: PlanSegment): boolean {
  if (x === y) return true;
  if (typeof x === 'string' && typeof y === 'string') return false;
  return x.length === y.length && pieceText(x) === pieceText(y);
}

/** Newlines in a segment (a Piece knows its own without being read). */
function count(s: PlanSegment): number {
  return typeof s === 'string' ? newlines(s) : s.lines;
}

/**
 * Both piece lists without the pieces they end with, but for at least TAIL + 2 lines of them (and not into the pieces
 * they start with): their texts are then the start of the whole texts, the same from the first difference to past
 * the last. The same lists when there is nothing to drop.
 */
export function withoutCommonEnd(a: PlanSegment[], b: PlanSegment[]): [PlanSegment[], PlanSegment[]] {
  const n = Math.min(a.length, b.length);
  let k = 0;
  while (k < n && same(a[k], b[k])) k++;
  let m = 0;
  while (m < n - k && same(a[a.length - 1 - m], b[b.length - 1 - m])) m++;
  // Keep back some of the common end: its first TAIL + 2 lines.
  let keep = 0;
  for (let lines = 0; keep < m && lines < TAIL + 2; keep++) lines += count(a[a.length - m + keep]);
  if (m - keep <= 0) return [a, b];
  return [a.slice(0, a.length - m + keep), b.slice(0, b.length - m + keep)];
}

/** The patch of two files made of pieces (undefined when their texts are equal): exactly wholePatch of their texts. */
export function piecesPatch(name: string, sx: PlanSegment[], sy: PlanSegment[]): string | undefined {
  // The pieces both end with, less a few: only the window from the first difference to a little past the last is joined.
  const [ex, ey] = withoutCommonEnd(sx, sy);
  const t = trimCommonPieces(ex, ey);
  return t && patchOf(name, t, ex === sx ? undefined : () => trimCommonPieces(sx, sy)!);
}

/** The patch of two whole texts, nothing cut (what piecesPatch and patch give, for the tests); undefined when equal. */
export function wholePatch(name: string, a: string, b: string): string | undefined {
  if (a === b) return undefined;
  return formatted(structuredPatch(`a/${name}`, `b/${name}`, a, b, undefined, undefined, { context: CONTEXT }));
}

/** Diffs two gateways' files (the manifest and summaries are left out: see `shown`). */
export function diffFiles(gateway: string, before: BundleFile[], after: BundleFile[]): FileDiff[] {
  const a = new Map(before.filter(shown).map((f) => [f.path, f]));
  const b = new Map(after.filter(shown).map((f) => [f.path, f]));
  const out: FileDiff[] = [];
  for (const p of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const fx = a.get(p);
    const fy = b.get(p);
    const sx = fx && piecesOf(fx);
    const sy = fy && piecesOf(fy);
    const name = `${gateway}/${p}`;
    if (sx && sy) {
      const d = piecesPatch(name, sx, sy);
      if (d !== undefined) out.push({ path: p, status: 'changed', patch: d });
      continue;
    }
    const x = fx?.content;
    const y = fy?.content;
    if (x === y) continue;
    out.push({ path: p, status: x === undefined ? 'added' : y === undefined ? 'removed' : 'changed', patch: patch(name, x ?? '', y ?? '') });
  }
  return out;
}

/** The effective proposals of the added and changed tenants' connections, from the new side's summaries. */
export function proposalsOf(imp: GatewayImpact, after: Manifest | undefined): EffectiveProposals[] {
  if (!after) return [];
  const out: EffectiveProposals[] = [];
  for (const t of imp.tenants) {
    if (t.status === 'removed') continue;
    const summary = after.tenants[t.tenant]?.summary;
    if (!summary) continue;
    for (const [name, c] of Object.entries(summary.connections)) out.push({ tenant: t.tenant, connection: name, ike: c.ike.proposals, esp: c.esp.proposals });
  }
  return out;
}

export function assemblePlan(
  against: string,
  base: BaseBundle[],
  now: Bundle[],
  lock: { changes: string[]; before?: string; after?: string },
  only?: string[],
  signedWith: (armored: string) => string | undefined = () => undefined,
  rollout: Record<string, { wave: number }> = {},
): Plan {
  const baseBy = new Map(base.map((b) => [b.gateway, b]));
  const nowBy = new Map(now.map((b) => [b.gateway, b]));
  const names = [...new Set([...baseBy.keys(), ...nowBy.keys()])].filter((g) => !only || only.includes(g)).sort();
  const gateways: GatewayPlan[] = names.map((g) => {
    const x = baseBy.get(g);
    const y = nowBy.get(g);
    const files = diffFiles(g, x?.files ?? [], y?.files ?? []);
    const imp = impact(x?.manifest, y?.manifest);
    const status = !x ? 'added' : !y ? 'removed' : files.length || imp.tenants.length ? 'changed' : 'unchanged';
    const before = sourceOf(x, signedWith);
    const after = sourceOf(y, signedWith);
    return { gateway: g, status, impact: imp, files, proposals: proposalsOf(imp, y?.manifest), source: { ...(before ? { before } : {}), ...(after ? { after } : {}) }, ...(rollout[g] ? { rollout: { wave: rollout[g].wave } } : {}) };
  });
  const lockPatch = lock.before !== undefined && lock.after !== undefined && lock.before !== lock.after ? patch('allocations.lock.yaml', lock.before, lock.after) : '';
  return {
    against,
    gateways,
    lock: { changes: lock.changes, patch: lockPatch },
    changed: gateways.some((g) => g.status !== 'unchanged') || !!lock.changes.length || !!lockPatch,
  };
}
