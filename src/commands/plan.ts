// `s2sgw plan`: what a change would do to every gateway, against built bundles or a Git ref. Exit 0 no change, 3 changes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig, loadFiles } from '../compiler/load';
import { readLock, parseLock, emptyLock, LOCK_FILE } from '../compiler/lock';
import { compile } from '../compiler/compile';
import { openCache } from '../compiler/cache';
import { assemblePlan, readBundles, BaseBundle } from '../compiler/plan';
import { planJson, planMarkdown, planText } from '../compiler/plan-format';
import { filesAt } from '../compiler/git';
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
    const lockPath = path.join(dir, LOCK_FILE);
    const lockBefore = fs.existsSync(lockPath) ? fs.readFileSync(lockPath, 'utf8') : undefined;
    // One cache for both sides: the base side of a one-tenant change is all hits, both in this run and the next.
    const cache = openCache(values, io.env, io.cwd, io.err);
    const now = compile(loaded, readLock(dir), { cache });
    if (!now.ok) {
      printDiagnostics(now.diagnostics, format === 'json' ? 'json' : 'text', loaded.files, io);
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
      const ref = filesAt(dir, against);
      label = `${against} (${ref.commit.slice(0, 12)})`;
      baseLock = ref.lock;
      const old = compile(loadFiles(dir, ref.inputs), ref.lock ? parseLock(ref.lock) : emptyLock(), { cache });
      if (!old.ok) io.err(`s2sgw plan: note: ${against} itself does not validate (${old.diagnostics.length} finding${old.diagnostics.length === 1 ? '' : 's'}); everything is shown as new\n`);
      base = old.bundles.map((b) => ({ gateway: b.gateway, files: b.files, manifest: b.manifest }));
    }
    const plan = assemblePlan(label, base, now.bundles, { changes: now.lockChanges.map((c) => c.what), before: baseLock ?? '', after: now.lockText }, only);
    if (format === 'json') io.out(planJson(plan));
    else if (format === 'markdown') io.out(planMarkdown(plan));
    else io.out(planText(plan, io.color));
    return plan.changed ? EXIT.changes : EXIT.ok;
  },
};
