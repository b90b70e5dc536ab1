// The options apply, rollback, confirm and status share: where the host is (--root, --netns), its daemons' sockets, skipped steps.
import { UsageError } from '../util/usage';
import { parseFaults, Runner, DEFAULT_VICI } from './runner';
import { describeError, Outcome } from './engine';
import * as path from 'node:path';
import type { Options } from '../util/options';

/** What these helpers need of the command's I/O (commands pass their whole Io): apply/ does not import commands/. */
export interface OptionsIo {
  out: (s: string) => void;
  err: (s: string) => void;
  /** --quiet: say nothing but errors. */
  quiet?: boolean;
  /** --verbose: also say every host command as it ran. */
  verbose?: boolean;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export const HOST_OPTIONS: Options = {
  root: { type: 'string', value: 'DIR', default: '/', description: 'the host\'s root folder (a test root or a chroot)', complete: 'dir' },
  netns: { type: 'string', value: 'NS', description: 'run ip, tc, nft and sysctl in this network namespace' },
  vici: { type: 'string', value: 'URI', default: 'unix:///var/run/charon.vici', description: 'strongSwan\'s VICI socket (also S2SGW_VICI)', example: '--vici tcp://127.0.0.1:4502' },
  'frr-pathspace': { type: 'string', value: 'N', description: 'the FRR pathspace (vtysh -N) of a second FRR instance' },
  skip: { type: 'string', multiple: true, value: 'STEPS', description: 'skip these steps (comma-separated, repeatable): sysctl, links, vrf, frr, strongswan, nftables, tc', example: '--skip tc,nftables' },
  'lock-wait': { type: 'string', value: 'SECONDS', default: '60', description: 'how long to wait for another s2sgw run on the host to finish before giving up' },
};

const SKIPPABLE = ['sysctl', 'links', 'vrf', 'frr', 'strongswan', 'nftables', 'tc', 'keepalived'];

/** A Runner from the command line; S2SGW_FAULTS injects faults (tests only). */
export function runnerFrom(values: Record<string, unknown>, io: OptionsIo): Runner {
  const skip = ((values.skip as string[] | undefined) ?? []).flatMap((s) => s.split(',')).filter(Boolean);
  const bad = skip.filter((s) => !SKIPPABLE.includes(s));
  if (bad.length) throw new UsageError(`--skip: unknown step ${bad.join(', ')} (one of ${SKIPPABLE.join(', ')})`);
  const vici = (values.vici as string | undefined) ?? io.env.S2SGW_VICI ?? DEFAULT_VICI;
  if (!/^(unix|tcp):\/\//.test(vici)) throw new UsageError(`--vici must be a swanctl URI like unix:///var/run/charon.vici, got ${vici}`);
  const runner = new Runner({
    root: path.resolve(io.cwd, (values.root as string | undefined) ?? '/'),
    netns: values.netns as string | undefined,
    vici,
    frrPathspace: values['frr-pathspace'] as string | undefined,
    skip,
    faults: parseFaults(io.env.S2SGW_FAULTS),
  });
  if (io.verbose) runner.onCommand = (e) => io.err(`  [${e.step}] ${e.argv.join(' ')} -> ${e.code} (${e.ms} ms)\n`);
  return runner;
}

export function lockWaitMs(values: Record<string, unknown>): number | undefined {
  const v = values['lock-wait'] as string | undefined;
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--lock-wait must be a whole number of seconds, got ${v}`);
  return Number(v) * 1000;
}

/** The longest `apply --peer-first` (an hour): a wait the operator meant in seconds, not milliseconds. */
export const PEER_FIRST_MAX_SECONDS = 3600;

/**
 * `apply --peer-first SECONDS` in milliseconds (0: off, the default): for a rekey-class change (new IKE or ESP
 * proposals or lifetimes) of a connection the gateway starts, how long the peer has to initiate the new connection
 * before the gateway does (docs/changes.md). Without the option, the old spelling S2SGW_MBB_PEER_MS (milliseconds)
 * from the environment; an empty one is unset.
 */
export function peerFirstMs(values: Record<string, unknown>, env: NodeJS.ProcessEnv): number {
  const v = values['peer-first'] as string | undefined;
  if (v !== undefined) {
    if (!/^\d+$/.test(v) || Number(v) > PEER_FIRST_MAX_SECONDS) throw new UsageError(`--peer-first takes the seconds the peer has to initiate a rekey-class change (0 to ${PEER_FIRST_MAX_SECONDS}; 0: off), got ${JSON.stringify(v)}`);
    return Number(v) * 1000;
  }
  const e = env.S2SGW_MBB_PEER_MS;
  if (e === undefined || e === '') return 0;
  if (!/^\d+$/.test(e) || Number(e) > PEER_FIRST_MAX_SECONDS * 1000) throw new UsageError(`S2SGW_MBB_PEER_MS (the old spelling of --peer-first, in milliseconds) must be a whole number from 0 to ${PEER_FIRST_MAX_SECONDS * 1000}, got ${JSON.stringify(e)}`);
  return Number(e);
}

/** Prints an outcome's failure (step, tool message, tenant line) and returns the exit code. */
export function finish(out: Outcome, io: OptionsIo, what: string): number {
  if (out.error) {
    io.err(`s2sgw ${what}: ${describeError(out.error)}\n`);
    if (out.rolledBackTo !== undefined) io.err(`s2sgw ${what}: rolled back: the host is on ${out.rolledBackTo ? `release ${out.rolledBackTo.slice(0, 12)}` : 'its state before s2sgw'}\n`);
  }
  return out.code;
}

/** The --format option of apply, confirm, rollback and recover. */
export const OUTCOME_FORMAT: Options = {
  format: { type: 'string', short: 'f', value: 'text|json', choices: ['text', 'json'], default: 'text', description: 'text: steps on stderr; json: one outcome object on stdout (docs/cli.md), steps in its "messages"' },
};

/** The JSON shape of apply, confirm, rollback and recover (docs/cli.md). */
export const OUTCOME_JSON = `{
  "version": 1,
  "command": "apply",              // apply | confirm | rollback | recover
  "ok": true,
  "exitCode": 0,
  "release": "3f2a9c1b0d4e",       // the release the host is on afterwards (null: none)
  "rolledBackTo": null,            // set when a failure was undone: the release (or null: the state before s2sgw)
  "error": null,                   // or {"step": "nftables", "message": "...", "where": "tenant contoso ...", "tool": "nft's output"}
  "messages": ["..."],             // the steps that text mode prints on stderr (a dry run's plan included)
  "dryRun": false,                 // apply only
  "durationMs": 412                // apply only
}`;

/** Says a step: collected for --format json, else on stderr (a dry run's plan on stdout), nothing with --quiet. */
export function sayer(io: OptionsIo, json: boolean, messages: string[], toStdout = false): (s: string) => void {
  return (s) => {
    if (json) messages.push(s);
    else if (toStdout) io.out(s + '\n');
    else if (!io.quiet) io.err(s + '\n');
  };
}

/** Prints an outcome as JSON on stdout (the --format json of apply, confirm, rollback, recover) and returns the exit code. */
export function finishJson(out: Outcome, io: OptionsIo, command: string, messages: string[], extra: Record<string, unknown> = {}): number {
  const e = out.error;
  io.out(
    JSON.stringify(
      {
        version: 1,
        command,
        ok: out.code === 0,
        exitCode: out.code,
        release: out.release ?? null,
        ...(out.rolledBackTo !== undefined ? { rolledBackTo: out.rolledBackTo } : {}),
        error: e ? { step: e.step, message: e.message, ...(e.where ? { where: e.where } : {}), ...(e.tool ? { tool: e.tool } : {}) } : null,
        messages,
        ...extra,
      },
      null,
      2,
    ) + '\n',
  );
  return out.code;
}
