// Bench `profile`: a CPU profile of validate at the largest size, summarised as self and inclusive time per function and per file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Bench, Context, fmtInt, fmtMs } from './bench';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Hotspot {
  fn: string;
  /** Own time, ms. */
  self: number;
  /** Time with everything it called, ms (recursion counted once). */
  total: number;
}

/** Where a frame's code lives, relative to the project ("src/validate/schema.js:12"), or the package it came from. */
function where(cf: CallFrame): string {
  const u = cf.url.replace(/^file:\/\//, '');
  if (!u) return '';
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) return u.slice(nm + '/node_modules/'.length).split('/')[0];
  const m = /\/dist[^/]*\/(.*)$/.exec(u);
  return m ? m[1] : u.startsWith('node:') ? 'node' : path.basename(u);
}

function key(cf: CallFrame): string {
  const w = where(cf);
  const loc = w.startsWith('src/') || w.startsWith('bench/') ? `${w}:${cf.lineNumber + 1}` : w;
  return `${cf.functionName || '(anonymous)'}${loc ? ' ' + loc : ''}`;
}

/** Self and inclusive time per function, and self time per file or package. Pure. */
export function analyze(p: CpuProfile): { functions: Hotspot[]; files: Array<{ file: string; self: number }>; totalMs: number } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const files = new Map<string, number>();
  let totalMs = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const ms = (p.timeDeltas[i] ?? 0) / 1000;
    totalMs += ms;
    let id: number | undefined = p.samples[i];
    const leaf = byId.get(id)!;
    const k = key(leaf.callFrame);
    self.set(k, (self.get(k) ?? 0) + ms);
    const f = where(leaf.callFrame).replace(/:\d+$/, '') || `(${leaf.callFrame.functionName})`;
    files.set(f, (files.get(f) ?? 0) + ms);
    const seen = new Set<string>();
    while (id !== undefined) {
      const kk = key(byId.get(id)!.callFrame);
      if (!seen.has(kk)) {
        seen.add(kk);
        total.set(kk, (total.get(kk) ?? 0) + ms);
      }
      id = parent.get(id);
    }
  }
  const functions = [...total.keys()].map((fn) => ({ fn, self: self.get(fn) ?? 0, total: total.get(fn)! }));
  return { functions, files: [...files].map(([file, s]) => ({ file, self: s })).sort((a, b) => b.self - a.self), totalMs };
}

export const bench: Bench = {
  name: 'profile',
  summary: 'CPU profile of validate at the largest size: top functions by self and by inclusive time (project code)',
  byDefault: false,
  async run(ctx: Context) {
    const n = ctx.options.sizes[ctx.options.sizes.length - 1];
    const dir = path.join(ctx.scratch, 'profile');
    fs.mkdirSync(dir, { recursive: true });
    const m = await ctx.child(['validate', ctx.repo(n).dir], ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', `validate-${n}.cpuprofile`]);
    const file = path.join(dir, `validate-${n}.cpuprofile`);
    const a = analyze(JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile);
    const pct = (ms: number) => `${((100 * ms) / a.totalMs).toFixed(1)}%`;
    const bySelf = [...a.functions].sort((x, y) => y.self - x.self).slice(0, 20);
    const ours = a.functions.filter((f) => / src\//.test(f.fn)).sort((x, y) => y.total - x.total).slice(0, 25);
    const table = [['self ms', 'self', 'function (top 20 by own time)']];
    for (const f of bySelf) table.push([fmtMs(f.self), pct(f.self), f.fn]);
    table.push(['', '', ''], ['incl ms', 'incl', 'project function (top 25 by inclusive time)']);
    for (const f of ours) table.push([fmtMs(f.total), pct(f.total), f.fn]);
    table.push(['', '', ''], ['self ms', 'self', 'file or package']);
    for (const f of a.files.slice(0, 12)) table.push([fmtMs(f.self), pct(f.self), f.file]);
    return {
      title: `profile: validate at ${fmtInt(n)} tenants (${fmtMs(m.ms)} ms measured, ${fmtMs(a.totalMs)} ms sampled incl. start-up)`,
      table,
      notes: [`profile: ${ctx.options.keep ? file : 'pass --keep to keep the .cpuprofile (open it in Chrome DevTools)'}`, 'lines are of the compiled JS in dist/'],
    };
  },
};
