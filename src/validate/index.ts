// The validate pipeline: load -> schema -> model -> rules, every finding collected.
import { Diagnostic, hasErrors, sortDiagnostics } from '../model/diagnostics';
import { Loaded, parse } from '../model/load';
import { addFile, addEntity, emptyModel, Model, Gateway, Tenant } from '../model/model';
import { release, SourceFile } from '../model/source';
import { Cache, codeDigest, keyOf } from '../util/cache';
import { blobId } from '../model/git';
import { LineCounter } from 'yaml';
import { validateSchema } from './schema';
import { runRules, runModelRules, runTenantRules } from './rules';
import { scanRaw, isSecretRef } from './rules/inline-secret';
import { Allocations } from '../model/lock';
import { CheckedLock, checkLock } from './lock-check';
import { Pack } from './pack';
import { summarize } from './summary';
import { IndexState, IndexedTenant, asIndex, holds, ownersOf, tokens, touched } from './claims';

export interface Validated {
  model: Model;
  diagnostics: Diagnostic[];
  ok: boolean;
  /** allocations.lock.yaml as read and checked (an empty lock when there is none, or when it is refused). */
  lock: Allocations;
  /** With a cache: each read file's cache key (its path, kind and bytes under this compiler), which render keys build on. */
  fileKeys?: Map<string, string>;
  /** With `index`: how many valid tenants and gateways there are (the model holds only those the change touched). */
  counts?: { tenants: number; gateways: number };
  /**
   * With `summaries`: a tenant of the model as its whole entity (a tenant read from the pack is its summary; any
   * other is itself). For rendering the few tenants the render cache misses.
   */
  whole?: (t: Tenant) => Tenant;
}

/** A schema-valid file's cached result: its YAML and schema warnings and its model entity. */
interface FileEntry {
  diagnostics: Diagnostic[];
  kind: 'gateway' | 'tenant';
  entity: Gateway | Tenant;
  /** A tenant's findings of the tenant-scope rules with the gateway files of `gateways` (a key over their keys). */
  rules?: { gateways: string; found: Diagnostic[] };
}

/** A file's cache entry in this run: read (a hit) or made, and whether it must be written. */
interface Entry {
  key: string;
  entry: FileEntry;
  dirty: boolean;
  /** Read from the pack (`summaries`): the entity in the model is the tenant's summary. */
  packed?: boolean;
}

export interface ValidateOptions {
  /**
   * With a cache: an unchanged tenant comes from its summary in the pack (src/validate/pack.ts), enough for the rules
   * that see every tenant, so the model's tenants are summaries, not whole entities. For `s2sgw validate`, which
   * prints findings and counts, and for build and plan, which render from the render cache and take the whole
   * entity (`whole`) of the few tenants it misses; not for a caller that renders the whole model.
   */
  summaries?: boolean;
  /**
   * Read the pack but write none of it (plan's base side): its records of the files the change touched would replace
   * the work tree's, and the next validate would miss them and write them back.
   */
  readOnlyPack?: boolean;
  /**
   * With `summaries`: use and keep the rule-ready index (src/validate/claims.ts), so a change of a few tenants runs
   * the rules that see every tenant over the tenants they can meet only. The model is then the gateways and those
   * tenants, and `counts` counts them all: for `s2sgw validate`, which prints findings and counts.
   */
  index?: boolean;
  /**
   * With `summaries`, for a caller that needs the whole model (build, plan): the rules that see every tenant take the
   * findings the rule-ready index holds and run over the change's component only (read, never written; see
   * crossIndexed()). The model and every other finding are the whole run's.
   */
  indexRules?: boolean;
}

/** What rules() found apart, for the index: the findings of the rules that see every tenant, and each tenant's own. */
interface Collected {
  cross: Diagnostic[];
  own: Map<string, Diagnostic[]>;
}

/**
 * Validates loaded files. Files with YAML or schema errors are left out of the model (their own
 * findings stand); the rules then run over every file that is well-formed. Pure.
 *
 * Parse, schema and model run file by file, and each YAML document is let go as soon as its
 * entity is in the model: at 10,000 tenants the documents would otherwise be most of the memory.
 * The model keeps every place the rules and targets need; a late diagnostic that needs another
 * place re-parses its one file (source.ts documentOf()).
 */
export function validate(loaded: Loaded, cache?: Cache, opts: ValidateOptions = {}): Validated {
  const index = cache && opts.summaries && opts.index && !opts.readOnlyPack;
  if (index) {
    const fast = indexed(loaded, cache);
    if (fast) return fast;
  }
  const model = emptyModel();
  const found: Diagnostic[] = [...loaded.diagnostics];
  const fileKeys = cache ? new Map<string, string>() : undefined;
  const entries = new Map<string, Entry>();
  const pack = cache && opts.summaries ? new Pack(cache) : undefined;
  const crossIndex = !!cache && !!opts.summaries && !!opts.indexRules && !index;
  const ids = index || crossIndex ? new Map<string, string>() : undefined;
  for (const f of loaded.files) take({ model, found, fileKeys, entries, pack, cache, ids }, f);
  const stems = new Set(loaded.files.filter((f) => f.kind === 'tenant').map((f) => f.stem));
  const lock = pack ? checkLockCached(cache!, loaded.lock, model, stems) : checkLock(loaded.lock, model, stems);
  const collect: Collected | undefined = index ? { cross: [], own: new Map() } : undefined;
  const diagnostics = sortDiagnostics([...found, ...rules(model, loaded, fileKeys, cache, entries, collect, crossIndex ? ids : undefined), ...lock.diagnostics]);
  if (collect) writeIndex(cache!, loaded, fileKeys!, ids!, entries, model, collect);
  for (const [file, e] of entries) if (e.dirty && !e.packed) cache!.put('file', e.key, e.entry, file);
  if (pack && !opts.readOnlyPack) {
    for (const [file, e] of entries) {
      if (e.entry.kind !== 'tenant' || (e.packed && !e.dirty)) continue;
      const r = e.entry.rules;
      pack.set(file, { key: e.key, diagnostics: e.entry.diagnostics, entity: e.packed ? (e.entry.entity as Tenant) : summarize(e.entry.entity as Tenant), ...(r ? { rules: r } : {}) });
    }
    pack.write(new Set(loaded.files.filter((f) => f.kind === 'tenant').map((f) => f.path)));
  }
  const packed = new Map([...entries].filter(([, e]) => e.packed).map(([file, e]) => [file, e.key]));
  const wholeOf = (t: Tenant): Tenant => {
    const key = packed.get(t.file);
    return key === undefined ? t : whole(loaded, cache!, t.file, key, false);
  };
  return { model, diagnostics, ok: !hasErrors(diagnostics), lock: lock.lock, ...(fileKeys ? { fileKeys } : {}), ...(pack ? { whole: wholeOf } : {}), ...(index ? { counts: { tenants: model.tenants.length, gateways: model.gateways.length } } : {}) };
}

/** More changed tenant files than this: the whole run (the index saves little, and its component would be large). */
const INDEX_CHANGES = 200;
/** A component of more tenants than this: the whole run. */
const INDEX_COMPONENT = 2000;

/** The index's key: the code and every gateway file's key (a change of a gateway file makes another index). */
const indexKey = (loaded: Loaded, fileKeys: Map<string, string>) => keyOf('index', codeDigest(), ...loaded.files.filter((f) => f.kind === 'gateway').flatMap((f) => [f.path, fileKeys.get(f.path) ?? '']));

/**
 * Writes the rule-ready index of a whole run: only when every file is valid and cached (a file that is not would be
 * a change every time) and no finding holds a secret.
 */
function writeIndex(cache: Cache, loaded: Loaded, fileKeys: Map<string, string>, ids: Map<string, string>, entries: Map<string, Entry>, model: Model, collect: Collected): void {
  if (loaded.files.some((f) => !entries.has(f.path) || fileKeys.get(f.path) !== entries.get(f.path)!.key)) return;
  const state: IndexState = { tenants: {}, own: {}, cross: collect.cross.map((d) => [d, touched(d)]) };
  for (const t of model.tenants) {
    const e = entries.get(t.file)!;
    state.tenants[t.file] = [ids.get(t.file)!, t.name, t.gateways.join('\0'), ownersOf(t), tokens(t)];
    const own = [...e.entry.diagnostics, ...(collect.own.get(t.file) ?? [])];
    if (own.length) state.own[t.file] = own;
  }
  if (Object.keys(state.tenants).length !== loaded.files.filter((f) => f.kind === 'tenant').length) return;
  if (holdsSecret(collect.cross) || Object.values(state.own).some(holdsSecret)) return;
  cache.put('index', indexKey(loaded, fileKeys), state);
}

/**
 * A warm validate through the rule-ready index, or undefined when it cannot be used (none for these gateway files and
 * this code, damaged, tenant files added or removed, a changed tenant renamed or moved to other gateways, too many
 * changes): then the whole run makes it again.
 *
 * The tenants a change can touch are its component: the changed tenants, every tenant that shares a token (claims.ts)
 * with one of them (its old or new claims), or a finding of the rules that see every tenant, and so on. Those rules
 * run over the gateways and the component (in file order, so "already tenant X's" names the same first tenant), and
 * their findings that touch the component replace the index's; the index's other findings stand (between tenants the
 * change cannot meet, and the gateways' own). Unchanged tenants' own findings come from the index; the component's
 * unchanged tenants from the pack.
 */
function indexed(loaded: Loaded, cache: Cache): Validated | undefined {
  // Content ids, not file keys: no hash a file Git holds unchanged (the index's key holds the code and gateways).
  const idOf = new Map<string, string>();
  for (const f of loaded.files) {
    if (f.id === undefined && !Buffer.isBuffer(f.pending)) return undefined;
    idOf.set(f.path, f.id ?? contentId(f.pending as Buffer));
  }
  const gatewayKeys = new Map(loaded.files.filter((f) => f.kind === 'gateway').map((f) => [f.path, fileKey(f, idOf.get(f.path)!)]));
  const state = cache.getWith<IndexState>('index', indexKey(loaded, gatewayKeys), (body) => asIndex(JSON.parse(body)), false);
  if (!state) return undefined;
  const tenantFiles = loaded.files.filter((f) => f.kind === 'tenant');
  if (tenantFiles.length !== Object.keys(state.tenants).length) return undefined;
  const changed = new Set<string>();
  for (const f of tenantFiles) {
    const r = Object.hasOwn(state.tenants, f.path) ? state.tenants[f.path] : undefined;
    if (!r) return undefined;
    if (r[0] !== idOf.get(f.path)) changed.add(f.path);
  }
  if (changed.size > INDEX_CHANGES) return undefined;
  // The gateways and the changed tenants, from their `file` entries or parsed.
  const model = emptyModel();
  const found: Diagnostic[] = [...loaded.diagnostics];
  const keys = new Map<string, string>();
  const entries = new Map<string, Entry>();
  const ids = new Map<string, string>();
  const ctx: Taking = { model, found, fileKeys: keys, entries, pack: undefined, cache, ids };
  // Each file is taken as a copy: a fallback to the whole run finds loaded.files as loadConfig() left them.
  const copies = new Map<SourceFile, SourceFile>();
  const taking = (c: Taking, f: SourceFile) => {
    const copy = copyOf(f);
    copies.set(f, copy);
    take(c, copy);
  };
  for (const f of loaded.files) if (f.kind === 'gateway' || changed.has(f.path)) taking(ctx, f);
  if (model.gateways.length !== loaded.files.length - tenantFiles.length || model.tenants.length !== changed.size) return undefined;
  const fresh = new Map<string, IndexedTenant>();
  for (const t of model.tenants) {
    const old = state.tenants[t.file];
    // Names and gateways stay: secret-scope reads the names on each gateway.
    if (t.name !== old[1] || t.gateways.join('\0') !== old[2]) return undefined;
    fresh.set(t.file, [ids.get(t.file) ?? '', t.name, old[2], ownersOf(t), tokens(t)]);
  }
  const component = componentOf(state, changed, fresh);
  if (!component) return undefined;
  // The component's unchanged tenants: summaries from the pack (else their `file` entries, else parsed; their findings
  // are the index's, so what taking them finds is dropped).
  const members: Taking = { ...ctx, found: [], pack: new Pack(cache) };
  for (const f of tenantFiles) if (component.has(f.path) && !changed.has(f.path)) taking(members, f);
  if (model.tenants.length !== component.size) return undefined;
  model.tenants.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  // The rules that see every tenant over the component; the tenant-scope rules over the changed tenants.
  const touches = (d: Diagnostic) => touched(d).some((file) => component.has(file));
  const cross = [...state.cross.filter(([d]) => !touches(d)).map(([d]) => d), ...runModelRules(model).filter(touches)];
  const gateways = keyOf('gateways', ...loaded.files.filter((f) => f.kind === 'gateway').flatMap((f) => [f.path, keys.get(f.path)!]));
  const own = new Map<string, Diagnostic[]>();
  for (const t of model.tenants) {
    if (!changed.has(t.file)) continue;
    const e = entries.get(t.file);
    const kept = e?.entry.rules;
    let mine: Diagnostic[];
    if (kept && kept.gateways === gateways && Array.isArray(kept.found)) mine = kept.found;
    else {
      mine = runTenantRules(model, t);
      if (e && !holdsSecret(mine)) {
        e.entry = { ...e.entry, rules: { gateways, found: mine } };
        e.dirty = true;
      }
    }
    own.set(t.file, mine);
  }
  for (const f of tenantFiles) if (!changed.has(f.path)) found.push(...(state.own[f.path] ?? []));
  for (const m of own.values()) found.push(...m);
  // The lock's check: hit by its key (the owners did not change for a change that keeps names and connections).
  const owners = tenantFiles.map((f) => (fresh.get(f.path) ?? state.tenants[f.path])[3]).join('\n');
  const stems = new Set(tenantFiles.map((f) => f.stem));
  const lock = loaded.lock === undefined ? checkLock(undefined, model, stems) : lockHit(cache, loaded.lock, owners, stems);
  if (!lock) return undefined;
  // No way back from here: the files taken become loaded.files' own, every other one is left to be read for a code frame.
  for (const f of loaded.files) {
    const copy = copies.get(f);
    if (copy) adopt(f, copy);
    else lazyText(f);
  }
  const diagnostics = sortDiagnostics([...found, ...cross, ...lock.diagnostics]);
  for (const [file, e] of entries) if (e.dirty) cache.put('file', e.key, e.entry, file);
  // The index of this run, when it holds no secret.
  if (changed.size && !holdsSecret(cross) && ![...own.values()].some(holdsSecret)) {
    const next: IndexState = { tenants: { ...state.tenants }, own: { ...state.own }, cross: cross.map((d) => [d, touched(d)]) };
    for (const [file, r] of fresh) {
      const e = entries.get(file);
      // A changed file that holds an inline secret has no entry: it stays a change.
      if (!e) continue;
      next.tenants[file] = [ids.get(file) ?? r[0], r[1], r[2], r[3], r[4]];
      const mine = [...e.entry.diagnostics, ...(own.get(file) ?? [])];
      if (mine.length) next.own[file] = mine;
      else delete next.own[file];
    }
    cache.put('index', indexKey(loaded, gatewayKeys), next);
  }
  return { model, diagnostics, ok: !hasErrors(diagnostics), lock: lock.lock, counts: { tenants: tenantFiles.length, gateways: model.gateways.length } };
}

/**
 * The change's component: the changed tenants, every tenant that shares a token with one of them (its old or new
 * claims) or a finding of the index, and so on; undefined when it grows past INDEX_COMPONENT. `fresh`: the changed
 * tenants' lines as they are now.
 */
function componentOf(state: IndexState, changed: Set<string>, fresh: Map<string, IndexedTenant>): Set<string> | undefined {
  // Which findings touch whom.
  const findingsOf = new Map<string, number[]>();
  state.cross.forEach(([, files], i) => files.forEach((file) => findingsOf.get(file)?.push(i) ?? findingsOf.set(file, [i])));
  // Rounds over every tenant's tokens for the ones the last round reached (one round, mostly).
  const component = new Set<string>(changed);
  const wanted = new Set<string>();
  let reached = [...changed];
  while (reached.length) {
    if (component.size > INDEX_COMPONENT) return undefined;
    const tokensNow: string[] = [];
    const add = (list: string) => {
      for (const tok of list.split('\n')) {
        if (wanted.has(tok)) continue;
        wanted.add(tok);
        tokensNow.push(tok);
      }
    };
    const more: string[] = [];
    const reach = (file: string) => {
      if (component.has(file) || !Object.hasOwn(state.tenants, file)) return;
      component.add(file);
      more.push(file);
    };
    for (const file of reached) {
      add(state.tenants[file][4]);
      const now = fresh.get(file);
      if (now) add(now[4]);
      for (const i of findingsOf.get(file) ?? []) for (const other of state.cross[i][1]) reach(other);
    }
    if (tokensNow.length) {
      for (const [file, r] of Object.entries(state.tenants)) {
        if (component.has(file)) continue;
        if (tokensNow.some((tok) => holds(r[4], tok))) reach(file);
      }
    }
    // A changed tenant's new tokens are in no row of the index: the changed tenants are all in the component already.
    reached = more;
  }
  return component.size > INDEX_COMPONENT ? undefined : component;
}

/**
 * The findings of the rules that see every tenant for a whole model (build and plan need every tenant's summary, so
 * they read the pack anyway) through the rule-ready index, read and never written: the index's findings that do not
 * touch the change's component, and the rules' findings over the gateways and the component that do (as indexed()
 * makes them). Undefined when the index cannot be used (none for this code and these gateway files, damaged, a file
 * not keyed or not valid, tenant files added or removed, a changed tenant renamed or moved, too many changes): then
 * the rules run over the whole model.
 */
function crossIndexed(cache: Cache, loaded: Loaded, model: Model, fileKeys: Map<string, string>, ids: Map<string, string>): Diagnostic[] | undefined {
  const tenantFiles = loaded.files.filter((f) => f.kind === 'tenant');
  if (model.tenants.length !== tenantFiles.length || model.gateways.length !== loaded.files.length - tenantFiles.length) return undefined;
  if (loaded.files.some((f) => !fileKeys.has(f.path) || !ids.has(f.path))) return undefined;
  // Kept for the run: plan's other side reads the same index (the gateway files seldom change).
  const state = cache.getWith<IndexState>('index', indexKey(loaded, fileKeys), (body) => asIndex(JSON.parse(body)));
  if (!state || Object.keys(state.tenants).length !== tenantFiles.length) return undefined;
  const changed = new Set<string>();
  const fresh = new Map<string, IndexedTenant>();
  for (const t of model.tenants) {
    const r = Object.hasOwn(state.tenants, t.file) ? state.tenants[t.file] : undefined;
    if (!r) return undefined;
    const id = ids.get(t.file)!;
    if (r[0] === id) continue;
    changed.add(t.file);
    // Names and gateways stay: secret-scope reads the names on each gateway.
    if (changed.size > INDEX_CHANGES || t.name !== r[1] || t.gateways.join('\0') !== r[2]) return undefined;
    fresh.set(t.file, [id, t.name, r[2], ownersOf(t), tokens(t)]);
  }
  const component = componentOf(state, changed, fresh);
  if (!component) return undefined;
  crossIndexRuns.count++;
  const touches = (d: Diagnostic) => touched(d).some((file) => component.has(file));
  const kept = state.cross.filter(([d]) => !touches(d)).map(([d]) => d);
  if (!component.size) return kept;
  // In file order (the model's), so "already tenant X's" names the same first claim as over every tenant.
  return [...kept, ...runModelRules({ ...model, tenants: model.tenants.filter((t) => component.has(t.file)) }).filter(touches)];
}

/** How many whole-model runs took the rules that see every tenant from the index (tests: the path is not dead). */
export const crossIndexRuns = { count: 0 };

interface Taking {
  model: Model;
  found: Diagnostic[];
  fileKeys: Map<string, string> | undefined;
  entries: Map<string, Entry>;
  pack: Pack | undefined;
  cache: Cache | undefined;
  /** Each keyed file's content id (what its key is made of with its path, kind and the code). */
  ids?: Map<string, string>;
}

/** One file into the model: from the pack or its `file` entry when they hold its bytes' result, else parsed and checked. */
function take({ model, found, fileKeys, entries, pack, cache, ids }: Taking, f: SourceFile): void {
  let key: string | undefined;
  if (cache && (f.id !== undefined || Buffer.isBuffer(f.pending))) {
    const id = f.id ?? contentId(f.pending as Buffer);
    ids?.set(f.path, id);
    key = fileKey(f, id);
    fileKeys!.set(f.path, key);
    const rec = pack && f.kind === 'tenant' ? pack.get(f.path, key) : undefined;
    if (rec && fromCache(model, f, { diagnostics: rec.diagnostics, kind: 'tenant', entity: rec.entity })) {
      entries.set(f.path, { key, entry: { diagnostics: rec.diagnostics, kind: 'tenant', entity: rec.entity, ...(rec.rules ? { rules: rec.rules } : {}) }, dirty: false, packed: true });
      found.push(...rec.diagnostics);
      return;
    }
    const hit = cache.get<FileEntry>('file', key, f.path);
    if (hit && hit.kind === f.kind && fromCache(model, f, hit)) {
      entries.set(f.path, { key, entry: hit, dirty: false });
      found.push(...hit.diagnostics);
      return;
    }
  }
  // A file Git said was unchanged is read now: bytes that are no longer what its id says (changed since) are keyed by themselves.
  if (key && f.id !== undefined) {
    const bytes = f.pending;
    const now = Buffer.isBuffer(bytes) ? contentId(bytes, f.id) : undefined;
    if (now === undefined) {
      key = undefined;
      fileKeys!.delete(f.path);
    } else if (now !== f.id) {
      fileKeys!.set(f.path, (key = fileKey(f, now)));
      ids?.set(f.path, now);
    }
  }
  const yaml = parse(f);
  const schema = f.data === undefined ? [] : validateSchema([f]);
  found.push(...yaml, ...schema);
  const valid = f.data !== undefined && !yaml.some(isError) && !schema.some(isError);
  addFile(model, f, valid);
  // Its entity holds what the rules and targets need: the document and the parsed data go.
  if (valid) {
    const entity = f.kind === 'gateway' ? model.gateways[model.gateways.length - 1] : model.tenants[model.tenants.length - 1];
    // A secret written inline (an inline-secret finding) must not be copied anywhere else, so such a file is never cached.
    // Written once the rules ran: a tenant's entry carries its findings of the tenant-scope rules.
    if (key && !holdsInlineSecret(entity)) entries.set(f.path, { key, entry: { diagnostics: [...yaml, ...schema], kind: f.kind, entity }, dirty: true });
    release(f);
    delete f.data;
  }
  // Secrets are looked for in every parsed file, schema-valid or not: they must never be committed.
  else if (f.data !== undefined) found.push(...scanRaw(f));
}

/**
 * checkLock() through the cache (entry kind `lock`), keyed by the lock's bytes and what it is checked against: each
 * tenant's name and connections, and the tenant files' names. Parsing and checking the lock of 10,000 tenants was
 * a tenth of a warm validate.
 */
function checkLockCached(cache: Cache, raw: Loaded['lock'], model: Model, stems: Set<string>): CheckedLock {
  if (!Buffer.isBuffer(raw)) return checkLock(raw, model, stems);
  const owners = model.tenants.map(ownersOf).join('\n');
  const hit = lockHit(cache, raw, owners, stems);
  if (hit) return hit;
  const fresh = checkLock(raw, model, stems);
  cache.put('lock', lockKey(raw, owners, stems), fresh);
  return fresh;
}

const lockKey = (raw: Buffer, owners: string, stems: Set<string>) => keyOf('lock', codeDigest(), raw, owners, [...stems].join('\n'));

/** The lock's check from its `lock` entry, or undefined. */
function lockHit(cache: Cache, raw: Loaded['lock'], owners: string, stems: Set<string>): CheckedLock | undefined {
  if (!Buffer.isBuffer(raw)) return undefined;
  const hit = cache.get<CheckedLock>('lock', lockKey(raw, owners, stems));
  if (hit && Array.isArray(hit.diagnostics) && hit.lock && typeof hit.lock === 'object' && hit.lock.tenants && hit.lock.next) return hit;
  return undefined;
}


function holdsInlineSecret(entity: Gateway | Tenant): boolean {
  return 'connections' in entity && entity.connections.some((c) => c.auth.kind !== 'certificate' && !isSecretRef(c.auth.ref));
}

/**
 * The rules' findings. Cross-tenant rules see every tenant, so with a cache their findings are
 * kept under a key of every file's key: the same set of files (plan's base side after CI checked
 * that commit, or plan right after validate) gives them without running a rule; `ids` (indexRules): else through
 * the rule-ready index when there is one.
 */
function rules(model: Model, loaded: Loaded, fileKeys: Map<string, string> | undefined, cache: Cache | undefined, entries: Map<string, Entry>, collect?: Collected, ids?: Map<string, string>): Diagnostic[] {
  if (!cache || !fileKeys || loaded.files.some((f) => !fileKeys.has(f.path))) return runRules(model);
  const key = keyOf('rules', codeDigest(), ...loaded.files.flatMap((f) => [f.path, fileKeys.get(f.path)!]));
  // Making the rule-ready index needs each tenant's findings apart: not from the `rules` entry.
  const hit = collect ? undefined : cache.get<Diagnostic[]>('rules', key);
  if (Array.isArray(hit)) return hit;
  // Another set of files: the rules that see every tenant run over the model, and the tenant-scope rules' findings
  // come with each tenant's file entry, made with the same gateway files (else they run on that tenant and are kept there).
  const gateways = keyOf('gateways', ...loaded.files.filter((f) => f.kind === 'gateway').flatMap((f) => [f.path, fileKeys.get(f.path)!]));
  // `ids` (ValidateOptions.indexRules): through the rule-ready index when it holds these gateway files and this code.
  const found = (ids && crossIndexed(cache, loaded, model, fileKeys, ids)) || runModelRules(model);
  if (collect) collect.cross = [...found];
  for (const t of model.tenants) {
    const e = entries.get(t.file);
    const kept = e?.entry.rules;
    if (kept && kept.gateways === gateways && Array.isArray(kept.found)) {
      found.push(...kept.found);
      collect?.own.set(t.file, kept.found);
      continue;
    }
    // A tenant read from the pack is a summary: its tenant-scope rules (the gateway files changed) need its whole entity.
    const fresh = runTenantRules(model, e?.packed ? whole(loaded, cache, t.file, e.key) : t);
    if (e && !holdsSecret(fresh)) {
      e.entry = { ...e.entry, rules: { gateways, found: fresh } };
      e.dirty = true;
    }
    collect?.own.set(t.file, fresh);
    found.push(...fresh);
  }
  // A finding about an inline secret carries the value (for masking it in code frames): never written to the cache.
  if (!holdsSecret(found)) cache.put('rules', key, found);
  return found;
}

/**
 * The whole entity of a tenant file read from the pack: its `file` entry, else parsed again from its text (a fresh
 * model of the one file). Only when the gateway files changed since its record was made, or for the bundle (`Validated.whole`):
 * then `keep` is false, the bundle keeps each tenant's for one gateway's render only (10,000 entities are 80-100 MB).
 */
function whole(loaded: Loaded, cache: Cache, file: string, key: string, keep = true): Tenant {
  const hit = cache.get<FileEntry>('file', key, file, keep);
  if (hit && hit.kind === 'tenant' && hit.entity && (hit.entity as Tenant).file === file) return hit.entity as Tenant;
  const f = loaded.files.find((x) => x.path === file)!;
  const copy: SourceFile = { path: f.path, kind: f.kind, stem: f.stem, text: '', lineCounter: new LineCounter(), pending: Buffer.from(f.text, 'utf8') };
  parse(copy);
  validateSchema([copy]);
  const one = emptyModel();
  addFile(one, copy, true);
  return one.tenants[0];
}

/** A file's cache key: its path, kind and content id under this compiler; worked out once a process (plan asks for each file on both sides). */
function fileKey(f: SourceFile, id: string): string {
  const at = `${f.kind}\0${f.path}\0${id}`;
  let key = fileKeyMemo.get(at);
  if (key === undefined) fileKeyMemo.set(at, (key = keyOf('file', codeDigest(), f.kind, f.path, id)));
  return key;
}

const fileKeyMemo = new Map<string, string>();

/**
 * Bytes' content id as Git names them (`sha1:<blob id>`; `sha256:` when `like` is a sha256 id): a file read from disk
 * and one Git holds unchanged (SourceFile.id, never read) get the same key, so either finds the other's entries.
 */
function contentId(bytes: Buffer, like?: string): string {
  const algorithm = like?.startsWith('sha256:') ? 'sha256' : 'sha1';
  const known = contentIds.get(bytes);
  if (known?.startsWith(algorithm + ':')) return known;
  const id = `${algorithm}:${blobId(bytes, algorithm)}`;
  contentIds.set(bytes, id);
  return id;
}

/** Each Buffer's content id: plan's base side takes the work tree's Buffer of every blob that is the same, so it is hashed once. */
const contentIds = new WeakMap<Buffer, string>();

const holdsSecret = (found: Diagnostic[]) => found.some((d) => d.secret || d.secretValue !== undefined);

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Puts a cached file's entity in the model with its source as parse() and release() would leave
 * it: the text (code frames, late places re-parse it through documentOf()), no document. The text
 * is decoded from the bytes when first asked for: a warm run at 10,000 tenants needs it only for
 * the files a finding is in (decoding every file was 0.15 s and 20 MB of strings). Only schema-valid
 * files are cached, so the bytes decode (else the replacement character stands in, as a re-read would
 * find a file changed under it).
 */
function fromCache(model: Model, f: SourceFile, hit: FileEntry): boolean {
  lazyText(f);
  addEntity(model, f, hit.entity);
  return true;
}

/** A fresh SourceFile of the same file, its bytes (or their lazy read) shared. */
function copyOf(f: SourceFile): SourceFile {
  const c: SourceFile = { path: f.path, kind: f.kind, stem: f.stem, text: '', lineCounter: new LineCounter() };
  if (f.id !== undefined) c.id = f.id;
  const d = Object.getOwnPropertyDescriptor(f, 'pending');
  if (d) Object.defineProperty(c, 'pending', d);
  return c;
}

/** Makes `f` the file its copy became (text, places, document), for code frames. */
function adopt(f: SourceFile, copy: SourceFile): void {
  delete f.pending;
  Object.defineProperty(f, 'text', {
    configurable: true,
    enumerable: true,
    get: () => copy.text,
    set: (v: string) => void (copy.text = v),
  });
  f.lineCounter = copy.lineCounter;
  if (copy.released !== undefined) f.released = copy.released;
  if (copy.doc !== undefined) f.doc = copy.doc;
}

/** Leaves a file unparsed with its text decoded from its bytes (read then, for a file Git holds unchanged) when first asked for. */
function lazyText(f: SourceFile): void {
  // A file Git holds unchanged is not read yet: its bytes are read with its text, if ever (pending is then a getter).
  const lazy = Object.getOwnPropertyDescriptor(f, 'pending')?.get;
  let bytes = lazy ? undefined : (f.pending as Buffer);
  delete f.pending;
  let text: string | undefined;
  Object.defineProperty(f, 'text', {
    configurable: true,
    enumerable: true,
    get(): string {
      if (text === undefined) {
        if (lazy) {
          const b = lazy();
          bytes = Buffer.isBuffer(b) ? b : Buffer.alloc(0);
        }
        let t: string;
        try {
          t = utf8.decode(bytes!);
        } catch {
          t = bytes!.toString('utf8');
        }
        text = t.charCodeAt(0) === 0xfeff ? t.slice(1) : t;
      }
      return text;
    },
    set(v: string) {
      text = v;
    },
  });
  f.lineCounter = new LineCounter();
  f.released = true;
}

const isError = (d: Diagnostic) => d.severity === 'error';
