// Bench `plan`: a one-tenant change among N tenants, `s2sgw plan` next to `s2sgw build` on the same repository (issue 5).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Bench, Context, fmtInt, fmtMs, smallBig } from './bench';
import { tenantName } from './generate';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 's2sgw.js');

function timed(args: string[]): { ms: number; code: number; out: string; err: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  return { ms: performance.now() - t0, code: r.status ?? 1, out: r.stdout, err: r.stderr };
}

export const bench: Bench = {
  name: 'plan',
  summary: 'plan for a one-tenant change among N tenants against built bundles, next to build of the same repository',
  byDefault: true,
  async run(ctx: Context) {
    const [small] = smallBig(ctx);
    const table = [['tenants', 'build ms', 'plan ms', 'plan/build', 'tenants in impact', 'files in diff', 'diff lines']];
    const notes: string[] = [];
    for (const n of [small]) {
      const src = ctx.repo(n).dir;
      const dir = path.join(ctx.scratch, `plan-${n}`);
      fs.cpSync(src, dir, { recursive: true });
      const build = timed(['build', '--config', dir]);
      if (build.code !== 0) throw new Error(`build failed: ${build.err}`);
      const victim = path.join(dir, 'tenants', `${tenantName(Math.ceil(n / 2))}.yaml`);
      fs.writeFileSync(victim, fs.readFileSync(victim, 'utf8').replace('{ to: 10.2.0.0/16, metric: 100 }', '{ to: 10.2.0.0/16, metric: 90 }'));
      const plan = timed(['plan', '--config', dir, '--against', path.join(dir, 'out'), '--format', 'json']);
      if (plan.code !== 3) throw new Error(`plan exited ${plan.code}: ${plan.err}`);
      const doc = JSON.parse(plan.out) as { gateways: Array<{ impact: { tenants: unknown[] }; files: Array<{ patch: string }> }> };
      const g = doc.gateways[0];
      const lines = g.files.reduce((k, f) => k + f.patch.split('\n').filter((l) => /^[+-](?![+-]{2} )/.test(l)).length, 0);
      table.push([fmtInt(n), fmtMs(build.ms), fmtMs(plan.ms), `${(plan.ms / build.ms).toFixed(2)}x`, String(g.impact.tenants.length), String(g.files.length), String(lines)]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    notes.push('whole-command wall times (node start included); plan builds the working tree in memory, reads the built bundles and diffs them');
    return { title: 'plan: one changed tenant among N, against built bundles', table, notes };
  },
};
