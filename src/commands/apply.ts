// `s2sgw apply`: put a built bundle on this gateway host: verify, stage, check, switch, reload what changed, roll back on failure.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { UsageError } from '../usage';
import { Command } from './common';
import { apply } from '../apply/engine';
import { HOST_OPTIONS, HOST_USAGE, finish, lockWaitMs, runnerFrom } from '../apply/options';
import { drain, hasHaTenants } from '../apply/ha';
import { AUDIT_OPTIONS, AUDIT_USAGE, outcomeOf, whoRuns, writeAudit } from '../apply/audit';
import { manifestHead, Provenance } from '../apply/trust';

/** What a bundle's manifest says about itself, unchecked; undefined when it cannot be read. */
function claimsOf(dir: string): Omit<Provenance, 'manifestBytes'> | undefined {
  try {
    const h = manifestHead(fs.readFileSync(path.join(dir, 'manifest.json')));
    return h.gateway ? { gateway: h.gateway, source: h.source, compiler: h.compiler, signer: null } : undefined;
  } catch {
    return undefined;
  }
}

export const command: Command = {
  name: 'apply',
  summary: 'apply a bundle on this gateway host atomically, reloading only what changed; roll back on any failure',
  usage: `s2sgw apply --bundle out/<gateway> [--gateway NAME] [--dry-run] [--confirm SECONDS] [--full] [--keep N] [--drain SECONDS] ${AUDIT_USAGE} ${HOST_USAGE}`,
  options: {
    bundle: { type: 'string', short: 'b' },
    'dry-run': { type: 'boolean', short: 'n' },
    confirm: { type: 'string' },
    full: { type: 'boolean' },
    keep: { type: 'string' },
    gateway: { type: 'string', short: 'g' },
    drain: { type: 'string' },
    ...AUDIT_OPTIONS,
    ...HOST_OPTIONS,
  },
  async run({ values }, io) {
    const bundle = values.bundle as string | undefined;
    if (!bundle) throw new UsageError('--bundle is required', 'usage: s2sgw apply --bundle out/<gateway>');
    const c = values.confirm as string | undefined;
    if (c !== undefined && !/^[1-9]\d*$/.test(c)) throw new UsageError(`--confirm takes a number of seconds, got ${c}`);
    const k = values.keep as string | undefined;
    if (k !== undefined && !/^[1-9]\d*$/.test(k)) throw new UsageError(`--keep takes a number of releases (at least 1), got ${k}`);
    const gateway = values.gateway as string | undefined;
    if (gateway !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(gateway)) throw new UsageError(`--gateway takes a gateway name, got ${JSON.stringify(gateway)}`);
    const dr = values.drain as string | undefined;
    if (dr !== undefined && !/^[1-9]\d*$/.test(dr)) throw new UsageError(`--drain takes the seconds to wait for the partner, got ${dr}`);
    const who = whoRuns(io.env, values.actor as string | undefined);
    const runner = runnerFrom(values, io);
    runner.dryRun = !!values['dry-run'];
    // A rolling change across an HA pair (docs/ha.md): move this gateway's HA tenants to the partner first, and back
    // once the apply (and its health check) is done or rolled back. A host with no release or no HA tenant skips it.
    let drained = false;
    if (dr !== undefined && !runner.dryRun && hasHaTenants(runner)) {
      const d = await drain(runner, true, Number(dr), (l) => io.err(l + '\n'));
      drained = true;
      if (!d.moved) {
        await drain(runner, false, Number(dr), (l) => io.err(l + '\n'));
        io.err(`s2sgw apply: the partner did not take this gateway's HA tenants within ${dr} s: nothing applied\n`);
        return 1;
      }
    }
    const t0 = performance.now();
    const out = await apply(runner, {
      bundle: path.resolve(io.cwd, bundle),
      env: io.env,
      gateway,
      dryRun: runner.dryRun,
      full: !!values.full,
      confirmSeconds: c === undefined ? undefined : Number(c),
      lockWaitMs: lockWaitMs(values),
      ...(k !== undefined ? { keep: Number(k) } : {}),
      // Progress to stderr; a dry run's plan is the output, so stdout.
      say: (s) => (runner.dryRun ? io.out(s + '\n') : io.err(s + '\n')),
    });
    if (drained) {
      const u = await drain(runner, false, Number(dr), (l) => io.err(l + '\n'));
      if (!u.moved) io.err(`s2sgw apply: warning: undrained, but this gateway did not take its active HA tenants back within ${dr} s\n`);
    }
    // Where the time went, for an operator watching a large host (the steps that took a millisecond or more).
    if (out.code === 0 && !runner.dryRun) {
      const steps = new Map<string, number>();
      for (const t of runner.timings) steps.set(t.step, (steps.get(t.step) ?? 0) + t.ms);
      const parts = [...steps].filter(([, ms]) => ms >= 1).map(([s, ms]) => `${s} ${Math.round(ms)}`);
      io.err(`done in ${Math.round(performance.now() - t0)} ms${parts.length ? ` (${parts.join(', ')})` : ''}\n`);
    }
    if (out.code === 0 && !runner.dryRun && c !== undefined) io.err(`applied; run \`s2sgw confirm\` within ${c} s or the host rolls back\n`);
    // A dry run changes nothing, the audit log included.
    if (!runner.dryRun) {
      // A refused bundle's own claims (not checked, so no signer) still say what was tried.
      const p = out.provenance ?? claimsOf(path.resolve(io.cwd, bundle));
      const problem = writeAudit((x) => runner.host(x), {
        command: 'apply',
        ...who,
        bundle: path.resolve(io.cwd, bundle),
        release: out.release ?? null,
        ...(p ? { gateway: p.gateway, ...(p.source !== undefined ? { commit: p.source?.commit ?? null, ...(p.source ? { dirty: p.source.dirty } : {}) } : {}), signer: p.signer, ...(p.key ? { key: p.key } : {}) } : {}),
        ...outcomeOf(out),
        durationMs: Math.round(performance.now() - t0),
      });
      if (problem) io.err(`s2sgw apply: warning: ${problem}\n`);
    }
    return finish(out, io, 'apply');
  },
};
