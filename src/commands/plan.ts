// `s2sgw plan`: what a change would do to every gateway, against built bundles or a Git ref. Exit 0 no change, 3 changes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig, loadFiles } from '../model/load';
import { compile, CompileOptions } from '../bundle/compile';
import type { Loaded } from '../model/load';
import type { Diagnostic } from '../model/diagnostics';
import { StaleCache } from '../bundle/bundle';
import type { Bundle } from '../bundle/bundle';
import { openCache } from '../util/cache';
import { assemblePlan, readBundles, BaseBundle } from '../plan/plan';
import type { Plan } from '../plan/plan';
import { changesAtLeast, planJson, planMarkdown, planText } from '../plan/plan-format';
import { CHANGE_CLASSES, ChangeClass } from '../plan/change-class';
import { filesAt, Known, sourceOf } from '../model/git';
import { signatureKey } from '../apply/signature';
import { compileStored, StoredOptions } from '../plan/side';
import { TextStore } from '../plan/store';
import { Command, EXIT, configDir, formatOption, printDiagnostics, progressLine } from './common';
import { CACHE_DIR, CACHE_HELP, CONFIG, GATEWAYS, format as formatOpt } from '../util/options';

export const command: Command = {
  name: 'plan',
  summary: 'show what a change does to each gateway: unified diffs and per-tenant impact (exit 3 when something changes)',
  details: CACHE_HELP,
  options: {
    ...CONFIG,
    against: { type: 'string', short: 'a', value: 'DIR|REF', required: true, description: 'what to compare with: a folder of built bundles (out/) or a Git ref', example: '--against origin/main', complete: 'dir' },
    ...GATEWAYS,
    ...CACHE_DIR,
    ...formatOpt(['text', 'json', 'markdown'], 'text: diffs for a terminal; json: the plan as data; markdown: a pull-request comment'),
    locked: { type: 'boolean', description: 'refuse a change the lock file does not already hold, exactly as `build --locked` on main does (same check, same message, exit 1)' },
    'fail-on': { type: 'string', value: 'CLASS', choices: CHANGE_CLASSES.filter((c) => c !== 'hitless'), description: 'exit 1 when a change of this class or a worse one is planned (hitless < rekey < replace < disruptive), naming the changes; the plan is printed first (docs/changes.md)', example: '--fail-on disruptive' },
  },
  json: `{
  "version": 1,
  "against": "origin/main (0123456789ab)",
  "changed": true,
  "lock": { "changes": ["..."], "patch": "..." },
  "gateways": [{ "gateway": "gw1", "status": "changed", "impact": { "tenants": [...], "totals": {...} }, "files": [{ "path": "...", "status": "changed", "patch": "..." }] }]
}`,
  examples: ['s2sgw plan --against origin/main', 's2sgw plan --against out/ --format markdown'],
  async run({ values }, io) {
    const format = formatOption(values, ['text', 'json', 'markdown']);
    const dir = configDir(values, io);
    const failOn = values['fail-on'] as string | undefined;
    const bar = progressLine(io, 'plan');
    let made: Made;
    try {
      made = planOnce(values, io, dir, bar, true);
    } catch (e) {
      // A part the parts index promised could not be read as promised (an entry gone or damaged since): again from the entries.
      if (!(e instanceof StaleCache)) throw e;
      made = planOnce(values, io, dir, bar, false);
    }
    if ('exit' in made) return made.exit;
    const plan = made.plan;
    bar.done();
    if (made.note) io.err(made.note);
    if (format === 'json') io.out(planJson(plan));
    else if (format === 'markdown') io.out(planMarkdown(plan));
    else io.out(planText(plan, io.color));
    if (failOn) {
      const hits = changesAtLeast(plan, failOn as ChangeClass);
      if (hits.length) {
        io.err(`s2sgw plan: --fail-on ${failOn}: ${hits.length} change${hits.length === 1 ? '' : 's'} of class ${failOn} or worse planned:\n${hits.map((h) => `  ${h}\n`).join('')}`);
        return EXIT.findings;
      }
    }
    return plan.changed ? EXIT.changes : EXIT.ok;
  },
};

type Made = { exit: number } | { plan: Plan; note?: string };

/**
 * Both sides and the plan; `partsIndex`: unchanged tenants from the parts index (their texts read only where a diff
 * shows them, so a StaleCache may come out of assemblePlan). Writes nothing to stdout; the findings of a side built
 * now that does not validate are printed here.
 */
function planOnce(values: Record<string, unknown>, io: Parameters<Command['run']>[1], dir: string, bar: ReturnType<typeof progressLine>, partsIndex: boolean): Made {
  const format = formatOption(values, ['text', 'json', 'markdown']);
  const against = values.against as string;
  // One cache for both sides: the base side of a one-tenant change is all hits, both in this run and the next.
  const cache = openCache(values, io.env, io.cwd, io.err);
  bar.step('loading the config repository');
  // With a cache, the files Git holds unchanged are keyed by their object ids and not read (LoadOptions.git), as validate does.
  let loaded: Loaded | undefined = loadConfig(dir, { git: !!cache });
  const lockBefore = typeof loaded.lock === 'number' ? undefined : loaded.lock?.toString();
  // The side built now records the work tree's commit (dirty when its inputs, or the lock this build writes, differ).
  const source = sourceOf(dir);
  // The work tree's bytes, kept before validate lets them go: the base side takes every blob Git has with the same id
  // from here; a file Git holds unchanged, by its id and its read (filesAt's Known), still unread.
  const have = new Map<string, Buffer | Known>();
  for (const f of loaded.files) {
    const lazy = f.id !== undefined ? Object.getOwnPropertyDescriptor(f, 'pending')?.get : undefined;
    if (lazy) have.set(f.path, { id: f.id!, read: lazy as () => Buffer | number });
    else if (Buffer.isBuffer(f.pending)) have.set(f.path, f.pending);
  }
  if (Buffer.isBuffer(loaded.lock)) have.set('allocations.lock.yaml', loaded.lock);
  // Without a cache both sides keep their files' texts compressed in one store as each target renders (src/plan/store.ts):
  // neither side's texts stand as strings next to the other side's model.
  const store = cache ? undefined : new TextStore();
  const now = thisSide(loaded, { source, cache, lean: true, partsIndex, indexRules: true, locked: !!values.locked, progress: (p) => bar.step(`this side: ${p}`) }, store);

  if (now.ok && source && !source.dirty && now.lockText !== lockBefore) for (const b of now.bundles) b.manifest.source = { ...source, dirty: true };
  if (!now.ok) {
    bar.done();
    printDiagnostics(now.diagnostics, format === 'json' ? 'json' : 'text', loaded.files, io, loaded.lock);
    return { exit: EXIT.findings };
  }
  // This side's source files (their texts and line tables, 30 MB at 10,000 tenants) are not read past here.
  loaded = undefined;
  const only = values.gateway as string[] | undefined;
  let base: BaseBundle[];
  let label = against;
  let baseLock = lockBefore;
  let note: string | undefined;
  const asDir = path.resolve(io.cwd, against);
  if (fs.existsSync(asDir) && fs.statSync(asDir).isDirectory()) {
    bar.step(`reading the bundles in ${against}`);
    base = readBundles(asDir);
  } else {
    bar.step(`reading ${against} from Git`);
    const ref = filesAt(dir, against, have);
    // The base side's inputs hold the Buffers it takes; each goes once its file is parsed (21 MB at 10,000 tenants).
    have.clear();
    label = `${against} (${ref.commit.slice(0, 12)})`;
    baseLock = Buffer.isBuffer(ref.lock) ? ref.lock.toString() : undefined;
    // Without a cache the base side's unchanged pieces are this side's StoredTexts (like), not a second copy of them.
    base = baseSide(loadFiles(dir, ref.inputs, ref.lock), { source: { commit: ref.commit, dirty: false }, cache, lean: true, partsIndex, indexRules: true, base: true, ...(cache ? {} : { like: now.bundles }), progress: (p) => bar.step(`${against}: ${p}`) }, store, (findings) => {
      note = `s2sgw plan: note: ${against} itself does not validate (${findings} finding${findings === 1 ? '' : 's'}); everything is shown as new\n`;
    });
  }
  // Both sides are bundles now: the entries the cache kept for the other side (the models' entities) can go.
  cache?.forget();
  bar.step('comparing');
  const plan = assemblePlan(label, base, now.bundles, { changes: now.lockChanges, before: baseLock ?? '', after: now.lockText }, only, signatureKey, now.rollout);
  return { plan, ...(note ? { note } : {}) };
}

/**
 * The side built now, with only what the plan needs of it: the model (every tenant's entity) is not
 * kept past this call, so it can go once the other side is made (see cache.forget()).
 */
function thisSide(loaded: Loaded, opts: CompileOptions, store?: TextStore): { ok: false; diagnostics: Diagnostic[] } | { ok: true; bundles: Bundle[]; lockText?: string; lockChanges: string[]; rollout: Record<string, { wave: number }> } {
  const now = store ? compileStored(loaded, store, storedOptions(opts)) : compile(loaded, undefined, opts);
  if (!now.ok) return { ok: false, diagnostics: now.diagnostics };
  const rollout = Object.fromEntries(now.model.gateways.filter((g) => g.rollout).map((g) => [g.name, { wave: g.rollout!.wave }]));
  return { ok: true, bundles: now.bundles, ...(now.lockText !== undefined ? { lockText: now.lockText } : {}), lockChanges: now.lockChanges.map((c) => c.what), rollout };
}

/** The base side's bundles (its model goes when this returns); `failed` is told how many findings when it does not validate. */
function baseSide(loaded: Loaded, opts: CompileOptions, store: TextStore | undefined, failed: (findings: number) => void): BaseBundle[] {
  const old = store ? compileStored(loaded, store, storedOptions(opts)) : compile(loaded, undefined, opts);
  if (!old.ok) failed(old.diagnostics.length);
  return old.bundles.map((b) => ({ gateway: b.gateway, files: b.files, manifest: b.manifest }));
}

/** What compileStored takes of a side's compile options (the cache's and lean's do not apply to it). */
function storedOptions(opts: CompileOptions): StoredOptions {
  return { locked: !!opts.locked, source: opts.source ?? null, base: !!opts.base, ...(opts.like ? { like: opts.like } : {}), ...(opts.progress ? { progress: opts.progress } : {}) };
}
