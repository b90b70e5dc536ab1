// `s2sgw apply`: put a built bundle on this gateway host: verify, stage, check, switch, reload what changed, roll back on failure.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { UsageError } from '../util/usage';
import { Command, formatOption, note } from './common';
import { apply } from '../apply/engine';
import { HOST_OPTIONS, OUTCOME_FORMAT, OUTCOME_JSON, finish, finishJson, lockWaitMs, peerFirstMs, runnerFrom, sayer } from '../apply/options';
import type * as Ha from '../apply/ha';
import { AUDIT_OPTIONS, outcomeOf, whoRuns, writeAudit } from '../apply/audit';
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
  options: {
    bundle: { type: 'string', short: 'b', value: 'DIR', required: true, description: 'the built bundle to apply (out/<gateway>)', example: '--bundle out/gw1' },
    gateway: { type: 'string', short: 'g', value: 'NAME', description: 'refuse unless the bundle is this gateway\'s' },
    'dry-run': { type: 'boolean', short: 'n', description: 'print what would change and the commands that would run; change nothing' },
    confirm: { type: 'string', value: 'SECONDS', description: 'roll back unless `s2sgw confirm` runs within SECONDS (like netplan try)', example: '--confirm 120' },
    full: { type: 'boolean', description: 'reload everything, not only what changed' },
    keep: { type: 'string', value: 'N', default: '5', description: 'how many releases to keep for rollback (at least 1)' },
    'peer-first': { type: 'string', value: 'SECONDS', default: '0', description: 'for a rekey-class change (new IKE/ESP proposals or lifetimes) of a connection the gateway starts: hold its new connection and give the peer SECONDS to initiate it, then to delete its old CHILD_SA (lossless; the site\'s steps: peer-config --rekey); after that the gateway initiates. 0: the gateway initiates at once (docs/changes.md). Old spelling: S2SGW_MBB_PEER_MS (ms)', example: '--peer-first 120' },
    drain: { type: 'string', value: 'SECONDS', description: 'for a gateway of an HA pair: move its HA tenants to the partner first (waiting at most SECONDS), apply, then move them back (docs/ha.md)', example: '--drain 30' },
    ...OUTCOME_FORMAT,
    ...AUDIT_OPTIONS,
    ...HOST_OPTIONS,
  },
  json: OUTCOME_JSON,
  examples: ['s2sgw apply --bundle out/gw1 --confirm 120', 's2sgw apply --bundle out/gw1 --dry-run', 's2sgw apply --bundle out/gw1 --peer-first 120', 's2sgw apply --bundle out/gw1 --format json'],
  async run({ values }, io) {
    const json = formatOption(values, ['text', 'json']) === 'json';
    const messages: string[] = [];
    const bundle = values.bundle as string; // required: the parser refuses to run without it
    const c = values.confirm as string | undefined;
    if (c !== undefined && !/^[1-9]\d*$/.test(c)) throw new UsageError(`--confirm takes a number of seconds, got ${c}`);
    const k = values.keep as string | undefined;
    if (k !== undefined && !/^[1-9]\d*$/.test(k)) throw new UsageError(`--keep takes a number of releases (at least 1), got ${k}`);
    const gateway = values.gateway as string | undefined;
    if (gateway !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(gateway)) throw new UsageError(`--gateway takes a gateway name, got ${JSON.stringify(gateway)}`);
    const dr = values.drain as string | undefined;
    if (dr !== undefined && !/^[1-9]\d*$/.test(dr)) throw new UsageError(`--drain takes the seconds to wait for the partner, got ${dr}`);
    const peerFirst = peerFirstMs(values, io.env);
    const who = whoRuns(io.env, values.actor as string | undefined);
    const runner = runnerFrom(values, io);
    runner.dryRun = !!values['dry-run'];
    // A rolling change across an HA pair (docs/ha.md): move this gateway's HA tenants to the partner first, and back
    // once the apply (and its health check) is done or rolled back. A host with no release or no HA tenant skips it.
    let drained = false;
    // Loaded for --drain only: the HA module brings FRR's view and the model with it.
    const { drain, hasHaTenants } = dr !== undefined ? (require('../apply/ha') as typeof Ha) : ({} as typeof Ha);
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
      ...(peerFirst ? { peerFirstMs: peerFirst } : {}),
      ...(k !== undefined ? { keep: Number(k) } : {}),
      // Progress to stderr; a dry run's plan is the output, so stdout.
      say: sayer(io, json, messages, runner.dryRun),
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
      if (!json) note(io, `done in ${Math.round(performance.now() - t0)} ms${parts.length ? ` (${parts.join(', ')})` : ''}\n`);
    }
    if (out.code === 0 && !runner.dryRun && c !== undefined) (json ? (s: string) => messages.push(s.trimEnd()) : (s: string) => io.err(s))(`applied; run \`s2sgw confirm\` within ${c} s or the host rolls back\n`);
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
    if (json) return finishJson(out, io, 'apply', messages, { dryRun: runner.dryRun, durationMs: Math.round(performance.now() - t0) });
    return finish(out, io, 'apply');
  },
};
