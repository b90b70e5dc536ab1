// Bundle phase: every target's files for one gateway, plus manifest.json with sha256s and per-tenant digests. Pure.
import { createHash } from 'node:crypto';
import type { Gateway, Model } from '../model/model';
import { tenantsOn } from '../model/model';
import type { Allocations } from '../model/lock';
import { TARGETS } from '../targets';
import { RenderedFile, Section, Target, TargetInput, flat, text } from '../targets/target';
import type { Tenant } from '../model/model';
import { Cache, Spill, codeDigest, keyOf, restoreFile, sha256 as digestOf } from '../util/cache';
import type { Place } from '../model/diagnostics';
import type { TenantSummary } from '../model/summary';
import { VERSION } from '../util/version';
import { newlines } from '../util/text-store';
import { unsliced } from '../util/unsliced';
import { summarize } from '../model/summary';
import { BundleSource, formatManifest, Manifest, MANIFEST, PARTS_MIN, partsOf, summaryPath } from './manifest';
import { IndexRecord, PartHead, PartsIndex, TenantParts, headsOf, writeIndex } from './parts-index';
import type { PreviousTree, TenantLayout } from './write';

// manifest.json's format lives in manifest.ts (apply reads it without loading the compiler).
export { formatManifest, parseManifest, sameEntryText, MANIFEST, SUMMARIES, summaryPath } from './manifest';
export type { BundleSource, Manifest } from './manifest';

export interface BundleFile {
  path: string;
  content: string;
  mode: number;
}


/**
 * One of the pieces a file made for plan is joined of: a string (gateway sections, a rendered tenant's part), or a
 * cached tenant's part whose text is read from its `parts` entry only when asked for (its length and newlines are
 * known without it). Two sides that took a tenant from the same cache record hold the same Piece object.
 */
export type Segment = string | Piece;

/** Thrown when a part the parts index promised cannot be read as promised: plan then runs again without the index. */
export class StaleCache extends Error {
  constructor(what: string) {
    super(`stale work cache entry: ${what}`);
  }
}

/**
 * A cached tenant's part in one file, read when first asked for (see Segment); it is its own section of the file, and
 * its own CachedPart (path, mode, slot): one object per part of each of 10,000 tenants.
 */
export class Piece implements Section {
  private read?: string;
  readonly mode?: number;
  constructor(
    readonly tenant: string,
    private readonly from: LazyEntry,
    private readonly target: string,
    private readonly index: number,
    readonly path: string,
    mode: number | null,
    readonly slot: number,
    readonly length: number,
    readonly lines: number,
  ) {
    if (mode !== null) this.mode = mode;
  }

  get text(): string {
    if (this.read !== undefined) return this.read;
    const p = this.from.entry().targets[this.target]?.[this.index];
    const t = p?.text;
    if (typeof t !== 'string' || t.length !== this.length || newlines(t) !== this.lines) throw new StaleCache(`${this.from.file}: ${this.target} part ${this.index}`);
    return (this.read = t);
  }
}

/** The text of a segment (reading a Piece). */
export const segmentText = (s: Segment): string => (typeof s === 'string' ? s : s.text);

export { newlines };

/**
 * A file whose text is its sections' texts joined when first read: plan compares most files
 * section by section (a cached tenant's part is the same piece on both sides) and joins only
 * what it diffs (see segmentsOf, diffFiles).
 */
class JoinedFile implements BundleFile {
  private joined?: string;
  constructor(
    readonly path: string,
    readonly segments: Segment[],
    readonly mode: number,
  ) {}

  get content(): string {
    return (this.joined ??= this.segments.map(segmentText).join(''));
  }
}

/**
 * A file of a build with a cache: its sections' texts joined when first read, then only the text is kept. A file whose
 * sha256 the previous tree gives (the same recipe) is joined only if it is written (not linked from the old tree).
 */
class BuiltFile implements BundleFile {
  private joined?: string;
  constructor(
    readonly path: string,
    private segments: Array<string | OldRun> | undefined,
    readonly mode: number,
  ) {}

  get content(): string {
    if (this.joined === undefined) {
      this.joined = this.segments!.map((x) => (typeof x === 'string' ? x : x.text)).join('');
      this.segments = undefined;
    }
    return this.joined;
  }
}

/**
 * Build: where each file of a bundle goes as soon as it is made (src/bundle/write.ts, StagedTree), its text then let
 * go: the bundle holds its files' paths, modes and manifest entries, not 100 MB of texts at 10,000 tenants. Not
 * manifest.json (build may set its source after; it writes that one itself).
 */
export interface FileSink {
  /** Writes `f`, whose sha256 is `sha` (or links the old tree's file of that sha256); `bytes`: its text's, when made. */
  put(f: BundleFile, sha: string, bytes?: Buffer): void;
  /** The text of a file put, read back. */
  read(path: string): string;
}

/** A file put into a FileSink: its text is read back from there when asked for. */
class SunkFile implements BundleFile {
  constructor(
    readonly path: string,
    private readonly sink: FileSink,
    readonly mode: number,
  ) {}

  get content(): string {
    return this.sink.read(this.path);
  }
}

/** A file whose text is read when first asked for (a cached tenant's summaries/ file in plan, which shows none of them). */
class LazyFile implements BundleFile {
  constructor(
    readonly path: string,
    private readonly read: () => string,
    readonly mode: number,
  ) {}

  get content(): string {
    return this.read();
  }
}

/** The pieces a file's text is joined of, when it was made for plan (`lean`); undefined for any other file. */
export function segmentsOf(f: BundleFile): Segment[] | undefined {
  return f instanceof JoinedFile ? f.segments : undefined;
}

export interface Bundle {
  gateway: string;
  files: BundleFile[];
  /** The targets' output with its sections; kept only when asked for (checks, tests): it doubles the bundle's memory. */
  rendered?: RenderedFile[];
  manifest: Manifest;
}


function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

const EMPTY_SHA256 = sha256('');

/** The work cache and the validated files' keys, for reusing each tenant's rendered sections. */
export interface RenderCache {
  cache: Cache;
  fileKeys: Map<string, string>;
  /** A model tenant as its whole entity, when the model holds summaries of the tenants validate read from its pack. */
  whole?: (t: Tenant) => Tenant;
  /**
   * The gateway's parts index (src/bundle/parts-index.ts). `read`: plan (lean, no sections) takes each tenant the index
   * holds under its render key from it, its texts read only when a diff shows them. `rewrite`: the index is written
   * again when it is missing or more than this many of its records are stale; undefined: never (plan's base side).
   */
  index?: { read: boolean; rewrite?: number };
  /**
   * Build: what the last build recorded of out/<gateway>/ (src/bundle/write.ts). A tenant the parts index and the
   * previous tree both hold under its render key is taken from the index, its texts out of the files as written there.
   */
  previous?: (gateway: string) => PreviousTree | undefined;
}

/**
 * What a build with a cache records of a bundle for the next one (PreviousTree): each tenant's render key and where
 * its parts begin in their files (in its entry's order of parts), and each target file's recipe.
 */
export interface Layout {
  tenants: Record<string, TenantLayout>;
  recipes: Map<string, string>;
}

const layouts = new WeakMap<Bundle, Layout>();

/** The layout of a bundle a build made with a cache (see Layout); undefined for any other. */
export function layoutOf(b: Bundle): Layout | undefined {
  return layouts.get(b);
}

/**
 * Renders one gateway's bundle in memory. Same model and source commit, same bytes (no time, no host name; with or without a cache).
 * `lean` (plan): the files' texts are joined only when read, no manifest.json is made and the manifest lists only the
 * summaries' hashes (plan shows neither the manifest nor the other hashes; it compares summaries by theirs).
 */
export function bundleGateway(model: Model, gateway: Gateway, alloc: Allocations, keepRendered = false, source: BundleSource | null = null, rc?: RenderCache, lean = false, sink?: FileSink): Bundle {
  // A build that writes its files as they are made (sink) writes a missed tenant's texts for its `parts` entry to a
  // scratch file as each target renders, too (Reuse.spill), and makes the entry of them at the end.
  const spill = rc && sink && !lean ? rc.cache.spill() : undefined;
  try {
    return bundleOne(model, gateway, alloc, keepRendered, source, rc, lean, sink, spill);
  } finally {
    spill?.close();
  }
}

function bundleOne(model: Model, gateway: Gateway, alloc: Allocations, keepRendered: boolean, source: BundleSource | null, rc: RenderCache | undefined, lean: boolean, sink: FileSink | undefined, spill: Spill | undefined): Bundle {
  // Each missed tenant's whole entity, read once for every target and let go before the cache entries are written.
  const wholes = new Map<Tenant, Tenant>();
  const whole = rc?.whole;
  const wholeOf = whole
    ? (t: Tenant): Tenant => {
        let w = wholes.get(t);
        if (!w) wholes.set(t, (w = whole(t)));
        return w;
      }
    : (t: Tenant) => t;
  const reuse = rc ? lookUp(rc, gateway, tenantsOn(model, gateway.name), alloc, keepRendered, lean, spill) : undefined;
  // Without the render cache's entries every tenant is rendered, from its whole entity.
  const tenants = reuse || !rc?.whole ? tenantsOn(model, gateway.name) : tenantsOn(model, gateway.name).map(wholeOf);
  const files: BundleFile[] = [];
  const kept: RenderedFile[] = [];
  // Per tenant, per file: the digest of its sections. Target by target, so one target's sections are let go
  // (joined into the file's text) before the next renders: at 10,000 tenants they are hundreds of MB.
  const perTenant = new Map<string, Map<string, string>>();
  const gatewayParts = new Map<string, string>();
  // Files whose sha256 is known without hashing their text: cached tenants' summaries, files of a recipe the previous tree holds.
  const known = new Map<string, string>();
  // With a sink: each file's manifest entry, made as it is put there (its text is then let go).
  const entries = new Map<string, Manifest['files'][string]>();
  const sunk = (f: BundleFile): BundleFile => {
    // A large file's bytes, made to be hashed, are what is written (no second copy of 20 MB: glibc keeps such blocks).
    const made: { bytes?: Buffer } = {};
    const e = fileEntry(f, known.get(f.path), false, made);
    entries.set(f.path, e);
    sink!.put(f, e.sha256, made.bytes);
    return new SunkFile(f.path, sink!, f.mode);
  };
  for (const target of TARGETS) {
    const input = { model, gateway, tenants, alloc };
    // Without the render cache, one file at a time where the target can (see bundleGatewayTo).
    // A build filling the cache for this gateway (no tenant cached, a spill to write the entries' texts to) renders
    // one file at a time too where the target can (renderFresh).
    const each = reuse?.spill && !reuse.hits.size && target.renderEach ? renderFresh(target, target.renderEach.bind(target), input, reuse, wholeOf) : undefined;
    for (const f of each ?? (reuse ? renderReusing(target, input, reuse, wholeOf) : target.renderEach?.(input) ?? target.render(input))) {
      const recipe = reuse?.recipes?.get(f.path);
      // A file of PARTS_MIN bytes or more is hashed as it is made: its manifest entry lists its parts too.
      const was = recipe === undefined ? undefined : reuse!.previous?.shaOf(f.path, recipe, PARTS_MIN);
      if (was !== undefined) known.set(f.path, was);
      let file: BundleFile;
      if (lean) file = new JoinedFile(f.path, f.sections.map(segmentOf), f.mode ?? 0o644);
      else if (reuse?.previous) {
        const b = new BuiltFile(f.path, f.sections.map((x) => (x instanceof OldRun ? x : x.text)), f.mode ?? 0o644);
        // Joined now unless the previous tree gives its sha256: the sections go as the next target renders.
        if (was === undefined) void b.content;
        file = b;
      } else file = { path: f.path, content: text(f), mode: f.mode ?? 0o644 };
      const cuts = reuse?.slices?.get(f.path);
      if (cuts) {
        // Slices of the file's text, which the bundle holds until it is written: no second copy of these lines. With a
        // sink the file's text goes now: copies.
        const c0 = file.content;
        for (const c of cuts) c.texts[c.at] = sink ? unsliced(c0.slice(c.start, c.start + c.length)) : c0.slice(c.start, c.start + c.length);
        reuse!.slices!.delete(f.path);
      }
      // A cached tenant's digest comes with its sections.
      digestFile(f, gatewayParts, perTenant, (s) => s instanceof Piece || s instanceof OldRun || !!reuse?.hits.has(s.tenant!));
      files.push(sink ? sunk(file) : file);
      if (keepRendered) kept.push(f);
    }
    // Without plan's other side to share them, the cached tenants' texts of this target are in its files now.
    if (reuse?.release) for (const hit of reuse.hits.values()) delete hit.targets[target.name];
  }
  files.sort(byPath);
  kept.sort(byPath);
  // Each tenant's summary is its own file (see SUMMARIES): a one-tenant change rewrites one small file, not the manifest's 26 MB.
  // A cached tenant's comes as the file's text and sha256 (parsed only when asked for: plan reads the changed tenants' only).
  // Kept as their files' texts only: the objects were 40 MB at 10,000 tenants (the texts 26 MB), and the manifest's
  // summary of a tenant is asked for only when plan or apply finds it changed (parsed then, see lazySummary).
  const summaries = new Map<string, string>();
  for (const t of tenants) {
    const hit = reuse?.hits.get(t.name);
    if (hit) {
      // A build with the previous tree links the file from there (its sha256 is the entry's): its text is read only if not.
      known.set(summaryPath(t.name), hit.summarySha);
      const f = lean || reuse?.previous ? summaryFile(t.name, hit) : { path: summaryPath(t.name), content: hit.summaryText, mode: 0o644 };
      files.push(sink ? sunk(f) : f);
    } else {
      const summary = summaryText(summarize(wholeOf(t), gateway, alloc));
      const f = { path: summaryPath(t.name), content: summary, mode: 0o644 };
      // The text stays for the tenant's cache entry and its manifest summary; with a sink only the file holds it (and
      // the spill, for the entry).
      const fresh = reuse?.spill && reuse.fresh.get(t.name);
      if (fresh) fresh.summary = [reuse!.spill!.append(summary), Buffer.byteLength(summary)];
      else if (!sink || reuse) summaries.set(t.name, summary);
      files.push(sink ? sunk(f) : f);
    }
  }
  wholes.clear();
  const digests = new Map(tenants.map((t) => [t.name, reuse?.hits.get(t.name)?.digest ?? combineDigests(perTenant.get(t.name))]));
  if (reuse) {
    const shas = store(rc!.cache, reuse, summaries, digests, (tenant) => entries.get(summaryPath(tenant))?.sha256);
    if (reuse.rewriteIndex) writeIndex(rc!.cache, gateway.name, tenants.map((t) => [t.name, recordOf(t.name, reuse, digests, shas)]));
  }
  files.sort(byPath);
  const entry = (t: Tenant): Manifest['tenants'][string] => {
    const e = tenantEntry(t, digests.get(t.name)!);
    const hit = reuse?.hits.get(t.name);
    if (hit) summaryFrom(e, hit);
    else lazySummary(e, summaries.get(t.name) ?? summaryReader(sink!, t.name));
    return e;
  };
  const manifest = manifestOf(
    gateway,
    source,
    combineDigests(gatewayParts),
    Object.fromEntries(tenants.map((t) => [t.name, entry(t)])),
    Object.fromEntries(files.filter((f) => !lean || !(f instanceof JoinedFile)).map((f) => [f.path, entries.get(f.path) ?? fileEntry(f, known.get(f.path), lean)])),
  );
  if (!lean) files.push({ path: MANIFEST, content: formatManifest(manifest), mode: 0o644 });
  files.sort(byPath);
  reuse?.previous?.release();
  const made: Bundle = { gateway: gateway.name, files, ...(keepRendered ? { rendered: kept } : {}), manifest };
  if (reuse?.offsets) layouts.set(made, { tenants: Object.fromEntries(tenants.map((t) => [t.name, [reuse.keys.get(t.name)!, ...(reuse.offsets!.get(t.name) ?? [])]])), recipes: reuse.recipes! });
  return made;
}

/** A file's manifest entry: its sha256 and mode, and (not for plan's lean bundles) its parts when it is large (its bytes then in `made`). */
function fileEntry(f: BundleFile, sha: string | undefined, lean: boolean, made?: { bytes?: Buffer }): Manifest['files'][string] {
  const mode = f.mode.toString(8).padStart(4, '0');
  if (sha !== undefined) return { sha256: sha, mode };
  const c = f.content;
  // A string of PARTS_MIN UTF-16 units is at least PARTS_MIN bytes: only those are encoded to be measured.
  if (lean || c.length < PARTS_MIN) return { sha256: sha256(c), mode };
  const b = Buffer.from(c, 'utf8');
  if (made) made.bytes = b;
  return { sha256: createHash('sha256').update(b).digest('hex'), mode, parts: partsOf(b) };
}

/** A section's text as a segment of a plan's file: a cached tenant's Piece as it is (read only if diffed). */
const segmentOf = (x: Section): Segment => (x instanceof Piece ? x : x.text);

/** A cached tenant's summaries/ file, read from its entry when first asked for (made out here: see summaryFrom). */
function summaryFile(tenant: string, hit: RenderEntry): BundleFile {
  return new LazyFile(summaryPath(tenant), () => hit.summaryText, 0o644);
}

/** A tenant's parts index record as this run has it: its entry's, or its parts as just rendered. */
function recordOf(tenant: string, reuse: Reuse, digests: Map<string, string>, shas: Map<string, string>): TenantParts {
  const key = reuse.keys.get(tenant)!;
  const hit = reuse.hits.get(tenant);
  if (hit) return { key, digest: hit.digest, summarySha: hit.summarySha, targets: hit.head };
  return { key, digest: digests.get(tenant)!, summarySha: shas.get(tenant)!, targets: reuse.fresh.get(tenant)?.parts ?? {} };
}

/**
 * A cached tenant's manifest summary, parsed when first read. Made out here: a getter made in bundleGateway would
 * keep its whole scope (the model's tenants among it) alive as long as the manifest.
 */
function summaryFrom(e: Manifest['tenants'][string], hit: RenderEntry): void {
  Object.defineProperty(e, 'summary', { enumerable: true, get: () => hit.summary() });
}

/** A rendered tenant's manifest summary, parsed from its file's text when first read (made out here, as summaryFrom). */
function lazySummary(e: Manifest['tenants'][string], text: string | (() => string)): void {
  let parsed: TenantSummary | undefined;
  Object.defineProperty(e, 'summary', { enumerable: true, get: () => (parsed ??= JSON.parse(typeof text === 'string' ? text : text()) as TenantSummary) });
}

/** A tenant's summaries/ file's text, read back from the sink it was put into. */
function summaryReader(sink: FileSink, tenant: string): () => string {
  return () => sink.read(summaryPath(tenant));
}

/** Records another source in a rendered bundle's manifest (build: the lock it writes is not the commit's). */
export function setSource(b: Bundle, source: BundleSource | null): void {
  b.manifest.source = source;
  const f = b.files.find((x) => x.path === MANIFEST)!;
  f.content = formatManifest(b.manifest);
}

/**
 * Every gateway's bundle, by gateway name order; `sink`: build's, where a gateway's files go as they are made (none:
 * kept in memory).
 */
export function bundleAll(model: Model, alloc: Allocations, keepRendered = false, source: BundleSource | null = null, rc?: RenderCache, lean = false, sink?: (gateway: string) => FileSink | undefined): Bundle[] {
  return [...model.gateways].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((g) => bundleGateway(model, g, alloc, keepRendered, source, rc, lean, sink?.(g.name)));
}

/*
 * Reusing rendered sections. A tenant's sections are a function of its own file, the gateway's file
 * and its lock entries (that is the "one tenant's change touches only its own lines" property the
 * tests hold every target to), so they are cached per (gateway, tenant) under a key of exactly
 * those, plus the compiler's code digest. A target's gateway sections may depend on which kinds of
 * tenants exist (netplan opens `vlans:` only if some tenant has a VLAN): a target that needs that
 * says so with gatewayFacts(tenant), and the gateway sections are rendered from the missed tenants
 * plus one cached witness per fact value not already among them. Cached sections then go back into
 * the slots they came from: a slot is the number of gateway sections before it in its file, and
 * within a slot sections follow the tenants' name order, as every target renders them.
 */

/** A tenant's sections in one file: which file, its mode, after how many gateway sections, the sections. */
interface Part {
  path: string;
  mode?: number;
  slot: number;
  sections: Section[];
}

/** A cached tenant's sections in one file, joined: what a build without --check needs of them; from the parts index (plan), a Piece. */
interface CachedPart {
  readonly path: string;
  readonly mode?: number;
  readonly slot: number;
  /** Its sections' texts, joined (a Piece reads its entry for it: test `instanceof Piece` first). */
  readonly text: string;
}



/**
 * One (gateway, tenant) cache entry: its parts per target, its summary and the digest of its sections.
 *
 * Stored as text in four parts, so that a warm run builds no object per section or summary: line 1 is
 * JSON of the digest, the sha256 of the summary's file and per target each part's [path, mode, slot,
 * length of its text, newlines in it]; line 2 is JSON of each part's sections without their text ([tenant, origin,
 * length]), parsed only when the sections are asked for (build --check, tests); line 3 is the
 * summaries/<tenant>.json file's text as it is written (JSON has no raw newline), parsed only when the
 * summary is asked for; the rest is every part's text, one after the other. A cached tenant's part goes
 * into its file as its joined text.
 */
interface RenderEntry {
  targets: Record<string, CachedPart[]>;
  /** summaries/<tenant>.json's text (newline included) and its sha256. */
  summaryText: string;
  summarySha: string;
  /** The summary itself, parsed from summaryText when first asked for. */
  summary(): TenantSummary;
  digest: string;
  /** Each part's sections, made from line 2 when first asked for. */
  sections(target: string, part: number): Section[];
  /** Line 1's parts per target: what the parts index records of the tenant. */
  head: Record<string, PartHead[]>;
}

type Head = { digest: string; summarySha: string; targets: Record<string, PartHead[]> };
type Meta = Record<string, Array<Array<[string | null, Place | null, number]>>>;

/**
 * Reads a render entry's text (see RenderEntry); undefined when it is not one. Its texts are copies: without
 * `withSections` (build --check, tests) the entry keeps nothing else of the text, line 2 is not read at all.
 */
function decodeEntry(body: string, file: string, withSections = true): RenderEntry | undefined {
  const nl1 = body.indexOf('\n');
  const nl2 = body.indexOf('\n', nl1 + 1);
  const nl3 = nl2 < 0 ? -1 : body.indexOf('\n', nl2 + 1);
  if (nl1 < 0 || nl2 < 0 || nl3 < 0) return undefined;
  const head = JSON.parse(body.slice(0, nl1)) as Head;
  if (typeof head?.digest !== 'string' || typeof head.summarySha !== 'string' || !/^[0-9a-f]{64}$/.test(head.summarySha) || head.targets === null || typeof head.targets !== 'object') return undefined;
  const metaText = withSections ? body.slice(nl1 + 1, nl2) : undefined;
  const summaryText = unsliced(body.slice(nl2 + 1, nl3 + 1));
  if (summaryText[0] !== '{') return undefined;
  let at = nl3 + 1;
  const targets: Record<string, CachedPart[]> = {};
  // Plain loops: a closure here would keep the whole text alive with the entry (V8 gives a function's closures one context).
  for (const x of TARGETS) {
    const parts = head.targets[x.name];
    if (!Array.isArray(parts)) return undefined;
    const list: CachedPart[] = [];
    for (const [path, mode, slot, len, lines] of parts) {
      if (typeof path !== 'string' || !Number.isInteger(slot) || !Number.isInteger(len) || len < 0 || at + len > body.length || !Number.isInteger(lines)) return undefined;
      const text = unsliced(body.slice(at, (at += len)));
      // The line count is what the parts index and plan's diffs go by: one that is not the text's is not this entry.
      if (newlines(text) !== lines) return undefined;
      list.push(mode === null ? { path, slot, text } : { path, mode, slot, text });
    }
    targets[x.name] = list;
  }
  if (at !== body.length) return undefined;
  return entryOf(targets, summaryText, head.summarySha, head.digest, metaText, file, head.targets);
}

/** A decoded entry: its summary parsed and its sections made from line 2 (`metaText`) when first asked for. */
function entryOf(targets: Record<string, CachedPart[]>, summaryText: string, summarySha: string, digest: string, metaText: string | undefined, file: string, head: Record<string, PartHead[]>): RenderEntry {
  let parsed: TenantSummary | undefined;
  let meta: Meta | undefined;
  const made = new Map<string, Section[]>();
  const sections = (target: string, part: number): Section[] => {
    const known = made.get(`${target}/${part}`);
    if (known) return known;
    if (!meta) {
      if (metaText === undefined) throw new Error('read without its sections');
      meta = JSON.parse(metaText) as Meta;
      restoreFile(meta, file);
    }
    const p = targets[target][part];
    const whole = p.text as string;
    let off = 0;
    const out = meta[target][part].map(([tenant, origin, len]): Section => {
      if ((tenant !== null && typeof tenant !== 'string') || !Number.isInteger(len) || len < 0) throw new Error('not an entry');
      const text = whole.slice(off, (off += len));
      const s: Section = tenant === null ? { text } : { tenant, text };
      if (origin !== null) s.origin = origin;
      return s;
    });
    if (off !== whole.length) throw new Error('not an entry');
    made.set(`${target}/${part}`, out);
    return out;
  };
  return { targets, summaryText, summarySha, summary: () => (parsed ??= JSON.parse(summaryText) as TenantSummary), digest, sections, head };
}

/** A tenant's `parts` entry, read (and checked against its index record) only when one of its texts is asked for. */
class LazyEntry {
  private got?: RenderEntry;
  constructor(
    private readonly cache: Cache,
    private readonly rec: IndexRecord,
    readonly file: string,
  ) {}

  entry(): RenderEntry {
    if (this.got) return this.got;
    const e = this.cache.getWith<RenderEntry>(RENDER, this.rec.key, (body) => decodeEntry(body, this.file, false), false);
    if (!e || e.digest !== this.rec.digest || e.summarySha !== this.rec.summarySha) throw new StaleCache(this.file);
    return (this.got = e);
  }
}

/** Entries made of index records (plan's two sides take an unchanged tenant's from the same record: the same Pieces). */
const fromIndex = new WeakMap<IndexRecord, RenderEntry>();

/** A cached tenant as its parts index record gives it: every text a Piece, its summary read when asked for. */
function indexedEntry(cache: Cache, rec: IndexRecord, tenant: string, file: string): RenderEntry {
  const known = fromIndex.get(rec);
  if (known) return known;
  const lazy = new LazyEntry(cache, rec, file);
  const targets: Record<string, CachedPart[]> = {};
  TARGETS.forEach((x, k) => {
    targets[x.name] = rec.parts[k].map(([n, mode, slot, len, lines], i) => new Piece(tenant, lazy, x.name, i, rec.paths[n], mode, slot, len, lines));
  });
  const e = recordEntry(lazy, rec, targets);
  fromIndex.set(rec, e);
  return e;
}

/**
 * Build: an unchanged tenant taken from the parts index and the previous tree (Reuse.kept): its parts are put into
 * their files as runs of the files the last build wrote (OldRun), its summary read from its entry only if asked for.
 */
interface Kept {
  rec: IndexRecord;
  /** Where each of its parts (in the record's order) began in its file as the last build wrote it. */
  at: number[];
  /** Its `parts` entry, read only if a file of the old tree cannot be (OldRun) or its summary is asked for. */
  lazy: LazyEntry;
}

/** A kept tenant's entry: its digest and summary's sha256 from the index record; no texts (its parts are OldRuns). */
function keptEntry(lazy: LazyEntry, rec: IndexRecord): RenderEntry {
  return recordEntry(lazy, rec, {});
}

/** An entry made of an index record: its digest and summary's sha256 from the record, the rest read from its entry when asked for. */
function recordEntry(lazy: LazyEntry, rec: IndexRecord, targets: Record<string, CachedPart[]>): RenderEntry {
  return {
    targets,
    get summaryText() {
      return lazy.entry().summaryText;
    },
    summarySha: rec.summarySha,
    summary: () => lazy.entry().summary(),
    digest: rec.digest,
    sections: () => {
      throw new Error('read without its sections');
    },
    get head() {
      return headsOf(rec);
    },
  };
}

/**
 * Build: the parts of kept tenants that follow one another in a file as the last build wrote it, one section whose
 * text is that run of the file (read when asked for: a file whose sha256 the previous tree gives is not joined).
 * Its tenant is the first one's; the others are in `members` (tenant, number among its parts, among this target's,
 * where it began in the old file), four values each. When the file is no longer as recorded (edited, removed) or the
 * run's newlines are not its parts', its text is its members' parts read from their `parts` entries.
 */
class OldRun implements Section {
  private read?: string;
  end: number;
  lines = 0;
  readonly members: Array<string | number> = [];
  constructor(
    readonly tenant: string,
    private readonly previous: PreviousTree,
    private readonly kept: Map<string, Kept>,
    private readonly target: string,
    readonly path: string,
    readonly start: number,
  ) {
    this.end = start;
  }

  add(tenant: string, flat: number, i: number, length: number, lines: number): void {
    this.members.push(tenant, flat, i, this.end);
    this.end += length;
    this.lines += lines;
  }

  get text(): string {
    if (this.read !== undefined) return this.read;
    const t = this.previous.slice(this.path, this.start, this.end - this.start);
    // Whole lines of the old file (every part of the targets' is), else as many newlines as its parts have: counting
    // them in every run was 60 MB scanned by a warm build at 10,000 tenants.
    const lines = t !== undefined && ((this.previous.lineStart(this.path, this.start) && (t === '' || t.charCodeAt(t.length - 1) === 10)) || newlines(t) === this.lines);
    if (lines) return (this.read = t!);
    // From the entries (a StaleCache if one cannot be read as its index record says: build starts again from them).
    const texts: string[] = [];
    const ms = this.members;
    for (let j = 0; j < ms.length; j += 4) {
      const part = this.kept.get(ms[j] as string)!.lazy.entry().targets[this.target]?.[ms[j + 2] as number];
      if (typeof part?.text !== 'string') throw new StaleCache(`${ms[j] as string}: ${this.target} part ${ms[j + 2] as number}`);
      texts.push(part.text);
    }
    return (this.read = texts.join(''));
  }
}

/** summaries/<tenant>.json's text. */
function summaryText(s: TenantSummary): string {
  return flat(JSON.stringify(s) + '\n');
}

/** A missed tenant's parts, per target as rendered: line 1's and line 2's JSON text and the texts. */
interface Fresh {
  meta: string[];
  texts: string[];
  /**
   * With a spill (Reuse.spill), `meta` and `texts` stay empty: per target, where its line 2 JSON followed by its parts'
   * texts was appended, and the two's lengths in bytes (three numbers each); where its summary's text was.
   */
  spilled?: number[];
  summary?: [number, number];
  /** Line 1's parts per target, for the parts index. */
  parts: Record<string, PartHead[]>;
}

interface Reuse {
  keys: Map<string, string>;
  hits: Map<string, RenderEntry>;
  /**
   * Per missed tenant, each target's parts as text, made as soon as the target rendered: holding
   * the section objects of every target until the end would undo bundleGateway's target-by-target
   * release (1.2 GB instead of 0.6 GB at 10,000 tenants).
   */
  fresh: Map<string, Fresh>;
  tenants: Tenant[];
  /** Give each cached tenant's sections as rendered (build --check, tests), not one joined section per part. */
  sections: boolean;
  /**
   * Let each cached tenant's texts of a target go once they are joined into its files (build): the entries are
   * this bundle's own copies, not kept by the cache for another side.
   */
  release: boolean;
  /** Write the gateway's parts index at the end (it is missing or too stale). */
  rewriteIndex: boolean;
  /**
   * Not lean (build): a missed tenant's part texts in `fresh` are cut from its file's joined text once that is made
   * (`slices`), not joined a second time: a filling build held every tenant's lines twice until it wrote the entries.
   * Not with a spill.
   */
  slices?: Map<string, Slice[]>;
  /**
   * Build writing its files as they are made: a missed tenant's line 2 and texts are appended to this scratch file as
   * each target renders (Fresh.spilled), its summary too, and its entry is made of them at the end: with the files'
   * texts let go, holding them for the entries was most of a filling build's memory (10,000 tenants: 140 MB).
   */
  spill?: Spill;
  /** Build: the tree the last build wrote (RenderCache.previous), and the tenants taken from it (Kept; also in `hits`). */
  previous?: PreviousTree;
  kept?: Map<string, Kept>;
  /** Build: per tenant, where its parts begin in their files (Layout), filled target by target; how many it has so far. */
  offsets?: Map<string, number[]>;
  counts?: Map<string, number>;
  /** Build: each target file's recipe (Layout). */
  recipes?: Map<string, string>;
}

/** Where a missed tenant's part lies in its file's text, and where in its Fresh texts it goes. */
interface Slice {
  texts: string[];
  at: number;
  start: number;
  length: number;
}

function lookUp(rc: RenderCache, gateway: Gateway, tenants: Tenant[], alloc: Allocations, sections: boolean, lean: boolean, spill?: Spill): Reuse | undefined {
  const gwKey = rc.fileKeys.get(gateway.origin.file);
  if (!gwKey) return undefined;
  const keys = new Map<string, string>();
  for (const t of tenants) {
    const tKey = rc.fileKeys.get(t.file);
    if (!tKey) return undefined;
    keys.set(t.name, keyOf('render', codeDigest(), gwKey, tKey, JSON.stringify(alloc.tenants[t.name] ?? null)));
  }
  const index = rc.index ? PartsIndex.read(rc.cache, gateway.name, lean) : undefined;
  // Plan without sections takes a tenant the index holds under its key from there: no entry read unless a diff shows its texts.
  const fromIdx = rc.index?.read && lean && !sections ? index : undefined;
  // A build takes a tenant the index and the previous tree both hold under its key from there: its texts out of the old files.
  const previous = !lean && !sections && index ? rc.previous?.(gateway.name) : undefined;
  const kept = new Map<string, Kept>();
  const hits = new Map<string, RenderEntry>();
  for (const t of tenants) {
    const key = keys.get(t.name)!;
    const rec = fromIdx?.get(t.name, key);
    if (rec) {
      hits.set(t.name, indexedEntry(rc.cache, rec, t.name, t.file));
      continue;
    }
    const was = previous && index!.get(t.name, key);
    const at = was ? previous!.offsets(t.name, key, was.parts.reduce((n, list) => n + list.length, 0)) : undefined;
    if (was && at) {
      const lazy = new LazyEntry(rc.cache, was, t.file);
      kept.set(t.name, { rec: was, at, lazy });
      hits.set(t.name, keptEntry(lazy, was));
      rc.cache.hits++;
      continue;
    }
    // Plan (lean) keeps the entries for its other side; a build joins each into its files and lets it go.
    const got = rc.cache.getWith<RenderEntry>(RENDER, key, (body) => decodeEntry(body, t.file, sections), lean || sections);
    // Its own copy of the parts lists, let go target by target (see release); without sections (they are not asked for).
    const hit = got && !lean && !sections ? entryOf({ ...got.targets }, got.summaryText, got.summarySha, got.digest, undefined, t.file, got.head) : got;
    // Line 2 is read only when the sections are wanted: then an entry whose sections do not add up to its parts is a miss too.
    if (hit && sections && !sectionsAddUp(hit)) {
      // Read, but not used: the counters say so.
      rc.cache.hits--;
      rc.cache.misses++;
    } else if (hit) hits.set(t.name, hit);
  }
  const rewrite = rc.index?.rewrite;
  const rewriteIndex = rewrite !== undefined && (!index || index.stale(keys) > rewrite);
  const track = lean ? {} : { offsets: new Map<string, number[]>(), counts: new Map<string, number>(), recipes: new Map<string, string>(), ...(spill ? { spill } : { slices: new Map<string, Slice[]>() }) };
  return { keys, hits, fresh: new Map(), tenants, sections, release: !lean && !sections, rewriteIndex, ...(previous ? { previous, kept } : {}), ...track };
}

function sectionsAddUp(e: RenderEntry): boolean {
  try {
    for (const x of TARGETS) e.targets[x.name].forEach((_, i) => e.sections(x.name, i));
    return true;
  } catch {
    return false;
  }
}

/** The entries' kind (their folder): `render` held them as one JSON document before. */
const RENDER = 'parts';

/**
 * Writes each missed tenant's `parts` entry; gives the sha256 of each one's summaries/ file (`summarySha`: of a file
 * put into a sink, whose text is in the spill).
 */
function store(cache: Cache, reuse: Reuse, summaries: Map<string, string>, digests: Map<string, string>, summarySha: (tenant: string) => string | undefined): Map<string, string> {
  const shas = new Map<string, string>();
  const spill = reuse.spill;
  for (const [name, f] of reuse.fresh) {
    if (spill && f.spilled && f.summary) {
      const sha = summarySha(name)!;
      shas.set(name, sha);
      // Nothing to make the entry of after a failed write (the cache is off then: nothing is stored).
      if (spill.failed || !cache.writing) continue;
      const head = `{"digest":${JSON.stringify(digests.get(name)!)},"summarySha":${JSON.stringify(sha)},"targets":{${headOf(f)}}}`;
      const metas: Buffer[] = [Buffer.from(`${head}\n{`)];
      const texts: Buffer[] = [];
      // A run without line 2 JSON (renderFresh's part texts) or without texts adds only the other.
      for (let k = 0; k < f.spilled.length; k += 3) {
        const b = spill.read(f.spilled[k], f.spilled[k + 1] + f.spilled[k + 2]);
        if (f.spilled[k + 1]) {
          if (metas.length > 1) metas.push(COMMA);
          metas.push(b.subarray(0, f.spilled[k + 1]));
        }
        if (f.spilled[k + 2]) texts.push(b.subarray(f.spilled[k + 1]));
      }
      metas.push(CLOSE, spill.read(f.summary[0], f.summary[1]));
      cache.putText(RENDER, reuse.keys.get(name)!, Buffer.concat([...metas, ...texts]));
      continue;
    }
    // Every text is there (a build's are cut from its files' texts: see Reuse.slices).
    let k = 0;
    for (const heads of Object.values(f.parts)) for (const h of heads) if (f.texts[k++]?.length !== h[3]) throw new Error(`parts of ${name}: a text is not its part's`);
    if (k !== f.texts.length) throw new Error(`parts of ${name}: more texts than parts`);
    const summary = summaries.get(name)!;
    const sha = sha256(summary);
    shas.set(name, sha);
    const head = `{"digest":${JSON.stringify(digests.get(name)!)},"summarySha":${JSON.stringify(sha)},"targets":{${headOf(f)}}}`;
    cache.putText(RENDER, reuse.keys.get(name)!, `${head}\n{${f.meta.join(',')}}\n${summary}${f.texts.join('')}`);
  }
  return shas;
}

/**
 * A missed tenant's line 1 `targets` members, made from its parts when its entry is written (held as text per target
 * until then, they were 10,000 tenants' second copy of their heads).
 */
function headOf(f: Fresh): string {
  return Object.entries(f.parts)
    .map(([name, heads]) => `${JSON.stringify(name)}:${JSON.stringify(heads)}`)
    .join(',');
}

const COMMA = Buffer.from(',');
const CLOSE = Buffer.from('}\n');

/**
 * renderReusing's files when every tenant is missed and the build spills (Reuse.spill), one file at a time as
 * target.renderEach gives them: each file's tenant parts are appended to the spill and laid out (layOut) as it comes,
 * so a filling build holds one file's sections at a time, not a target's for 10,000 tenants (the same files, parts,
 * entries and layouts as renderReusing's: each slot's parts in tenant order, each tenant's parts numbered in the order
 * they come). A tenant's texts go to the spill part by part (text-only runs, Fresh.spilled), its line 2 JSON for
 * the target after the target's last file.
 */
function* renderFresh(target: Target, renderEach: (input: TargetInput) => Iterable<RenderedFile>, input: TargetInput, reuse: Reuse, wholeOf: (t: Tenant) => Tenant): Generator<RenderedFile> {
  const spill = reuse.spill!;
  const order = new Map(input.tenants.map((t, i) => [t.name, i]));
  // Per tenant: its parts' heads and line 2 sections so far (this target's), and its parts' count before this target.
  const heads = new Map<string, PartHead[]>();
  const metas = new Map<string, unknown[][]>();
  const bases = new Map<string, number>();
  for (const t of input.tenants) {
    heads.set(t.name, []);
    metas.set(t.name, []);
    bases.set(t.name, reuse.counts?.get(t.name) ?? 0);
  }
  for (const f of renderEach({ ...input, tenants: input.tenants.map(wholeOf) })) {
    const { gateway, parts } = splitFile(f);
    // Each slot's parts in tenant order (stable: one tenant's in the order they came), as renderReusing puts them.
    const byOrder = parts.map((p, k) => [order.get(p.tenant)!, k] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const file: Section[][] = [];
    const marks: Mark[][] = [];
    for (const [, k] of byOrder) {
      const p = parts[k];
      const own = heads.get(p.tenant)!;
      const i = own.length;
      let text = '';
      for (const x of p.sections) text += x.text;
      own.push([f.path, f.mode ?? null, p.slot, text.length, newlines(text)]);
      metas.get(p.tenant)!.push(p.sections.map((x) => [x.tenant ?? null, x.origin ?? null, x.text.length]));
      const bytes = Buffer.byteLength(text);
      (freshOf(reuse, p.tenant).spilled ??= []).push(spill.append(text, bytes), 0, bytes);
      (file[p.slot] ??= []).push(...p.sections);
      (marks[p.slot] ??= []).push(p.tenant, bases.get(p.tenant)! + i, i, p.sections.length);
    }
    const sections: Section[] = [];
    if (reuse.offsets) {
      const recipe = layOut(target.name, f.path, f.mode, gateway, file, marks, reuse, sections);
      if (recipe !== undefined) reuse.recipes!.set(f.path, recipe);
    } else
      for (let k = 0; k <= gateway.length; k++) {
        if (file[k]) sections.push(...file[k]);
        if (k < gateway.length) sections.push(gateway[k]);
      }
    yield { path: f.path, sections, ...(f.mode !== undefined ? { mode: f.mode } : {}) };
  }
  const name = JSON.stringify(target.name);
  for (const t of input.tenants) {
    const r = freshOf(reuse, t.name);
    const own = heads.get(t.name)!;
    if (own.length) reuse.counts?.set(t.name, bases.get(t.name)! + own.length);
    const meta = `${name}:${Cache.json(metas.get(t.name), t.file)}`;
    const bytes = Buffer.byteLength(meta);
    (r.spilled ??= []).push(spill.append(meta, bytes), bytes, 0);
    r.parts[target.name] = own;
  }
}

/** A missed tenant's Fresh, made when first asked for. */
function freshOf(reuse: Reuse, tenant: string): Fresh {
  let r = reuse.fresh.get(tenant);
  if (!r) reuse.fresh.set(tenant, (r = { meta: [], texts: [], parts: {} }));
  return r;
}

/** A target's files as target.render(input) gives them, rendering only the tenants the cache misses (and witnesses). */
/**
 * A rendered file split into its gateway sections and its tenants' parts: each run of one tenant's sections, in the
 * file's order, at its slot (how many gateway sections come before it).
 */
function splitFile(f: RenderedFile): { gateway: Section[]; parts: Array<{ tenant: string; slot: number; sections: Section[] }> } {
  const gateway: Section[] = [];
  const parts: Array<{ tenant: string; slot: number; sections: Section[] }> = [];
  let part: (typeof parts)[number] | undefined;
  for (const s of f.sections) {
    if (s.tenant === undefined) {
      gateway.push(s);
      part = undefined;
      continue;
    }
    if (!part || part.tenant !== s.tenant) parts.push((part = { tenant: s.tenant, slot: gateway.length, sections: [] }));
    part.sections.push(s);
  }
  return { gateway, parts };
}

function renderReusing(target: Target, input: TargetInput, reuse: Reuse, wholeOf: (t: Tenant) => Tenant): RenderedFile[] {
  const missed = input.tenants.filter((t) => !reuse.hits.has(t.name));
  const facts = target.gatewayFacts ?? (() => '');
  const seen = new Set(missed.map(facts));
  const witnesses = new Set<string>();
  for (const t of input.tenants) {
    if (!reuse.hits.has(t.name)) continue;
    const f = facts(t);
    if (!seen.has(f)) {
      seen.add(f);
      witnesses.add(t.name);
    }
  }
  const rendered = target.render({ ...input, tenants: input.tenants.filter((t) => !reuse.hits.has(t.name) || witnesses.has(t.name)).map(wholeOf) });
  // Split the render into gateway sections per file and each tenant's parts.
  const skeleton = new Map<string, { mode?: number; gateway: Section[] }>();
  const own = new Map<string, Part[]>();
  for (const f of rendered) {
    const { gateway, parts } = splitFile(f);
    for (const { tenant, slot, sections } of parts) {
      let list = own.get(tenant);
      if (!list) own.set(tenant, (list = []));
      list.push({ path: f.path, ...(f.mode !== undefined ? { mode: f.mode } : {}), slot, sections });
    }
    skeleton.set(f.path, { ...(f.mode !== undefined ? { mode: f.mode } : {}), gateway });
  }
  // The first section of each missed tenant's part, when its text is to be cut from the file's (Reuse.slices).
  const firsts = new Map<Section, Slice>();
  for (const t of missed) {
    let r = reuse.fresh.get(t.name);
    if (!r) reuse.fresh.set(t.name, (r = { meta: [], texts: [], parts: {} }));
    const parts = own.get(t.name) ?? [];
    const name = JSON.stringify(target.name);
    const heads: PartHead[] = [];
    if (reuse.spill) {
      // Line 2's JSON and the texts, one after the other (store() splits them by their lengths in bytes).
      const meta = `${name}:${Cache.json(parts.map((p) => p.sections.map((x) => [x.tenant ?? null, x.origin ?? null, x.text.length])), t.file)}`;
      let texts = '';
      for (const p of parts) {
        const text = p.sections.map((x) => x.text).join('');
        heads.push([p.path, p.mode ?? null, p.slot, text.length, newlines(text)]);
        texts += text;
      }
      const metaBytes = Buffer.byteLength(meta);
      const textBytes = Buffer.byteLength(texts);
      (r.spilled ??= []).push(reuse.spill.append(meta + texts, metaBytes + textBytes), metaBytes, textBytes);
      r.parts[target.name] = heads;
      continue;
    }
    for (const p of parts) {
      if (reuse.slices) {
        // Its text is cut from the file's once that is joined (see Reuse.slices); until then, its place in r.texts.
        let length = 0;
        let lines = 0;
        for (const x of p.sections) {
          length += x.text.length;
          lines += newlines(x.text);
        }
        heads.push([p.path, p.mode ?? null, p.slot, length, lines]);
        firsts.set(p.sections[0], { texts: r.texts, at: r.texts.length, start: -1, length });
        r.texts.push('');
      } else {
        const text = p.sections.map((x) => x.text).join('');
        heads.push([p.path, p.mode ?? null, p.slot, text.length, newlines(text)]);
        r.texts.push(text);
      }
    }
    r.parts[target.name] = heads;
    r.meta.push(`${name}:${Cache.json(parts.map((p) => p.sections.map((x) => [x.tenant ?? null, x.origin ?? null, x.text.length])), t.file)}`);
  }
  // Put every tenant's parts (cached or fresh) into its file's slots, in tenant order.
  const slots = new Map<string, Section[][]>();
  const modes = new Map<string, number | undefined>();
  for (const [p, sk] of skeleton) modes.set(p, sk.mode);
  // Build: per file and slot, each part put there but a kept tenant's, four values each (Mark).
  const marks = reuse.offsets ? new Map<string, Mark[][]>() : undefined;
  const ti = TARGETS.indexOf(target);
  // Kept tenants' files by their number in the parts index's paths (every record of one index shares its list).
  const byNumber: Array<Section[][] | undefined> = [];
  // Plain loops, no closure per tenant: this runs for every part of 10,000 tenants on each side of a plan.
  for (const t of input.tenants) {
    const base = reuse.counts?.get(t.name) ?? 0;
    const kept = reuse.kept?.get(t.name);
    if (kept) {
      // Its parts as runs of the files the last build wrote: a part that begins where the slot's last run ends extends it.
      const list = kept.rec.parts[ti];
      reuse.counts!.set(t.name, base + list.length);
      for (let i = 0; i < list.length; i++) {
        const [n, mode, slot, length, lines] = list[i];
        const p = kept.rec.paths[n];
        let file = byNumber[n];
        if (!file) {
          file = slots.get(p);
          if (!file) {
            slots.set(p, (file = []));
            if (!modes.has(p)) modes.set(p, mode ?? undefined);
          }
          byNumber[n] = file;
        }
        const into = (file[slot] ??= []);
        const at = kept.at[base + i];
        const last = into.length ? into[into.length - 1] : undefined;
        if (last instanceof OldRun && last.path === p && last.end === at) last.add(t.name, base + i, i, length, lines);
        else {
          const run = new OldRun(t.name, reuse.previous!, reuse.kept!, target.name, p, at);
          run.add(t.name, base + i, i, length, lines);
          into.push(run);
        }
      }
      continue;
    }
    const hit = reuse.hits.get(t.name);
    const parts: Array<Part | CachedPart> | undefined = hit ? hit.targets[target.name] : own.get(t.name);
    if (!parts) continue;
    reuse.counts?.set(t.name, base + parts.length);
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      let file = slots.get(part.path);
      if (!file) {
        slots.set(part.path, (file = []));
        if (!modes.has(part.path)) modes.set(part.path, part.mode);
      }
      const into = (file[part.slot] ??= []);
      const before = into.length;
      if (part instanceof Piece) into.push(part);
      else if ('sections' in part) into.push(...part.sections);
      else if (reuse.sections) into.push(...hit!.sections(target.name, i));
      // Its lines as one section: the bundle joins them into the file's text and takes its digest from the entry.
      else into.push({ tenant: t.name, text: part.text });
      if (marks) {
        let m = marks.get(part.path);
        if (!m) marks.set(part.path, (m = []));
        (m[part.slot] ??= []).push(t.name, base + i, i, into.length - before);
      }
    }
  }
  const out: RenderedFile[] = [];
  for (const [p, mode] of modes) {
    const gateway = skeleton.get(p)?.gateway ?? [];
    const file = slots.get(p) ?? [];
    const sections: Section[] = [];
    if (marks) {
      const recipe = layOut(target.name, p, mode, gateway, file, marks.get(p) ?? [], reuse, sections);
      if (recipe !== undefined) reuse.recipes!.set(p, recipe);
    } else
      for (let k = 0; k <= gateway.length; k++) {
        if (file[k]) sections.push(...file[k]);
        if (k < gateway.length) sections.push(gateway[k]);
      }
    if (firsts.size) {
      // Only a file holding a missed tenant's part is measured: its text is joined anyway (a kept tenant's old run is
      // read only then, never for the thousands of one-tenant files a warm build links).
      const cuts: Slice[] = [];
      for (const x of sections) {
        const cut = firsts.get(x);
        if (cut && cut.start < 0) cuts.push(cut);
      }
      if (cuts.length) {
        let off = 0;
        for (const x of sections) {
          const cut = firsts.get(x);
          if (cut && cut.start < 0) cut.start = off;
          off += x.text.length;
        }
        reuse.slices!.set(p, cuts);
      }
    }
    out.push({ path: p, sections, ...(mode !== undefined ? { mode } : {}) });
  }
  return out;
}

/** A tenant part put into a file's slot, as four values in a row: tenant, its number among the tenant's parts (all targets), among this target's, how many sections. */
type Mark = string | number;

/**
 * A file with more tenant parts than this has no recipe: it is joined and hashed. Its recipe would name thousands of
 * parts (a gateway-wide file: one of any tenant's changes changes it), a one-tenant file's names one.
 */
const RECIPE_PARTS = 16;

/**
 * Build: puts a file's sections in order into `sections`, records where each tenant part in it begins (reuse.offsets),
 * and gives its recipe (Layout) when it has at most RECIPE_PARTS tenant parts: the digest of its path, mode, target, gateway sections' texts and,
 * in their order, each tenant part's tenant, render key and number. A tenant's parts are a function of its render key
 * (the render cache's premise), so two files of one recipe hold the same bytes.
 */
function layOut(target: string, p: string, mode: number | undefined, gateway: Section[], file: Section[][], marks: Mark[][], reuse: Reuse, sections: Section[]): string | undefined {
  let parts = 0;
  for (let k = 0; k < file.length; k++) {
    parts += (marks[k]?.length ?? 0) / 4;
    for (const s of file[k] ?? []) if (s instanceof OldRun) parts += s.members.length / 4;
  }
  const made = parts <= RECIPE_PARTS ? [`${p}\0${mode ?? 'default'}\0${target}\n`] : undefined;
  const offsets = reuse.offsets!;
  const place = (tenant: string, flat: number, off: number) => {
    let at = offsets.get(tenant);
    if (!at) offsets.set(tenant, (at = []));
    at[flat] = off;
  };
  let off = 0;
  for (let k = 0; k <= gateway.length; k++) {
    const slot = file[k];
    const m = marks[k];
    let x = 0;
    for (let n = 0; slot && n < slot.length; ) {
      const s = slot[n];
      if (s instanceof OldRun) {
        // Its members where they were, moved by as much as the run moved.
        const ms = s.members;
        for (let j = 0; j < ms.length; j += 4) {
          place(ms[j] as string, ms[j + 1] as number, off + (ms[j + 3] as number) - s.start);
          made?.push(`t${ms[j] as string}\0${reuse.keys.get(ms[j] as string)!}\0${ms[j + 2] as number}\n`);
        }
        off += s.end - s.start;
        sections.push(s);
        n++;
        continue;
      }
      // A part of its mark's tenant: its sections one after the other.
      const tenant = m![x] as string;
      place(tenant, m![x + 1] as number, off);
      made?.push(`t${tenant}\0${reuse.keys.get(tenant)!}\0${m![x + 2] as number}\n`);
      for (let j = m![x + 3] as number; j > 0; j--) {
        const t = slot[n++];
        off += t instanceof Piece ? t.length : t.text.length;
        sections.push(t);
      }
      x += 4;
    }
    if (k < gateway.length) {
      const g = gateway[k].text;
      off += g.length;
      made?.push(`g${g.length}\n`, g);
      sections.push(gateway[k]);
    }
  }
  return made && digestOf(made.join(''));
}

/**
 * Where bundleGatewayTo keeps what it renders: each target file as its sections' texts, each tenant's summaries/ file
 * as its text. Plan without a cache keeps them compressed (src/plan/store.ts) as each target renders, so that neither
 * side's texts are held as strings next to a model (docs/architecture.md, "Memory at scale").
 */
export interface BundleSink {
  /** A target's file: its sections' texts in order (a file plan reads through its pieces, see src/plan/store.ts). */
  file(path: string, texts: string[], mode: number): BundleFile;
  /** summaries/<tenant>.json as made (`text`); `read` gives the text again (the manifest's summary is parsed from it when asked for). */
  summary(path: string, text: string): { file: BundleFile; read: () => string };
}

/**
 * What bundleGateway makes with `lean` and no render cache (plan without --cache-dir), its files kept by `sink`: the
 * same manifest (tenant digests, gateway digest, the summaries' sha256s) and the same files' texts. A target's sections
 * go to the sink as soon as the target has rendered, so at most one target's texts are strings at a time.
 */
export function bundleGatewayTo(model: Model, gateway: Gateway, alloc: Allocations, source: BundleSource | null, sink: BundleSink): Bundle {
  const tenants = tenantsOn(model, gateway.name);
  const files: BundleFile[] = [];
  const perTenant = new Map<string, Map<string, string>>();
  const gatewayParts = new Map<string, string>();
  for (const target of TARGETS) {
    // One file at a time where the target can (strongSwan's 10,000 tenant files): each goes to the sink and is let go.
    const input = { model, gateway, tenants, alloc };
    for (const f of target.renderEach?.(input) ?? target.render(input)) {
      digestFile(f, gatewayParts, perTenant);
      files.push(sink.file(f.path, f.sections.map((s) => s.text), f.mode ?? 0o644));
    }
  }
  const reads = new Map<string, () => string>();
  const shas = new Map<string, string>();
  for (const t of tenants) {
    const made = summaryText(summarize(t, gateway, alloc));
    const p = summaryPath(t.name);
    const kept = sink.summary(p, made);
    files.push(kept.file);
    reads.set(t.name, kept.read);
    shas.set(p, sha256(made));
  }
  files.sort(byPath);
  const entry = (t: Tenant): Manifest['tenants'][string] => {
    const e = tenantEntry(t, combineDigests(perTenant.get(t.name)));
    lazySummary(e, reads.get(t.name)!);
    return e;
  };
  const manifest = manifestOf(gateway, source, combineDigests(gatewayParts), Object.fromEntries(tenants.map((t) => [t.name, entry(t)])), Object.fromEntries([...shas.keys()].sort().map((p) => [p, { sha256: shas.get(p)!, mode: '0644' }])));
  return { gateway: gateway.name, files, manifest };
}

/** Files (and rendered files) in path order, as a bundle lists them. */
const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/** A gateway's manifest (bundleGateway and plan's bundleGatewayTo make the same). */
function manifestOf(gateway: Gateway, source: BundleSource | null, gatewayDigest: string, tenants: Manifest['tenants'], files: Manifest['files']): Manifest {
  return {
    compiler: `s2sgw ${VERSION}`,
    gateway: gateway.name,
    source,
    ...(gateway.rollout ? { rollout: { wave: gateway.rollout.wave } } : {}),
    gatewayDigest,
    tenants,
    files,
  };
}

/** A tenant's manifest entry without its summary (each maker attaches that lazily). */
function tenantEntry(t: Tenant, digest: string): Manifest['tenants'][string] {
  return { digest, file: t.file, connections: t.connections.map((c) => c.interface).sort() } as Manifest['tenants'][string];
}

/**
 * Hashes a rendered file's sections: the gateway's into `gatewayParts`, each tenant's (but those `skip` says come
 * with their digest) into `perTenant`, under the file's path.
 */
function digestFile(f: RenderedFile, gatewayParts: Map<string, string>, perTenant: Map<string, Map<string, string>>, skip?: (s: Section) => boolean): void {
  // Made at the first section to hash: most files of a warm build are one kept tenant's (its digest is the entry's).
  let byTenant: Map<string, ReturnType<typeof createHash>> | undefined;
  // Made at the first gateway section: most files of a 10,000-tenant gateway are one tenant's (swanctl/conf.d/).
  let gw: ReturnType<typeof createHash> | undefined;
  for (const s of f.sections) {
    if (s.tenant === undefined) {
      (gw ??= createHash('sha256')).update(s.text);
      continue;
    }
    if (skip?.(s)) continue;
    byTenant ??= new Map();
    let h = byTenant.get(s.tenant);
    if (!h) byTenant.set(s.tenant, (h = createHash('sha256')));
    h.update(s.text);
  }
  gatewayParts.set(f.path, gw ? gw.digest('hex') : EMPTY_SHA256);
  for (const [t, h] of byTenant ?? []) {
    let m = perTenant.get(t);
    if (!m) perTenant.set(t, (m = new Map()));
    m.set(f.path, h.digest('hex'));
  }
}

/** A digest over (path, part digest) pairs in path order: a tenant's over its files, the gateway's over its sections. */
function combineDigests(parts: Map<string, string> | undefined): string {
  return sha256(
    [...(parts ?? new Map<string, string>()).entries()]
      .sort((a, b) => (a[0] < b[0] ? -1 : 1))
      .map(([p, d]) => `${p}\0${d}\n`)
      .join(''),
  );
}
