// `s2sgw plan`: what a change would do to every gateway, against built bundles or a Git ref. Exit 0 no change, 3 changes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig, loadFiles } from '../compiler/load';
import { compile } from '../compiler/compile';
import { openCache } from '../compiler/cache';
import { assemblePlan, readBundles, BaseBundle } from '../compiler/plan';
import { planJson, planMarkdown, planText } from '../compiler/plan-format';
import { filesAt, sourceOf } from '../compiler/git';
import { signatureKey } from '../apply/signature';
import { UsageError } from '../usage';
import { CACHE_HELP, Command, EXIT, configDir, formatOption, printDiagnostics } from './common';

export const command: Command = {
  name: 'plan',
  summary: 'show what a change does to each gateway: unified diffs and per-tenant impact (exit 3 when something changes)',
  usage: 's2sgw plan [--config DIR] --against DIR|REF [--gateway G] [--cache-dir DIR] [--format text|json|markdown]',
  details: CACHE_HELP,
  options: {
    config: { type: 'string', short: 'c' },
    against: { type: 'string', short: 'a' },
    gateway: { type: 'string', short: 'g', multiple: true },
    format: { type: 'string', short: 'f' },
    'cache-dir': { type: 'string' },
  },
  async run({ values }, io) {
    const format = formatOption(values, ['text', 'json', 'markdown']);
    const dir = configDir(values, io);
    const against = values.against as string | undefined;
    if (!against) throw new UsageError('--against is required', 'pass a folder of built bundles (e.g. out/) or a Git ref (e.g. origin/main)');
    const loaded = loadConfig(dir);
    const lockBefore = typeof loaded.lock === 'number' ? undefined : loaded.lock?.toString();
    // The side built now records the work tree's commit (dirty when its inputs, or the lock this build writes, differ).
    const source = sourceOf(dir);
    // One cache for both sides: the base side of a one-tenant change is all hits, both in this run and the next.
    const cache = openCache(values, io.env, io.cwd, io.err);
    // The work tree's bytes, kept before validate lets them go: the base side takes every blob Git has with the same id from here.
    const have = new Map<string, Buffer>();
    for (const f of loaded.files) if (Buffer.isBuffer(f.pending)) have.set(f.path, f.pending);
    if (Buffer.isBuffer(loaded.lock)) have.set('allocations.lock.yaml', loaded.lock);
    const now = compile(loaded, undefined, { source, cache });
    if (now.ok && source && !source.dirty && now.lockText !== lockBefore) for (const b of now.bundles) b.manifest.source = { ...source, dirty: true };
    if (!now.ok) {
      printDiagnostics(now.diagnostics, format === 'json' ? 'json' : 'text', loaded.files, io, loaded.lock);
      return EXIT.findings;
    }
    const only = values.gateway as string[] | undefined;
    let base: BaseBundle[];
    let label = against;
    let baseLock = lockBefore;
    const asDir = path.resolve(io.cwd, against);
    if (fs.existsSync(asDir) && fs.statSync(asDir).isDirectory()) {
      base = readBundles(asDir);
    } else {
      const ref = filesAt(dir, against, have);
      label = `${against} (${ref.commit.slice(0, 12)})`;
      baseLock = Buffer.isBuffer(ref.lock) ? ref.lock.toString() : undefined;
      const old = compile(loadFiles(dir, ref.inputs, ref.lock), undefined, { source: { commit: ref.commit, dirty: false }, cache });
      if (!old.ok) io.err(`s2sgw plan: note: ${against} itself does not validate (${old.diagnostics.length} finding${old.diagnostics.length === 1 ? '' : 's'}); everything is shown as new\n`);
      base = old.bundles.map((b) => ({ gateway: b.gateway, files: b.files, manifest: b.manifest }));
    }
    const plan = assemblePlan(label, base, now.bundles, { changes: now.lockChanges.map((c) => c.what), before: baseLock ?? '', after: now.lockText }, only, signatureKey);
    if (format === 'json') io.out(planJson(plan));
    else if (format === 'markdown') io.out(planMarkdown(plan));
    else io.out(planText(plan, io.color));
    return plan.changed ? EXIT.changes : EXIT.ok;
  },
};
