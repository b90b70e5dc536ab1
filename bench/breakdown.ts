// Bench `breakdown`: where validate's time goes at the largest size, CPU ms per phase and per rule (hotspot hunting).
import { Bench, Context, fmtInt, fmtMs } from './bench';

export const bench: Bench = {
  name: 'breakdown',
  summary: 'validate at the largest size split into load, schema, model and each rule (CPU ms); with --targets also each target\'s render',
  byDefault: false,
  async run(ctx: Context) {
    const n = ctx.options.sizes[ctx.options.sizes.length - 1];
    const m = await ctx.child([ctx.options.breakdownBuild ? 'breakdown-build' : 'breakdown', ctx.repo(n).dir]);
    const total = Object.values(m.phases).reduce((a, b) => a + b, 0);
    const rows = Object.entries(m.phases).sort((a, b) => b[1] - a[1]);
    const table = [['cpu ms', 'share', 'part'], ...rows.map(([k, v]) => [fmtMs(v), `${((100 * v) / total).toFixed(1)}%`, k])];
    const notes = [`parts run one after another in one process, like src/validate/index.ts; ${m.errors} finding(s)`];
    return { title: `breakdown: ${ctx.options.breakdownBuild ? 'build' : 'validate'} at ${fmtInt(n)} tenants, ${fmtMs(total)} CPU ms`, table, notes };
  },
};
