// Bench `validate`: the whole `s2sgw validate` pipeline next to merely parsing the same YAML (issue 3's goals).
import { Bench, Context, Goal, fmtBytes, fmtInt, fmtMs, fmtRatio, smallBig } from './bench';

export const bench: Bench = {
  name: 'validate',
  summary: 'loadConfig + validate vs. YAML parse only, peak RSS; goals: <= 2x parse, 10k <= 12x 1k',
  byDefault: true,
  async run(ctx: Context) {
    const table = [['tenants', 'YAML', 'parse ms', 'validate ms', '= load', '+ checks', 'validate/parse', 'cpu ratio', 'RSS parse', 'RSS validate', 'errors']];
    const notes: string[] = [];
    const at = new Map<number, { parse: number; validate: number; parseCpu: number; validateCpu: number }>();
    for (const n of ctx.options.sizes) {
      const p = (await ctx.measure('parse', n)).median;
      const v = (await ctx.measure('validate', n)).median;
      at.set(n, { parse: p.ms, validate: v.ms, parseCpu: p.cpuMs, validateCpu: v.cpuMs });
      table.push([
        fmtInt(n),
        fmtBytes(ctx.repo(n).bytes),
        fmtMs(p.ms),
        fmtMs(v.ms),
        fmtMs(v.phases.load ?? 0),
        fmtMs(v.phases.validate ?? 0),
        fmtRatio(v.ms / p.ms),
        fmtRatio(v.cpuMs / p.cpuMs),
        fmtBytes(p.maxRssKb * 1024),
        fmtBytes(v.maxRssKb * 1024),
        String(v.errors),
      ]);
      if (v.errors) notes.push(`validate reported ${v.errors} error(s) at ${fmtInt(n)} tenants: the generator or a rule is wrong, and the figures are not those of a clean repository`);
    }
    const [small, big] = smallBig(ctx);
    const s = at.get(small)!;
    const b = big === undefined ? undefined : at.get(big);
    const goals: Goal[] = [
      { name: `validate / parse at ${fmtInt(small)} tenants`, value: s.validate / s.parse, cpuValue: s.validateCpu / s.parseCpu, limit: 2, unit: 'x' },
      { name: `validate ${fmtInt(big ?? 0)} / ${fmtInt(small)} tenants`, value: b && b.validate / s.validate, cpuValue: b && b.validateCpu / s.validateCpu, limit: 12, unit: 'x', missing: 'needs a second size' },
    ];
    notes.push(`${ctx.runsFor(small)} run(s) at ${fmtInt(small)} (median, after a warm-up), ${ctx.runsFor(big ?? small)} at larger sizes; each run is a fresh node process, times exclude node start-up; goals use wall time, the cpu ratio (user+system incl. GC threads) is steadier on a busy machine`);
    return { title: 'validate: s2sgw validate in-process (load + schema + model + rules)', table, goals, notes };
  },
};
