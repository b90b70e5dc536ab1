// One side of a plan without a cache: compile()'s validate, allocate and render, its files kept compressed in a
// TextStore as each target renders (src/plan/store.ts) rather than as a lean bundle's strings.
import type { Diagnostic } from '../model/diagnostics';
import type { Loaded } from '../model/load';
import type { LockChange } from '../model/lock';
import type { Model } from '../model/model';
import { Bundle, BundleSource, bundleGatewayTo } from '../bundle/bundle';
import { allocateThenRender } from '../bundle/compile';
import { validate } from '../validate';
import { TextStore, storingSink } from './store';

export interface StoredSide {
  model: Model;
  diagnostics: Diagnostic[];
  ok: boolean;
  lockText?: string;
  lockChanges: LockChange[];
  bundles: Bundle[];
}

export interface StoredOptions {
  /** Refuse to change the lock (CompileOptions.locked). */
  locked?: boolean;
  /** The commit the inputs come from, recorded in each manifest. */
  source?: BundleSource | null;
  /** The base side: validate's pack is not rewritten and no lock text is made (CompileOptions.base). */
  base?: boolean;
  /** The other side's bundles, stored before in the same store: its equal pieces are taken, not stored again. */
  like?: Bundle[];
  progress?: (phase: string) => void;
}

/**
 * compile(loaded, undefined, { lean: true, ... }) without a cache, the same findings, lock and manifests, its bundles'
 * files kept in `store` (their pieces StoredTexts). Writes nothing.
 */
export function compileStored(loaded: Loaded, store: TextStore, opts: StoredOptions = {}): StoredSide {
  opts.progress?.(`validating ${loaded.files.length} file${loaded.files.length === 1 ? '' : 's'}`);
  const v = validate(loaded, undefined, { summaries: false, ...(opts.base ? { readOnlyPack: true } : {}) });
  const likeOf = opts.like && new Map(opts.like.map((b) => [b.gateway, b]));
  return allocateThenRender(v, v.lock, opts, (t) => store.add(t), (model, alloc) => {
    const bundles = [...model.gateways]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((g) => bundleGatewayTo(model, g, alloc, opts.source ?? null, storingSink(store, likeOf?.get(g.name))));
    store.seal();
    return bundles;
  });
}
