// The pure compile pipeline shared by build and plan: validated files + previous lock -> allocations and bundles.
import { Diagnostic, hasErrors, sortDiagnostics } from '../model/diagnostics';
import { allocateLocked } from './locked';
import type { Loaded } from '../model/load';
import { Allocations, LockChange, formatLock } from '../model/lock';
import { Bundle, BundleSource, FileSink, bundleAll } from './bundle';
import type { Cache } from '../util/cache';
import { validate, Validated } from '../validate';
import type { Model } from '../model/model';
import type { PreviousTree } from './write';
import { stowTexts } from '../model/source';
import { TextStore } from '../util/text-store';

export interface Compiled {
  model: Model;
  diagnostics: Diagnostic[];
  ok: boolean;
  alloc?: Allocations;
  lockText?: string;
  lockChanges: LockChange[];
  bundles: Bundle[];
}

export interface CompileOptions {
  /** Refuse to change the lock: any new or retired id is a finding. */
  locked?: boolean;
  /** Only these gateways (all when absent). */
  gateways?: string[];
  /** Keep each bundle's rendered sections (for real-tool checks and tests). */
  keepRendered?: boolean;
  /** The commit the inputs come from, recorded in each manifest (null: not in a Git repository). */
  source?: BundleSource | null;
  /** The work cache (--cache-dir): reuse each unchanged tenant's validated entity and rendered sections. */
  cache?: Cache;
  /** For plan: files joined only when read, no manifest.json, only the summaries' hashes in the manifest (see bundleGateway). */
  lean?: boolean;
  /** Plan's base side: the cache is read, validate's pack of the work tree's tenants is not rewritten (ValidateOptions.readOnlyPack), no lock text is made (plan diffs the lock files' own bytes). */
  base?: boolean;
  /**
   * Plan (`lean`) takes unchanged tenants from the gateway's parts index (src/bundle/parts-index.ts), reading their
   * texts only where a diff shows them; false: from their `parts` entries (plan's run again after a StaleCache).
   */
  partsIndex?: boolean;
  /**
   * With a cache: the rules that see every tenant through the rule-ready index of the last `s2sgw validate`
   * (ValidateOptions.indexRules), over the change's component only; plan's two sides.
   */
  indexRules?: boolean;
  /** Plan without a cache: the other side's bundles, whose equal pieces compileStored takes (StoredOptions.like). */
  like?: Bundle[];
  /**
   * Build with a cache: what the last build recorded of out/<gateway>/ (src/bundle/write.ts): unchanged tenants come
   * from the parts index, their texts out of the files written there (RenderCache.previous). Not with `partsIndex: false`
   * (build's run again after a StaleCache).
   */
  previous?: (gateway: string) => PreviousTree | undefined;
  /**
   * Build: where each gateway's files are written as they are made (a StagedTree of src/bundle/write.ts), their texts
   * then let go (FileSink); undefined for a gateway: kept in memory. The bundles' files read their texts back from there.
   */
  stage?: (gateway: string) => FileSink | undefined;
  /** Told each phase as it starts (the command line shows it on a terminal); no effect on the result. */
  progress?: (phase: string) => void;
}

/** Validates, allocates and renders in memory; `prev` defaults to the lock the loaded repository holds (checked by validate). Writes nothing. */
export function compile(loaded: Loaded, prev?: Allocations, opts: CompileOptions = {}): Compiled {
  opts.progress?.(`validating ${loaded.files.length} file${loaded.files.length === 1 ? '' : 's'}`);
  // With a cache (and no sections wanted: build --check reads the whole model), unchanged tenants are their summaries
  // in the model, not their whole entities (most of a warm run's memory at 10,000 tenants): the render cache has their
  // texts, and the few tenants it misses are rendered from their whole entities (RenderCache.whole).
  // Not for a build when the cache holds no rendered parts at all (a cache being filled): every tenant then misses and
  // is rendered from its whole entity, and a model of summaries would be held beside them. Plan (lean) keeps its
  // summaries: its rules come from validate's index over them (indexRules).
  const summaries = !!opts.cache && !opts.keepRendered && (!!opts.lean || opts.cache.holds('parts'));
  return compileValidated(validate(loaded, opts.cache, { summaries, ...(opts.base ? { readOnlyPack: true } : {}), ...(summaries && opts.indexRules ? { indexRules: true } : {}) }), prev, opts);
}

// allocateLocked lives in locked.ts so that `validate --locked` loads it without the targets and templates.
export { allocateLocked } from './locked';
export type { LockOutcome } from './locked';

/** Build and plan's side built now rewrite a gateway's parts index when more of its records than this are stale. */
const INDEX_STALE = 64;

/** The rest of compile() once the files are validated (the bench times the two apart). */
export function compileValidated(v: Validated, prev: Allocations = v.lock, opts: CompileOptions = {}): Compiled {
  // The sources' texts go into a compressed store of their own until a code frame or late place reads one.
  const stowed = new TextStore();
  return allocateThenRender(v, prev, opts, (t) => stowed.add(t), (model, alloc) => {
    const wanted = opts.gateways;
    // The parts index is written by build and plan's side built now when it is missing or many of its records are stale
    // (a one-tenant change finds its few tenants in their entries; rewriting 10,000 records for it is not worth it),
    // never by plan's base side.
    const index = { read: !!opts.lean && opts.partsIndex !== false, ...(opts.base ? {} : { rewrite: INDEX_STALE }) };
    const previous = opts.partsIndex !== false ? opts.previous : undefined;
    const rc = opts.cache && v.fileKeys ? { cache: opts.cache, fileKeys: v.fileKeys, index, ...(v.whole ? { whole: v.whole } : {}), ...(previous ? { previous } : {}) } : undefined;
    return bundleAll(model, alloc, !!opts.keepRendered, opts.source ?? null, rc, !!opts.lean, opts.stage).filter((b) => !wanted || wanted.includes(b.gateway));
  });
}

/**
 * What every compile does once validate has run, whatever keeps the files (compileValidated, and plan's side without a
 * cache, src/plan/side.ts): allocate the ids under the lock, put the settled sources' texts away through `stow`, then
 * render the bundles with `render`.
 */
export function allocateThenRender(
  v: Validated,
  prev: Allocations,
  opts: Pick<CompileOptions, 'locked' | 'base' | 'progress'>,
  stow: (text: string) => { readonly text: string },
  render: (model: Model, alloc: Allocations) => Bundle[],
): Compiled {
  const base: Compiled = { model: v.model, diagnostics: v.diagnostics, ok: v.ok, lockChanges: [], bundles: [] };
  if (!v.ok) return base;
  const model = v.model;
  opts.progress?.(`allocating ids for ${model.tenants.length} tenant${model.tenants.length === 1 ? '' : 's'}`);
  const locked = allocateLocked(model, prev, !!opts.locked);
  if (!locked.ok) return { ...base, ok: false, diagnostics: sortDiagnostics([...v.diagnostics, locked.diagnostic]), ...(locked.alloc ? { alloc: locked.alloc } : {}), lockChanges: locked.changes };
  const { alloc, changes } = locked;
  // The findings are settled: nothing reads a source's text again but a code frame or a late place.
  stowTexts(model.sources.values(), stow);
  opts.progress?.(`rendering ${model.gateways.length} gateway bundle${model.gateways.length === 1 ? '' : 's'}`);
  const bundles = render(model, alloc);
  return { ...base, ok: !hasErrors(v.diagnostics), alloc, ...(opts.base ? {} : { lockText: formatLock(alloc) }), lockChanges: changes, bundles };
}
