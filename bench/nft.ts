// Bench `nft`: `nft -c -f` on the rendered nftables ruleset of the largest size, inside a throwaway network namespace.
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { run, which, withNetns } from '../src/util/exec';
import { Bench, Context, fmtBytes, fmtInt, fmtMs } from './bench';

export const bench: Bench = {
  name: 'nft',
  summary: 'time of `nft -c -f` on the largest size\'s nftables/s2sgw.nft in a throwaway netns',
  byDefault: true,
  async run(ctx: Context) {
    const n = ctx.options.sizes[ctx.options.sizes.length - 1];
    const title = `nft: nft -c -f on the ${fmtInt(n)}-tenant ruleset`;
    const built = (await ctx.measure('build', n)).median;
    const file = ctx.nftFile(n);
    const size = fs.existsSync(file) ? fs.statSync(file).size : 0;
    if (!built.nftBytes || size === 0) return { title, notes: ['n/a (nftables target not rendering yet)'] };
    const nft = which('nft');
    // A missing tool is a failure to measure, said out loud, never a silent pass.
    if (!nft) return { title, notes: ['MISS: nft not found (apt-get install nftables)'] };
    const lines = fs.readFileSync(file, 'utf8').split('\n').length - 1;
    const t0 = performance.now();
    const r = await withNetns((ns) => run('nft', ['-c', '-f', file], { netns: ns, timeoutMs: 600_000 }));
    const ms = performance.now() - t0;
    const table = [
      ['tenants', 'ruleset', 'lines', 'nft -c ms', 'exit'],
      [fmtInt(n), fmtBytes(size), fmtInt(lines), fmtMs(ms), String(r.code)],
    ];
    const notes = ['time includes creating and deleting the namespace (a few ms)'];
    if (r.code !== 0) notes.push(`nft rejected the ruleset: ${r.stderr.split('\n').slice(0, 8).join(' | ')}`);
    return { title, table, notes };
  },
};
