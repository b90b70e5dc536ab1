// Bench `build`: validate + allocate + bundleAll rendered in memory, next to YAML parse time (issue 4's goals).
import { Bench, Context, Goal, fmtBytes, fmtInt, fmtMs, fmtRatio, smallBig } from './bench';

/** Issue 4: peak RSS under 1 GB at 10,000 tenants. */
const RSS_LIMIT_MB = 1024;

export const bench: Bench = {
  name: 'build',
  summary: 'validate + allocate + bundleAll in memory vs. YAML parse, peak RSS, bundle size; goals: <= 3x parse, 10k <= 12x 1k, RSS < 1 GB',
  byDefault: true,
  async run(ctx: Context) {
    const table = [['tenants', 'parse ms', 'build ms', '= validate', '+ allocate', '+ bundle', 'build/parse', 'cpu ratio', 'peak RSS', 'command ms', 'command RSS', 'bundle', 'files', 'errors']];
    const notes: string[] = [];
    const at = new Map<number, { parse: number; build: number; parseCpu: number; buildCpu: number; rssMb: number; files: number }>();
    for (const n of ctx.options.sizes) {
      const p = (await ctx.measure('parse', n)).median;
      const b = (await ctx.measure('build', n)).median;
      // The whole command too (lock, validate, render, write): its peak RSS is the one the goal is about.
      const cmd = (await ctx.measure('command', n)).median;
      const ph = b.phases;
      at.set(n, { parse: p.ms, build: b.ms, parseCpu: p.cpuMs, buildCpu: b.cpuMs, rssMb: Math.max(b.maxRssKb, cmd.maxRssKb) / 1024, files: b.bundleFiles ?? 0 });
      table.push([
        fmtInt(n),
        fmtMs(p.ms),
        fmtMs(b.ms),
        fmtMs((ph.load ?? 0) + (ph.validate ?? 0)),
        fmtMs(ph.allocate ?? 0),
        fmtMs(ph.bundle ?? 0),
        fmtRatio(b.ms / p.ms),
        fmtRatio(b.cpuMs / p.cpuMs),
        fmtBytes(b.maxRssKb * 1024),
        fmtMs(cmd.ms),
        fmtBytes(cmd.maxRssKb * 1024),
        fmtBytes(b.bundleBytes ?? 0),
        String(b.bundleFiles ?? 0),
        String(b.errors),
      ]);
      if (cmd.errors) notes.push(`s2sgw build failed at ${fmtInt(n)} tenants: the command figures are not those of a clean build`);
      if (b.errors) notes.push(`validate reported ${b.errors} error(s) at ${fmtInt(n)} tenants: the figures are not those of a clean repository`);
    }
    const [small, big] = smallBig(ctx);
    const s = at.get(small)!;
    const l = big === undefined ? undefined : at.get(big);
    const goals: Goal[] = [
      { name: `build / parse at ${fmtInt(small)} tenants`, value: s.build / s.parse, cpuValue: s.buildCpu / s.parseCpu, limit: 3, unit: 'x' },
      { name: `build ${fmtInt(big ?? 0)} / ${fmtInt(small)} tenants`, value: l && l.build / s.build, cpuValue: l && l.buildCpu / s.buildCpu, limit: 12, unit: 'x', missing: 'needs a second size' },
      { name: `peak RSS of build (in memory, and the whole s2sgw build command) at ${fmtInt(big ?? small)} tenants`, value: (l ?? s).rssMb, limit: RSS_LIMIT_MB, unit: 'MB' },
    ];
    const files = (l ?? s).files;
    // manifest.json alone means no target renders yet; the bundle grows as they land.
    if (files <= 1) notes.push('the targets render nothing yet (only manifest.json): build time and bundle size will grow as they land');
    notes.push('bundle = every file of every gateway bundle incl. manifest.json, in memory (nothing written)');
    notes.push('command = `s2sgw build --config DIR --out SCRATCH` in its own process: lock, validate, render, write (the lock is written on its first run)');
    return { title: 'build: validate + allocate + bundleAll (rendered text in memory)', table, goals, notes };
  },
};
