// `s2sgw build`: validate, allocate ids, render every gateway's bundle, optionally check it with the real tools, then write.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '../model/load';
import { Format } from '../model/format';
import { LOCK_FILE } from '../model/lock';
import { compile } from '../bundle/compile';
import { sourceOf } from '../model/git';
import { Cache, keyOf, openCache } from '../util/cache';
import { checkBundle } from '../bundle/check';
import { Bundle, Layout, MANIFEST, StaleCache, layoutOf, setSource } from '../bundle/bundle';
import { hasErrors, sortDiagnostics } from '../model/diagnostics';
import { PreviousTree, StagedTree, replaceTree, writeFileAtomic, TenantLayout, TreeIndex, TreeRecord } from '../bundle/write';
import { WriteThread } from '../bundle/write-thread';
import { Command, EXIT, Io, configDir, formatOption, note, printDiagnostics, progressLine } from './common';
import { toJson } from '../model/format';
import type { LockChange } from '../model/lock';
import { CACHE_DIR, CACHE_HELP, CONFIG, GATEWAYS, format as formatOpt } from '../util/options';

export const command: Command = {
  name: 'build',
  summary: 'compile the config repository into out/<gateway>/ bundles (writes nothing when validation fails)',
  details: CACHE_HELP,
  options: {
    ...CONFIG,
    out: { type: 'string', short: 'o', value: 'DIR', default: 'CONFIG/out', description: 'where the out/<gateway>/ bundles are written' },
    ...GATEWAYS,
    locked: { type: 'boolean', description: 'fail instead of allocating: every id must already be in allocations.lock.yaml (CI)' },
    check: { type: 'boolean', description: 'also check each bundle with the real tools (nft -c, vtysh --dryrun, swanctl parser, netplan)' },
    // Build's own words: it also keeps what it wrote to out/ there (src/bundle/write.ts, PreviousTree).
    'cache-dir': {
      ...CACHE_DIR['cache-dir'],
      description:
        "keep each tenant's checked model and rendered sections in DIR between runs (also S2SGW_CACHE_DIR), and what this build wrote to out/<gateway>/: the next build takes unchanged tenants' texts and files from there when out/ is still as written; output is the same with or without it",
    },
    ...formatOpt(['text', 'json', 'github']),
  },
  json: `{
  "version": 1,
  "ok": true,
  "diagnostics": [],                                      // as validate's
  "bundles": [{ "gateway": "gw1", "files": 42, "tenants": 2, "checked": false }],   // written (none when ok is false)
  "lock": { "changes": ["tenant contoso: table 1001, zone 1", "connection contoso/IfCe1: if_id 1"] }
}`,
  examples: ['s2sgw build', 's2sgw build --locked --check --gateway gw1'],
  async run({ values }, io) {
    const format = formatOption(values, ['text', 'json', 'github']) as Format;
    const dir = configDir(values, io);
    const outDir = path.resolve(io.cwd, (values.out as string | undefined) ?? path.join(dir, 'out'));
    const bar = progressLine(io, 'build');
    bar.step('loading the config repository');
    const cache = openCache(values, io.env, io.cwd, io.err);
    // With a cache, the files Git holds unchanged are keyed by their object ids and not read (LoadOptions.git).
    let loaded = loadConfig(dir, { git: !!cache });
    const gateways = values.gateway as string[] | undefined;
    // The lock is read with the tenant files and checked as strictly (src/validate/lock-check.ts).
    // Read before build writes the lock: a lock this build changes is not the commit's either (dirty below).
    const source = sourceOf(dir);
    const lockPath = path.join(dir, LOCK_FILE);
    const oldLock = loaded.lock === undefined ? undefined : loaded.lock.toString();
    // With a cache, what the last build recorded of each out/<gateway>/ (TreeStore): unchanged tenants' texts come out of its files.
    const trees = new Map<string, TreeStore>();
    const treeOf = (gateway: string) => {
      const target = path.join(outDir, gateway);
      let t = trees.get(target);
      if (!t) trees.set(target, (t = treeStore(cache!, target)));
      return t;
    };
    // Each wanted gateway's tree is written beside out/<gateway>/ as it renders (its texts let go file by file), and
    // swapped in below; not with --check, whose checks need the bundles' texts anyway. Removed unless swapped in.
    // The files are written on a thread of their own (WriteThread) while the next ones render.
    const stages = new Map<string, StagedTree>();
    const writer = new WriteThread();
    const stage = (g: string) => {
      if (gateways && !gateways.includes(g)) return undefined;
      let t = stages.get(g);
      if (!t) stages.set(g, (t = new StagedTree(path.join(outDir, g), cache ? treeOf(g).index(undefined) : undefined, writer)));
      return t;
    };
    const dropStages = () => {
      for (const t of stages.values()) t.abort();
      stages.clear();
    };
    // `partsIndex` false: again from the `parts` entries, after a part the index promised could not be read (StaleCache).
    const compileOnce = (partsIndex: boolean) => {
      dropStages();
      const r = compile(loaded, undefined, { locked: !!values.locked, gateways, keepRendered: !!values.check, source, cache, progress: bar.step, ...(values.check ? {} : { stage }), ...(cache ? { partsIndex, previous: (g: string) => treeOf(g).previous() } : {}) });
      if (source && !source.dirty && r.ok && r.lockText !== oldLock) for (const b of r.bundles) setSource(b, { ...source, dirty: true });
      return r;
    };
    try {
      let result;
      try {
        result = compileOnce(true);
      } catch (e) {
        if (!(e instanceof StaleCache)) throw e;
        loaded = loadConfig(dir, { git: !!cache });
        result = compileOnce(false);
      }
      let diags = result.diagnostics;
      if (result.ok && gateways) {
        const unknown = gateways.filter((g) => !result.bundles.some((b) => b.gateway === g));
        if (unknown.length) {
          io.err(`s2sgw build: no gateway named ${unknown.join(', ')} (have: ${result.model.gateways.map((g) => g.name).join(', ') || 'none'})\n`);
          return EXIT.usage;
        }
      }
      if (result.ok && values.check) {
        for (const [i, b] of result.bundles.entries()) {
          bar.step(`checking ${b.gateway} with the real tools (${i + 1}/${result.bundles.length})`);
          diags = [...diags, ...(await checkBundle(b, result.model))];
        }
        diags = sortDiagnostics(diags);
      }
      bar.done();
      const failed = !result.ok || hasErrors(diags);
      if (format === 'json') {
        const bundles = failed ? [] : result.bundles.map((b) => ({ gateway: b.gateway, files: b.files.length, tenants: Object.keys(b.manifest.tenants).length, checked: !!values.check }));
        io.out(JSON.stringify({ version: 1, ok: !failed, ...toJson(diags), bundles, lock: { changes: failed ? [] : result.lockChanges.map((c) => c.what) } }, null, 2) + '\n');
      } else printDiagnostics(diags, format, loaded.files, io, loaded.lock);
      if (failed) {
        if (format === 'text') io.err('build: nothing written\n');
        return EXIT.findings;
      }
      // Lock first: a bundle must never refer to ids the committed lock does not hold.
      if (result.lockText !== oldLock && !values.locked) writeFileAtomic(lockPath, result.lockText!);
      const writeAll = (bundles: Bundle[]) => {
        for (const [i, b] of bundles.entries()) {
          bar.step(`writing ${b.gateway} (${i + 1}/${bundles.length})`);
          const target = path.join(outDir, b.gateway);
          // With a cache, the tree's files as written are recorded there: a file that is still exactly so is not read again (TreeIndex).
          const layout = layoutOf(b);
          const shas = new Map(Object.entries(b.manifest.files).map(([p, e]) => [p, e.sha256]));
          const staged = stages.get(b.gateway);
          if (staged) {
            // Every file but the manifest is there already (its source may have changed since: setSource).
            staged.put(b.files.find((f) => f.path === MANIFEST)!);
            staged.commit(cache ? { shas, ...(layout ? { recipes: layout.recipes } : {}), save: (records) => treeOf(b.gateway).index(layout).save(records) } : undefined);
          } else replaceTree(target, b.files, cache ? { tree: treeOf(b.gateway).index(layout), shas, ...(layout ? { recipes: layout.recipes } : {}) } : undefined);
        }
      };
      try {
        writeAll(result.bundles);
      } catch (e) {
        // A file whose text was left to be joined at its write needed a part that can no longer be read: made again
        // from the entries (the same bundles; the lock written above is the one they were made with) and written.
        if (!(e instanceof StaleCache)) throw e;
        loaded = loadConfig(dir, { git: !!cache });
        writeAll(compileOnce(false).bundles);
      }
      bar.done();
      if (!gateways) removeStale(outDir, result.bundles.map((b) => b.gateway), io);
      if (format === 'text') {
        for (const b of result.bundles) {
          const n = Object.keys(b.manifest.tenants).length;
          const rel = path.relative(io.cwd, path.join(outDir, b.gateway));
          note(io, `built ${rel.startsWith('..') ? path.join(outDir, b.gateway) : rel}/: ${b.files.length} files, ${n} tenant${n === 1 ? '' : 's'}${values.check ? ', checked with the real tools' : ''}\n`);
        }
        lockSummary(result.lockChanges, io);
      }
      return EXIT.ok;
    } finally {
      dropStages();
      writer.close();
    }
  },
};

/**
 * What the build allocated or retired in the lock: each change with --verbose or when there are few, else one
 * summary line (the first build of a large repository allocates thousands; `s2sgw plan` lists them all).
 */
export function lockSummary(changes: LockChange[], io: Io): void {
  if (!changes.length || io.quiet) return;
  if (io.verbose || changes.length <= 3) {
    for (const c of changes) io.err(`${LOCK_FILE}: ${c.what}\n`);
    return;
  }
  const count = (kind: string, re: RegExp) => changes.filter((c) => c.kind === kind && re.test(c.what)).length;
  const tenants = count('add', /^tenant /);
  const conns = count('add', /^connection /);
  const retired = changes.filter((c) => c.kind === 'retire').length;
  const parts = [
    tenants ? `${tenants} tenant${tenants === 1 ? '' : 's'} (a routing table and zone each)` : '',
    conns ? `${conns} connection${conns === 1 ? '' : 's'} (an if_id each)` : '',
  ].filter(Boolean);
  io.err(`${LOCK_FILE}: ${parts.length ? `allocated ids for ${parts.join(' and ')}` : ''}${retired ? `${parts.length ? '; ' : ''}retired ${retired}` : ''} (--verbose lists each; \`s2sgw plan\` shows them)\n`);
}

/** A built tree's entry as stored: its files' records (TreeRecord) and the layout of its bundle (Layout.tenants). */
interface TreeEntry {
  format: 2;
  files: Record<string, TreeRecord>;
  tenants: Record<string, TenantLayout>;
}

interface TreeStore {
  /** The previous build's tree, for this build's bundle (PreviousTree). */
  previous(): PreviousTree | undefined;
  /** Its records for replaceTree; what it saves holds this bundle's layout. */
  index(layout: Layout | undefined): TreeIndex;
}

/**
 * A built tree's records in the work cache (entry kind `tree`, keyed by the tree's absolute path), read once a run;
 * see TreeIndex and PreviousTree. An entry of another shape (an older format's) is not used.
 */
function treeStore(cache: Cache, target: string): TreeStore {
  const key = keyOf('tree', path.resolve(target));
  let got: { entry: TreeEntry; since: bigint } | null | undefined;
  let previous: PreviousTree | undefined;
  const load = () => {
    if (got !== undefined) return got ?? undefined;
    const entry = cache.getWith<TreeEntry>('tree', key, (body) => {
      const v = JSON.parse(body) as TreeEntry;
      const isMap = (x: unknown) => x !== null && typeof x === 'object' && !Array.isArray(x);
      return isMap(v) && v.format === 2 && isMap(v.files) && isMap(v.tenants) ? v : undefined;
    }, false);
    const since = entry ? cache.writtenAt('tree', key) : undefined;
    got = entry && since !== undefined ? { entry, since } : null;
    return got ?? undefined;
  };
  return {
    previous() {
      // No tree there (a CI job's fresh checkout with a kept cache folder): nothing to take out of it.
      if (!fs.existsSync(target)) return undefined;
      const l = load();
      return l ? (previous ??= new PreviousTree(target, l.entry.files, l.since, l.entry.tenants)) : undefined;
    },
    index(layout) {
      return {
        load() {
          const l = load();
          return l ? { records: l.entry.files, since: l.since } : undefined;
        },
        save(records) {
          const entry: TreeEntry = { format: 2, files: records, tenants: layout?.tenants ?? {} };
          cache.putText('tree', key, JSON.stringify(entry));
        },
      };
    },
  };
}

/** Removes out/<name>/ bundles of gateways that no longer exist (only folders s2sgw made: they hold its manifest). */
function removeStale(outDir: string, keep: string[], io: { err: (s: string) => void }): void {
  if (!fs.existsSync(outDir)) return;
  for (const name of fs.readdirSync(outDir)) {
    const p = path.join(outDir, name);
    if (keep.includes(name) || name.startsWith('.') || !fs.existsSync(path.join(p, MANIFEST))) continue;
    fs.rmSync(p, { recursive: true, force: true });
    io.err(`removed ${name}/: gateway ${name} no longer exists\n`);
  }
}
