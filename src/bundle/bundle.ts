// Bundle phase: every target's files for one gateway, plus manifest.json with sha256s and per-tenant digests. Pure.
import { createHash } from 'node:crypto';
import type { Gateway, Model } from '../model/model';
import { tenantsOn } from '../model/model';
import type { Allocations } from '../model/lock';
import { TARGETS } from '../targets';
import { RenderedFile, Section, Target, TargetInput, flat, text } from '../targets/target';
import type { Tenant } from '../model/model';
import { Cache, codeDigest, keyOf, restoreFile } from '../util/cache';
import type { Place } from '../model/diagnostics';
import type { TenantSummary } from '../model/summary';
import { VERSION } from '../util/version';
import { summarize } from '../model/summary';
import { BundleSource, formatManifest, Manifest, MANIFEST, summaryPath } from './manifest';

// manifest.json's format lives in manifest.ts (apply reads it without loading the compiler).
export { formatManifest, parseManifest, sameEntryText, MANIFEST, SUMMARIES, summaryPath } from './manifest';
export type { BundleSource, Manifest } from './manifest';

export interface BundleFile {
  path: string;
  content: string;
  mode: number;
}


/**
 * A file whose text is its sections' texts joined when first read: plan compares most files
 * section by section (a cached tenant's part is the same string on both sides) and joins only
 * what it diffs (see segmentsOf, diffFiles).
 */
class JoinedFile implements BundleFile {
  private joined?: string;
  constructor(
    readonly path: string,
    readonly segments: string[],
    readonly mode: number,
  ) {}

  get content(): string {
    return (this.joined ??= this.segments.join(''));
  }
}

/**
 * A lean file's pieces, each one equal to a piece of the other side's file of that path (`theirs`) replaced by that
 * piece: plan's second side then holds pointers to the first side's texts, not a second copy of every unchanged
 * tenant's lines (a whole bundle, over 100 MB at 10,000 tenants). Equal strings either way: the diff is the same.
 */
function shared(texts: string[], theirs: BundleFile | undefined): string[] {
  const pieces = theirs && segmentsOf(theirs);
  if (!pieces) return texts;
  const known = new Map<string, string>();
  for (const p of pieces) known.set(p, p);
  for (let i = 0; i < texts.length; i++) texts[i] = known.get(texts[i]) ?? texts[i];
  return texts;
}

/** The pieces a file's text is joined of, when it was made for plan (`lean`); undefined for any other file. */
export function segmentsOf(f: BundleFile): string[] | undefined {
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

/** The work cache and the validated files' keys, for reusing each tenant's rendered sections. */
export interface RenderCache {
  cache: Cache;
  fileKeys: Map<string, string>;
  /** A model tenant as its whole entity, when the model holds summaries of the tenants validate read from its pack. */
  whole?: (t: Tenant) => Tenant;
}

/**
 * Renders one gateway's bundle in memory. Same model and source commit, same bytes (no time, no host name; with or without a cache).
 * `lean` (plan): the files' texts are joined only when read, no manifest.json is made and the manifest lists only the
 * summaries' hashes (plan shows neither the manifest nor the other hashes; it compares summaries by theirs).
 */
export function bundleGateway(model: Model, gateway: Gateway, alloc: Allocations, keepRendered = false, source: BundleSource | null = null, rc?: RenderCache, lean = false, like?: Bundle): Bundle {
  const wholeOf = rc?.whole ?? ((t: Tenant) => t);
  const other = like && new Map(like.files.map((f) => [f.path, f]));
  const reuse = rc ? lookUp(rc, gateway, tenantsOn(model, gateway.name), alloc, keepRendered, lean) : undefined;
  // Without the render cache's entries every tenant is rendered, from its whole entity.
  const tenants = reuse || !rc?.whole ? tenantsOn(model, gateway.name) : tenantsOn(model, gateway.name).map(wholeOf);
  const files: BundleFile[] = [];
  const kept: RenderedFile[] = [];
  // Per tenant, per file: the digest of its sections. Target by target, so one target's sections are let go
  // (joined into the file's text) before the next renders: at 10,000 tenants they are hundreds of MB.
  const perTenant = new Map<string, Map<string, string>>();
  const gatewayParts = new Map<string, string>();
  for (const target of TARGETS) {
    const input = { model, gateway, tenants, alloc };
    for (const f of reuse ? renderReusing(target, input, reuse, wholeOf) : target.render(input)) {
      files.push(lean ? new JoinedFile(f.path, shared(f.sections.map((x) => x.text), other?.get(f.path)), f.mode ?? 0o644) : { path: f.path, content: text(f), mode: f.mode ?? 0o644 });
      const byTenant = new Map<string, ReturnType<typeof createHash>>();
      const gw = createHash('sha256');
      for (const s of f.sections) {
        if (s.tenant === undefined) {
          gw.update(s.text);
          continue;
        }
        // A cached tenant's digest comes with its sections.
        if (reuse?.hits.has(s.tenant)) continue;
        let h = byTenant.get(s.tenant);
        if (!h) byTenant.set(s.tenant, (h = createHash('sha256')));
        h.update(s.text);
      }
      gatewayParts.set(f.path, gw.digest('hex'));
      for (const [t, h] of byTenant) {
        let m = perTenant.get(t);
        if (!m) perTenant.set(t, (m = new Map()));
        m.set(f.path, h.digest('hex'));
      }
      if (keepRendered) kept.push(f);
    }
    // Without plan's other side to share them, the cached tenants' texts of this target are in its files now.
    if (reuse?.release) for (const hit of reuse.hits.values()) delete hit.targets[target.name];
  }
  const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  files.sort(byPath);
  kept.sort(byPath);
  /** A digest over (path, part digest) pairs in path order. */
  const combine = (parts: Map<string, string> | undefined) =>
    sha256(
      [...(parts ?? new Map<string, string>()).entries()]
        .sort((a, b) => (a[0] < b[0] ? -1 : 1))
        .map(([p, d]) => `${p}\0${d}\n`)
        .join(''),
    );
  // Each tenant's summary is its own file (see SUMMARIES): a one-tenant change rewrites one small file, not the manifest's 26 MB.
  // A cached tenant's comes as the file's text and sha256 (parsed only when asked for: plan reads the changed tenants' only).
  // Kept as their files' texts only: the objects were 40 MB at 10,000 tenants (the texts 26 MB), and the manifest's
  // summary of a tenant is asked for only when plan or apply finds it changed (parsed then, see lazySummary).
  const summaries = new Map<string, string>();
  const known = new Map<string, string>();
  for (const t of tenants) {
    const hit = reuse?.hits.get(t.name);
    if (hit) {
      files.push({ path: summaryPath(t.name), content: hit.summaryText, mode: 0o644 });
      known.set(summaryPath(t.name), hit.summarySha);
    } else {
      const made = summaryText(summarize(wholeOf(t), gateway, alloc));
      const theirs = other?.get(summaryPath(t.name))?.content;
      const summary = theirs === made ? theirs : made;
      summaries.set(t.name, summary);
      files.push({ path: summaryPath(t.name), content: summary, mode: 0o644 });
    }
  }
  const digests = new Map(tenants.map((t) => [t.name, reuse?.hits.get(t.name)?.digest ?? combine(perTenant.get(t.name))]));
  if (reuse) store(rc!.cache, reuse, summaries, digests);
  files.sort(byPath);
  const entry = (t: Tenant): Manifest['tenants'][string] => {
    const e = { digest: digests.get(t.name)!, file: t.file, connections: t.connections.map((c) => c.interface).sort() } as Manifest['tenants'][string];
    const hit = reuse?.hits.get(t.name);
    if (hit) summaryFrom(e, hit);
    else lazySummary(e, summaries.get(t.name)!);
    return e;
  };
  const manifest: Manifest = {
    compiler: `s2sgw ${VERSION}`,
    gateway: gateway.name,
    source,
    ...(gateway.rollout ? { rollout: { wave: gateway.rollout.wave } } : {}),
    gatewayDigest: combine(gatewayParts),
    tenants: Object.fromEntries(tenants.map((t) => [t.name, entry(t)])),
    files: Object.fromEntries(files.filter((f) => !lean || !(f instanceof JoinedFile)).map((f) => [f.path, { sha256: known.get(f.path) ?? sha256(f.content), mode: f.mode.toString(8).padStart(4, '0') }])),
  };
  if (!lean) files.push({ path: MANIFEST, content: formatManifest(manifest), mode: 0o644 });
  files.sort(byPath);
  return { gateway: gateway.name, files, ...(keepRendered ? { rendered: kept } : {}), manifest };
}

/**
 * A cached tenant's manifest summary, parsed when first read. Made out here: a getter made in bundleGateway would
 * keep its whole scope (the model's tenants among it) alive as long as the manifest.
 */
function summaryFrom(e: Manifest['tenants'][string], hit: RenderEntry): void {
  Object.defineProperty(e, 'summary', { enumerable: true, get: () => hit.summary() });
}

/** A rendered tenant's manifest summary, parsed from its file's text when first read (made out here, as summaryFrom). */
function lazySummary(e: Manifest['tenants'][string], text: string): void {
  let parsed: TenantSummary | undefined;
  Object.defineProperty(e, 'summary', { enumerable: true, get: () => (parsed ??= JSON.parse(text) as TenantSummary) });
}

/** Records another source in a rendered bundle's manifest (build: the lock it writes is not the commit's). */
export function setSource(b: Bundle, source: BundleSource | null): void {
  b.manifest.source = source;
  const f = b.files.find((x) => x.path === MANIFEST)!;
  f.content = formatManifest(b.manifest);
}

/** Every gateway's bundle, by gateway name order; `like`: the other side's bundles of a plan (see shared()). */
export function bundleAll(model: Model, alloc: Allocations, keepRendered = false, source: BundleSource | null = null, rc?: RenderCache, lean = false, like?: Bundle[]): Bundle[] {
  const likeOf = like && new Map(like.map((b) => [b.gateway, b]));
  return [...model.gateways].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((g) => bundleGateway(model, g, alloc, keepRendered, source, rc, lean, likeOf?.get(g.name)));
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

/** A cached tenant's sections in one file, joined: what a build without --check needs of them. */
interface CachedPart {
  path: string;
  mode?: number;
  slot: number;
  /** Its sections' texts, joined. */
  text: string;
}

/**
 * One (gateway, tenant) cache entry: its parts per target, its summary and the digest of its sections.
 *
 * Stored as text in four parts, so that a warm run builds no object per section or summary: line 1 is
 * JSON of the digest, the sha256 of the summary's file and per target each part's [path, mode, slot,
 * length of its text]; line 2 is JSON of each part's sections without their text ([tenant, origin,
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
}

type Head = { digest: string; summarySha: string; targets: Record<string, Array<[string, number | null, number, number]>> };
type Meta = Record<string, Array<Array<[string | null, Place | null, number]>>>;

/**
 * A copy of s that does not hold on to the string it was cut from (V8 keeps a slice's whole parent alive): a cached
 * tenant's texts outlive the entry's text, whose head and line 2 are a third of it.
 */
function unshared(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

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
  const summaryText = unshared(body.slice(nl2 + 1, nl3 + 1));
  if (summaryText[0] !== '{') return undefined;
  let at = nl3 + 1;
  const targets: Record<string, CachedPart[]> = {};
  // Plain loops: a closure here would keep the whole text alive with the entry (V8 gives a function's closures one context).
  for (const x of TARGETS) {
    const parts = head.targets[x.name];
    if (!Array.isArray(parts)) return undefined;
    const list: CachedPart[] = [];
    for (const [path, mode, slot, len] of parts) {
      if (typeof path !== 'string' || !Number.isInteger(slot) || !Number.isInteger(len) || len < 0 || at + len > body.length) return undefined;
      const text = unshared(body.slice(at, (at += len)));
      list.push(mode === null ? { path, slot, text } : { path, mode, slot, text });
    }
    targets[x.name] = list;
  }
  if (at !== body.length) return undefined;
  return entryOf(targets, summaryText, head.summarySha, head.digest, metaText, file);
}

/** A decoded entry: its summary parsed and its sections made from line 2 (`metaText`) when first asked for. */
function entryOf(targets: Record<string, CachedPart[]>, summaryText: string, summarySha: string, digest: string, metaText: string | undefined, file: string): RenderEntry {
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
    let off = 0;
    const out = meta[target][part].map(([tenant, origin, len]): Section => {
      if ((tenant !== null && typeof tenant !== 'string') || !Number.isInteger(len) || len < 0) throw new Error('not an entry');
      const text = p.text.slice(off, (off += len));
      const s: Section = tenant === null ? { text } : { tenant, text };
      if (origin !== null) s.origin = origin;
      return s;
    });
    if (off !== p.text.length) throw new Error('not an entry');
    made.set(`${target}/${part}`, out);
    return out;
  };
  return { targets, summaryText, summarySha, summary: () => (parsed ??= JSON.parse(summaryText) as TenantSummary), digest, sections };
}

/** summaries/<tenant>.json's text. */
function summaryText(s: TenantSummary): string {
  return flat(JSON.stringify(s) + '\n');
}

/** A missed tenant's parts, per target as rendered: line 1's and line 2's JSON text and the texts. */
interface Fresh {
  head: string[];
  meta: string[];
  texts: string[];
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
}

function lookUp(rc: RenderCache, gateway: Gateway, tenants: Tenant[], alloc: Allocations, sections: boolean, lean: boolean): Reuse | undefined {
  const gwKey = rc.fileKeys.get(gateway.origin.file);
  if (!gwKey) return undefined;
  const keys = new Map<string, string>();
  const hits = new Map<string, RenderEntry>();
  for (const t of tenants) {
    const tKey = rc.fileKeys.get(t.file);
    if (!tKey) return undefined;
    const key = keyOf('render', codeDigest(), gwKey, tKey, JSON.stringify(alloc.tenants[t.name] ?? null));
    keys.set(t.name, key);
    // Plan (lean) keeps the entries for its other side; a build joins each into its files and lets it go.
    const got = rc.cache.getWith<RenderEntry>(RENDER, key, (body) => decodeEntry(body, t.file, sections), lean || sections);
    // Its own copy of the parts lists, let go target by target (see release); without sections (they are not asked for).
    const hit = got && !lean && !sections ? entryOf({ ...got.targets }, got.summaryText, got.summarySha, got.digest, undefined, t.file) : got;
    // Line 2 is read only when the sections are wanted: then an entry whose sections do not add up to its parts is a miss too.
    if (hit && sections && !sectionsAddUp(hit)) {
      // Read, but not used: the counters say so.
      rc.cache.hits--;
      rc.cache.misses++;
    } else if (hit) hits.set(t.name, hit);
  }
  return { keys, hits, fresh: new Map(), tenants, sections, release: !lean && !sections };
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

function store(cache: Cache, reuse: Reuse, summaries: Map<string, string>, digests: Map<string, string>): void {
  for (const [name, f] of reuse.fresh) {
    const summary = summaries.get(name)!;
    const head = `{"digest":${JSON.stringify(digests.get(name)!)},"summarySha":${JSON.stringify(sha256(summary))},"targets":{${f.head.join(',')}}}`;
    cache.putText(RENDER, reuse.keys.get(name)!, `${head}\n{${f.meta.join(',')}}\n${summary}${f.texts.join('')}`);
  }
}

/** A target's files as target.render(input) gives them, rendering only the tenants the cache misses (and witnesses). */
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
    const gateway: Section[] = [];
    let part: Part | undefined;
    let partOf: string | undefined;
    for (const s of f.sections) {
      if (s.tenant === undefined) {
        gateway.push(s);
        part = undefined;
        continue;
      }
      if (!part || partOf !== s.tenant) {
        partOf = s.tenant;
        part = { path: f.path, ...(f.mode !== undefined ? { mode: f.mode } : {}), slot: gateway.length, sections: [] };
        let list = own.get(s.tenant);
        if (!list) own.set(s.tenant, (list = []));
        list.push(part);
      }
      part.sections.push(s);
    }
    skeleton.set(f.path, { ...(f.mode !== undefined ? { mode: f.mode } : {}), gateway });
  }
  for (const t of missed) {
    let r = reuse.fresh.get(t.name);
    if (!r) reuse.fresh.set(t.name, (r = { head: [], meta: [], texts: [] }));
    const parts = own.get(t.name) ?? [];
    const name = JSON.stringify(target.name);
    const texts = parts.map((p) => p.sections.map((x) => x.text).join(''));
    r.head.push(`${name}:${JSON.stringify(parts.map((p, i) => [p.path, p.mode ?? null, p.slot, texts[i].length]))}`);
    r.meta.push(`${name}:${Cache.json(parts.map((p) => p.sections.map((x) => [x.tenant ?? null, x.origin ?? null, x.text.length])), t.file)}`);
    r.texts.push(...texts);
  }
  // Put every tenant's parts (cached or fresh) into its file's slots, in tenant order.
  const slots = new Map<string, Section[][]>();
  const modes = new Map<string, number | undefined>();
  for (const [p, sk] of skeleton) modes.set(p, sk.mode);
  for (const t of input.tenants) {
    const hit = reuse.hits.get(t.name);
    const parts: Array<Part | CachedPart> = hit?.targets[target.name] ?? own.get(t.name) ?? [];
    parts.forEach((part, i) => {
      let file = slots.get(part.path);
      if (!file) slots.set(part.path, (file = []));
      const into = (file[part.slot] ??= []);
      if ('sections' in part) into.push(...part.sections);
      else if (reuse.sections) into.push(...hit!.sections(target.name, i));
      // Its lines as one section: the bundle joins them into the file's text and takes its digest from the entry.
      else into.push({ tenant: t.name, text: part.text });
      if (!modes.has(part.path)) modes.set(part.path, part.mode);
    });
  }
  const out: RenderedFile[] = [];
  for (const [p, mode] of modes) {
    const gateway = skeleton.get(p)?.gateway ?? [];
    const file = slots.get(p) ?? [];
    const sections: Section[] = [];
    for (let k = 0; k <= gateway.length; k++) {
      if (file[k]) sections.push(...file[k]);
      if (k < gateway.length) sections.push(gateway[k]);
    }
    out.push({ path: p, sections, ...(mode !== undefined ? { mode } : {}) });
  }
  return out;
}
