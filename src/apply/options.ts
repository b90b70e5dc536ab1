// The options apply, rollback, confirm and status share: where the host is (--root, --netns), its daemons' sockets, skipped steps.
import { UsageError } from '../usage';
import { parseFaults, Runner, DEFAULT_VICI } from './runner';
import { describeError, Outcome } from './engine';
import type { Io } from '../commands/common';
import * as path from 'node:path';

export const HOST_OPTIONS = {
  root: { type: 'string' },
  netns: { type: 'string' },
  vici: { type: 'string' },
  'frr-pathspace': { type: 'string' },
  skip: { type: 'string', multiple: true },
  'lock-wait': { type: 'string' },
} as const;

export const HOST_USAGE = '[--root DIR] [--netns NS] [--vici URI] [--frr-pathspace N] [--skip links,vrf,tc,...] [--lock-wait SECONDS]';

const SKIPPABLE = ['sysctl', 'links', 'vrf', 'frr', 'strongswan', 'nftables', 'tc', 'keepalived'];

/** A Runner from the command line; S2SGW_FAULTS injects faults (tests only). */
export function runnerFrom(values: Record<string, unknown>, io: Io): Runner {
  const skip = ((values.skip as string[] | undefined) ?? []).flatMap((s) => s.split(',')).filter(Boolean);
  const bad = skip.filter((s) => !SKIPPABLE.includes(s));
  if (bad.length) throw new UsageError(`--skip: unknown step ${bad.join(', ')} (one of ${SKIPPABLE.join(', ')})`);
  const vici = (values.vici as string | undefined) ?? io.env.S2SGW_VICI ?? DEFAULT_VICI;
  if (!/^(unix|tcp):\/\//.test(vici)) throw new UsageError(`--vici must be a swanctl URI like unix:///var/run/charon.vici, got ${vici}`);
  return new Runner({
    root: path.resolve(io.cwd, (values.root as string | undefined) ?? '/'),
    netns: values.netns as string | undefined,
    vici,
    frrPathspace: values['frr-pathspace'] as string | undefined,
    skip,
    faults: parseFaults(io.env.S2SGW_FAULTS),
  });
}

export function lockWaitMs(values: Record<string, unknown>): number | undefined {
  const v = values['lock-wait'] as string | undefined;
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--lock-wait must be a whole number of seconds, got ${v}`);
  return Number(v) * 1000;
}

/** Prints an outcome's failure (step, tool message, tenant line) and returns the exit code. */
export function finish(out: Outcome, io: Io, what: string): number {
  if (out.error) {
    io.err(`s2sgw ${what}: ${describeError(out.error)}\n`);
    if (out.rolledBackTo !== undefined) io.err(`s2sgw ${what}: rolled back: the host is on ${out.rolledBackTo ? `release ${out.rolledBackTo.slice(0, 12)}` : 'its state before s2sgw'}\n`);
  }
  return out.code;
}
