// The measured operations, in-process: parse only, validate (the whole `s2sgw validate` pipeline), build in memory.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Document, LineCounter, parseDocument } from 'yaml';
import { loadConfig, parse } from '../src/model/load';
import { validate } from '../src/validate';
import { allocate, emptyLock } from '../src/model/lock';

export const OPS = ['parse', 'validate', 'build', 'breakdown', 'breakdown-build', 'command'] as const;
export type Op = (typeof OPS)[number];

export interface Measurement {
  op: Op;
  tenants: number;
  /** Wall time of the operation, ms (node start-up and module loading excluded). */
  ms: number;
  /** CPU time (user + system, all threads incl. GC) of the operation, ms: steadier than ms on a busy machine. */
  cpuMs: number;
  /** Named parts of ms, in order. */
  phases: Record<string, number>;
  /** Peak resident set size of the whole process, kB. */
  maxRssKb: number;
  /** Errors validate reported: non-zero means the figures are not those of a clean repository. */
  errors: number;
  /** build only: bytes of every bundle file, and how many files. */
  bundleBytes?: number;
  bundleFiles?: number;
  /** build only: bytes of nftables/s2sgw.nft (0 while the target renders nothing). */
  nftBytes?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * `s2sgw build --config DIR --out <scratch>` as an operator runs it, in this process: reading the lock,
 * validating, rendering and writing every file (the output is discarded). Its peak RSS is the command's.
 */
export async function measureCommand(dir: string): Promise<Measurement> {
  const { main } = require('../src/cli') as typeof import('../src/cli');
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-bench-out-'));
  const lines: string[] = [];
  const io = { out: (t: string) => void lines.push(t), err: (t: string) => void lines.push(t), color: false, env: process.env, cwd: process.cwd() };
  try {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const code = await main(['build', '--config', dir, '--out', out], io);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    const tenants = Number((lines.join('').match(/(\d+) tenants?/) ?? [])[1] ?? 0);
    return { op: 'command', tenants, ms, cpuMs: (cpu.user + cpu.system) / 1000, phases: {}, maxRssKb: process.resourceUsage().maxRSS, errors: code === 0 ? 0 : 1 };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** Reads and parses every YAML file the way the loader does (same options, LineCounter), and nothing more. */
export function parseOnly(dir: string): Document[] {
  const docs: Document[] = [];
  for (const folder of ['gateways', 'tenants']) {
    const abs = path.join(dir, folder);
    for (const name of fs.readdirSync(abs).sort()) {
      if (!/\.ya?ml$/.test(name)) continue;
      const text = utf8.decode(fs.readFileSync(path.join(abs, name)));
      const lineCounter = new LineCounter();
      docs.push(parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false, strict: true, version: '1.2', logLevel: 'error' }));
    }
  }
  return docs;
}

/** Runs one operation over a config folder and times it; `nftOut` receives the rendered nftables file of a build. */
export function measure(op: Op, dir: string, opts: { nftOut?: string } = {}): Measurement {
  const phases: Record<string, number> = {};
  let errors = 0;
  let tenants = 0;
  const out: Partial<Measurement> = {};
  let nft: string | undefined;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  if (op === 'parse') {
    tenants = parseOnly(dir).length - 1;
    phases.parse = performance.now() - t0;
  } else if (op === 'breakdown' || op === 'breakdown-build') {
    ({ tenants, errors } = breakdown(dir, phases, op === 'breakdown-build'));
  } else {
    const loaded = loadConfig(dir);
    const t1 = performance.now();
    phases.load = t1 - t0;
    const v = validate(loaded);
    const t2 = performance.now();
    phases.validate = t2 - t1;
    errors = v.diagnostics.filter((d) => d.severity === 'error').length;
    tenants = v.model.tenants.length;
    if (op === 'build') {
      // Loaded here so validate runs, like `s2sgw validate`, without the targets (and survives a target that does not load).
      // compileValidated is what `s2sgw build` runs after validate: allocate, render, bundle.
      const { compileValidated } = require('../src/bundle/compile') as typeof import('../src/bundle/compile');
      const compiled = compileValidated(v, emptyLock());
      const bundles = compiled.bundles;
      const t3 = performance.now();
      phases.allocate = 0;
      phases.bundle = t3 - t2;
      let bytes = 0;
      let files = 0;
      nft = '';
      for (const b of bundles) {
        for (const f of b.files) {
          bytes += Buffer.byteLength(f.content);
          files++;
          if (f.path === 'nftables/s2sgw.nft') nft += f.content;
        }
      }
      Object.assign(out, { bundleBytes: bytes, bundleFiles: files, nftBytes: Buffer.byteLength(nft) });
    }
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  // Written after the clock stops: the bench times `nft -c` on it, not the disk.
  if (opts.nftOut && nft !== undefined) fs.writeFileSync(opts.nftOut, nft);
  return { op, tenants, ms, cpuMs: (cpu.user + cpu.system) / 1000, phases, maxRssKb: process.resourceUsage().maxRSS, errors, ...out };
}

/**
 * validate's parts timed one by one, CPU ms each (load, schema, model, then every rule by id).
 * With `build`, then allocate and each target's render (what bundleAll adds on top: joining and hashing).
 * Mirrors src/validate/index.ts's order; for finding hotspots, not for the goals (validate() itself is measured for those).
 */
function breakdown(dir: string, phases: Record<string, number>, build: boolean): { tenants: number; errors: number } {
  const { validateSchema } = require('../src/validate/schema') as typeof import('../src/validate/schema');
  const { buildModel } = require('../src/model/model') as typeof import('../src/model/model');
  const { allRules } = require('../src/validate/rules') as typeof import('../src/validate/rules');
  const { context } = require('../src/validate/rules/rule') as typeof import('../src/validate/rules/rule');
  const timed = <T>(name: string, fn: () => T): T => {
    const c = process.cpuUsage();
    const r = fn();
    const d = process.cpuUsage(c);
    phases[name] = (d.user + d.system) / 1000;
    return r;
  };
  // All parsed up front here (unlike validate(), which parses and releases file by file), to time the phases apart.
  const loaded = timed('load', () => {
    const l = loadConfig(dir);
    for (const f of l.files) l.diagnostics.push(...parse(f));
    return l;
  });
  const schemaDiags = timed('schema', () => validateSchema(loaded.files));
  const valid = new Set(loaded.files.filter((f) => f.data !== undefined).map((f) => f.path));
  const { model } = timed('model', () => buildModel(loaded.files, valid));
  const ctx = context(model);
  let errors = schemaDiags.length + loaded.diagnostics.length;
  for (const r of allRules()) errors += timed(`rule ${r.id}`, () => r.check.call(r, ctx)).length;
  if (build) {
    const { TARGETS } = require('../src/targets') as typeof import('../src/targets');
    const { tenantsOn } = require('../src/model/model') as typeof import('../src/model/model');
    const { alloc } = timed('allocate', () => allocate(model, emptyLock()));
    for (const gateway of model.gateways) {
      const tenants = tenantsOn(model, gateway.name);
      for (const t of TARGETS) timed(`render ${t.name}`, () => t.render({ model, gateway, tenants, alloc }));
    }
  }
  return { tenants: model.tenants.length, errors };
}
