// The pure compile pipeline shared by build and plan: validated files + previous lock -> allocations and bundles.
import { Diagnostic, error, hasErrors, sortDiagnostics } from '../model/diagnostics';
import type { Loaded } from '../model/load';
import { Allocations, LockChange, allocate, formatLock, LOCK_FILE } from '../model/lock';
import { Bundle, BundleSource, bundleAll } from './bundle';
import type { Cache } from '../util/cache';
import { validate, Validated } from '../validate';
import type { Model } from '../model/model';

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
  /** Told each phase as it starts (the command line shows it on a terminal); no effect on the result. */
  progress?: (phase: string) => void;
}

/** Validates, allocates and renders in memory; `prev` defaults to the lock the loaded repository holds (checked by validate). Writes nothing. */
export function compile(loaded: Loaded, prev?: Allocations, opts: CompileOptions = {}): Compiled {
  opts.progress?.(`validating ${loaded.files.length} file${loaded.files.length === 1 ? '' : 's'}`);
  return compileValidated(validate(loaded, opts.cache), prev, opts);
}

/** What allocating the lock gives: the ids and their changes, or the finding that stops the build. */
export type LockOutcome = { ok: true; alloc: Allocations; changes: LockChange[] } | { ok: false; diagnostic: Diagnostic; alloc?: Allocations; changes: LockChange[] };

/**
 * Allocates ids over the validated model and, when `locked`, refuses any change to the lock. The one
 * definition of `--locked`: build, plan and validate all call it after validation (issue 17: the pull
 * request's gate equals main's), so they refuse the same things in the same order with the same message.
 */
export function allocateLocked(model: Model, prev: Allocations, locked: boolean): LockOutcome {
  let alloc: Allocations;
  let changes: LockChange[];
  try {
    ({ alloc, changes } = allocate(model, prev));
  } catch (e) {
    return { ok: false, diagnostic: error('lock/exhausted', { file: LOCK_FILE, line: 1, col: 1 }, (e as Error).message), changes: [] };
  }
  if (locked && changes.length) {
    const d = error('lock/would-change', { file: LOCK_FILE, line: 1, col: 1 }, `--locked: the lock file would change (${changes.length} change${changes.length === 1 ? '' : 's'}): ${changes.map((c) => c.what).join('; ')}`, {
      hint: 'run `s2sgw build` without --locked and commit allocations.lock.yaml with the tenant change',
    });
    return { ok: false, diagnostic: d, alloc, changes };
  }
  return { ok: true, alloc, changes };
}

/** The rest of compile() once the files are validated (the bench times the two apart). */
export function compileValidated(v: Validated, prev: Allocations = v.lock, opts: CompileOptions = {}): Compiled {
  const base: Compiled = { model: v.model, diagnostics: v.diagnostics, ok: v.ok, lockChanges: [], bundles: [] };
  if (!v.ok) return base;
  opts.progress?.(`allocating ids for ${v.model.tenants.length} tenant${v.model.tenants.length === 1 ? '' : 's'}`);
  const locked = allocateLocked(v.model, prev, !!opts.locked);
  if (!locked.ok) return { ...base, ok: false, diagnostics: sortDiagnostics([...v.diagnostics, locked.diagnostic]), ...(locked.alloc ? { alloc: locked.alloc } : {}), lockChanges: locked.changes };
  const { alloc, changes } = locked;
  const model = v.model;
  const wanted = opts.gateways;
  const rc = opts.cache && v.fileKeys ? { cache: opts.cache, fileKeys: v.fileKeys } : undefined;
  opts.progress?.(`rendering ${model.gateways.length} gateway bundle${model.gateways.length === 1 ? '' : 's'}`);
  const bundles = bundleAll(model, alloc, !!opts.keepRendered, opts.source ?? null, rc).filter((b) => !wanted || wanted.includes(b.gateway));
  return { ...base, ok: !hasErrors(v.diagnostics), alloc, lockText: formatLock(alloc), lockChanges: changes, bundles };
}
