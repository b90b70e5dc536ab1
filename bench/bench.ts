// The bench framework: what a bench is, the shared context (generated repositories, measurements in child processes), and printing.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generateRepo, Generated } from './generate';
import type { Measurement, Op } from './measure';

/** The line a child prints its measurement on (as JSON after the prefix). */
export const RESULT_PREFIX = 'S2SGW-BENCH-RESULT ';

export interface Options {
  /** Tenant counts, smallest first; goals compare the first two. */
  sizes: number[];
  /** Runs per series at sizes up to 1,000 (median taken); larger sizes get `bigRuns`. */
  runs: number;
  bigRuns: number;
  /** Keep the generated repositories and scratch files (their folder is printed). */
  keep: boolean;
  /** breakdown: also time each target's render. */
  breakdownBuild?: boolean;
}

export interface Goal {
  name: string;
  /** The figure and the limit, both as numbers so the verdict is computed, not typed. */
  value: number | undefined;
  limit: number;
  unit: string;
  /** The same figure from CPU time, shown beside it: steadier when other work shares the machine. */
  cpuValue?: number;
  /** Shown instead of the verdict when value is undefined. */
  missing?: string;
}

export interface Report {
  title: string;
  /** First row is the header. */
  table?: string[][];
  goals?: Goal[];
  notes?: string[];
  /** Further reports of the same bench, printed after this one (e.g. apply's change classes). */
  sections?: Report[];
}

export interface Bench {
  /** The argument that selects it: `npm run bench -- NAME`. */
  name: string;
  summary: string;
  /** Part of a run without arguments. */
  byDefault: boolean;
  run(ctx: Context): Promise<Report>;
}

export interface Series {
  op: Op;
  tenants: number;
  runs: Measurement[];
  /** The run with the median time. */
  median: Measurement;
}

/** Shared by the benches of one invocation: each repository is generated once and each series measured once. */
export class Context {
  readonly scratch: string;
  private repos = new Map<number, Generated>();
  private series = new Map<string, Promise<Series>>();

  constructor(readonly options: Options, readonly log: (line: string) => void) {
    this.scratch = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-bench-'));
  }

  /** The generated repository of n tenants. */
  repo(n: number): Generated {
    let g = this.repos.get(n);
    if (!g) {
      const t0 = Date.now();
      g = generateRepo(path.join(this.scratch, `repo-${n}`), { tenants: n });
      this.log(`generated ${fmtInt(n)} tenants (${fmtBytes(g.bytes)} of YAML) in ${Date.now() - t0} ms`);
      this.repos.set(n, g);
    }
    return g;
  }

  /** Where a build at n tenants leaves its rendered nftables file. */
  nftFile(n: number): string {
    return path.join(this.scratch, `s2sgw-${n}.nft`);
  }

  runsFor(n: number): number {
    return n <= 1000 ? this.options.runs : this.options.bigRuns;
  }

  /** Measures op at n tenants: one warm-up run when the series has more than one run, then the runs; memoized. */
  measure(op: Op, n: number): Promise<Series> {
    const key = `${op}/${n}`;
    let s = this.series.get(key);
    if (!s) {
      s = this.measureNow(op, n);
      this.series.set(key, s);
    }
    return s;
  }

  private async measureNow(op: Op, n: number): Promise<Series> {
    const dir = this.repo(n).dir;
    const count = this.runsFor(n);
    const extra = op === 'build' ? ['--nft-out', this.nftFile(n)] : [];
    if (count > 1) await runChild([op, dir, ...extra]);
    const runs: Measurement[] = [];
    for (let i = 0; i < count; i++) runs.push(await runChild([op, dir, ...extra]));
    const median = [...runs].sort((a, b) => a.ms - b.ms)[(runs.length - 1) >> 1];
    this.log(`${op} ${fmtInt(n)}: ${runs.map((r) => fmtMs(r.ms)).join(', ')} ms`);
    return { op, tenants: n, runs, median };
  }

  /** Runs a child measurement with extra node flags (e.g. --cpu-prof). */
  child(args: string[], nodeFlags: string[] = []): Promise<Measurement> {
    return runChild(args, nodeFlags);
  }

  close(): void {
    if (this.options.keep) this.log(`kept ${this.scratch}`);
    else fs.rmSync(this.scratch, { recursive: true, force: true });
  }
}

/** Runs bench/child.js in a fresh node and returns its measurement; its stderr passes through. */
export function runChild(args: string[], nodeFlags: string[] = []): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, path.join(__dirname, 'child.js'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code !== 0 || !line) reject(new Error(`bench child ${args.join(' ')} exited ${code}: ${out.trim().slice(-500)}`));
      else resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as Measurement);
    });
  });
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function fmtMs(ms: number): string {
  return ms >= 100 ? fmtInt(ms) : ms.toFixed(1);
}

export function fmtBytes(b: number): string {
  if (b >= 1 << 20) return `${(b / (1 << 20)).toFixed(1)} MiB`;
  if (b >= 1 << 10) return `${(b / (1 << 10)).toFixed(1)} KiB`;
  return `${b} B`;
}

export function fmtRatio(r: number | undefined): string {
  return r === undefined || !Number.isFinite(r) ? 'n/a' : `${r.toFixed(2)}x`;
}

/** Aligned columns; numbers (anything starting with a digit) are right-aligned. */
export function formatTable(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => (/^[0-9]/.test(cell) && c > 0 ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function verdict(g: Goal): string {
  if (g.value === undefined || !Number.isFinite(g.value)) return `n/a   ${g.name}: ${g.missing ?? 'not measured'}`;
  const shown = g.unit === 'x' ? fmtRatio(g.value) : `${fmtInt(g.value)} ${g.unit}`;
  const limit = g.unit === 'x' ? fmtRatio(g.limit) : `${fmtInt(g.limit)} ${g.unit}`;
  const cpu = g.cpuValue === undefined ? '' : `; by CPU time ${g.unit === 'x' ? fmtRatio(g.cpuValue) : fmtInt(g.cpuValue)} ${g.cpuValue <= g.limit ? 'PASS' : 'MISS'}`;
  return `${g.value <= g.limit ? 'PASS' : 'MISS'}  ${g.name}: ${shown} (goal <= ${limit})${cpu}`;
}

export function formatReport(r: Report): string {
  const out = [`== ${r.title}`];
  if (r.table) out.push(formatTable(r.table));
  if (r.goals?.length) out.push('', ...r.goals.map(verdict));
  if (r.notes?.length) out.push('', ...r.notes.map((n) => `note: ${n}`));
  return out.join('\n') + '\n' + (r.sections ?? []).map((s) => '\n' + formatReport(s)).join('');
}

/** The first two sizes, which the goals compare (1,000 and 10,000 by default). */
export function smallBig(ctx: Context): [number, number | undefined] {
  return [ctx.options.sizes[0], ctx.options.sizes[1]];
}
