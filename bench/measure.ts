// The measured operations, in-process: parse only, validate (the whole `s2sgw validate` pipeline), build in memory.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Document, LineCounter, parseDocument } from 'yaml';
import { loadConfig } from '../src/compiler/load';
import { validate } from '../src/validate';
import { allocate, emptyLock } from '../src/compiler/lock';
import { bundleAll } from '../src/compiler/bundle';

export const OPS = ['parse', 'validate', 'build'] as const;
export type Op = (typeof OPS)[number];

export interface Measurement {
  op: Op;
  tenants: number;
  /** Wall time of the operation, ms (node start-up and module loading excluded). */
  ms: number;
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

/** Reads and parses every YAML file the way the loader does (same options, LineCounter), and nothing more. */
export function parseOnly(dir: string): Document[] {
  const docs: Document[] = [];
  for (const folder of ['gateways', 'tenants']) {
    const abs = path.join(dir, folder);
    for (const name of fs.readdirSync(abs).sort()) {
      if (!/\.ya?ml$/.test(name)) continue;
      const text = utf8.decode(fs.readFileSync(path.join(abs, name)));
      const lineCounter = new LineCounter();
      docs.push(parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false, strict: true, version: '1.2' }));
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
  const t0 = performance.now();
  if (op === 'parse') {
    tenants = parseOnly(dir).length - 1;
    phases.parse = performance.now() - t0;
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
      const { alloc } = allocate(v.model, emptyLock());
      const t3 = performance.now();
      phases.allocate = t3 - t2;
      const bundles = bundleAll(v.model, alloc);
      phases.bundle = performance.now() - t3;
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
  // Written after the clock stops: the bench times `nft -c` on it, not the disk.
  if (opts.nftOut && nft !== undefined) fs.writeFileSync(opts.nftOut, nft);
  return { op, tenants, ms, phases, maxRssKb: process.resourceUsage().maxRSS, errors, ...out };
}
