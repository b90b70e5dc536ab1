// `s2sgw apply`: put a built bundle on this gateway host: verify, stage, check, switch, reload what changed, roll back on failure.
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { UsageError } from '../usage';
import { Command } from './common';
import { apply } from '../apply/engine';
import { HOST_OPTIONS, HOST_USAGE, finish, lockWaitMs, runnerFrom } from '../apply/options';

export const command: Command = {
  name: 'apply',
  summary: 'apply a bundle on this gateway host atomically, reloading only what changed; roll back on any failure',
  usage: `s2sgw apply --bundle out/<gateway> [--dry-run] [--confirm SECONDS] [--full] [--keep N] ${HOST_USAGE}`,
  options: {
    bundle: { type: 'string', short: 'b' },
    'dry-run': { type: 'boolean', short: 'n' },
    confirm: { type: 'string' },
    full: { type: 'boolean' },
    keep: { type: 'string' },
    ...HOST_OPTIONS,
  },
  async run({ values }, io) {
    const bundle = values.bundle as string | undefined;
    if (!bundle) throw new UsageError('--bundle is required', 'usage: s2sgw apply --bundle out/<gateway>');
    const c = values.confirm as string | undefined;
    if (c !== undefined && !/^[1-9]\d*$/.test(c)) throw new UsageError(`--confirm takes a number of seconds, got ${c}`);
    const k = values.keep as string | undefined;
    if (k !== undefined && !/^[1-9]\d*$/.test(k)) throw new UsageError(`--keep takes a number of releases (at least 1), got ${k}`);
    const runner = runnerFrom(values, io);
    runner.dryRun = !!values['dry-run'];
    const t0 = performance.now();
    const out = await apply(runner, {
      bundle: path.resolve(io.cwd, bundle),
      env: io.env,
      dryRun: runner.dryRun,
      full: !!values.full,
      confirmSeconds: c === undefined ? undefined : Number(c),
      lockWaitMs: lockWaitMs(values),
      ...(k !== undefined ? { keep: Number(k) } : {}),
      // Progress to stderr; a dry run's plan is the output, so stdout.
      say: (s) => (runner.dryRun ? io.out(s + '\n') : io.err(s + '\n')),
    });
    // Where the time went, for an operator watching a large host (the steps that took a millisecond or more).
    if (out.code === 0 && !runner.dryRun) {
      const steps = new Map<string, number>();
      for (const t of runner.timings) steps.set(t.step, (steps.get(t.step) ?? 0) + t.ms);
      const parts = [...steps].filter(([, ms]) => ms >= 1).map(([s, ms]) => `${s} ${Math.round(ms)}`);
      io.err(`done in ${Math.round(performance.now() - t0)} ms${parts.length ? ` (${parts.join(', ')})` : ''}\n`);
    }
    if (out.code === 0 && !runner.dryRun && c !== undefined) io.err(`applied; run \`s2sgw confirm\` within ${c} s or the host rolls back\n`);
    return finish(out, io, 'apply');
  },
};
