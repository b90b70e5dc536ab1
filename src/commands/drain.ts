// `s2sgw drain` / `s2sgw undrain`: move this gateway's HA tenants to the partner (or back) and wait until they moved.
import { Command, EXIT } from './common';
import { UsageError } from '../model/load';
import { HOST_OPTIONS, runnerFrom } from '../apply/options';
import { drain } from '../apply/ha';

/** How long drain waits for the partner to take the addresses when --deadline is not given. */
export const DEFAULT_DEADLINE_SECONDS = 30;

export function drainCommand(on: boolean): Command {
  const name = on ? 'drain' : 'undrain';
  return {
    name,
    summary: on
      ? "move this gateway's HA tenants to their partner (VRRP priority below it, BGP prepend) and wait until it holds their addresses"
      : "take this gateway's HA tenants back (VRRP priority restored, BGP prepend removed on the active) and wait until it holds them",
    options: {
      deadline: { type: 'string', value: 'SECONDS', default: String(DEFAULT_DEADLINE_SECONDS), description: on ? 'how long to wait for the partner to hold the addresses' : 'how long to wait for this gateway to hold the addresses again', example: '--deadline 60' },
      'dry-run': { type: 'boolean', short: 'n', description: 'print the commands that would run; change nothing' },
      ...HOST_OPTIONS,
    },
    examples: [`s2sgw ${name}`, `s2sgw ${name} --deadline 60`],
    async run({ values }, io) {
      const deadline = values.deadline === undefined ? DEFAULT_DEADLINE_SECONDS : Number(values.deadline);
      if (!Number.isFinite(deadline) || deadline < 0 || deadline > 3600) throw new UsageError(`--deadline: ${String(values.deadline)} is not a number of seconds from 0 to 3600`);
      const runner = runnerFrom(values, io);
      if (values['dry-run']) runner.dryRun = true;
      let r;
      try {
        r = await drain(runner, on, deadline, (l) => io.err(l + '\n'));
      } catch (e) {
        io.err(`s2sgw ${name}: ${(e as Error).message}\n`);
        return EXIT.findings;
      }
      for (const t of r.tenants) io.out(`${t.tenant}: ${t.role} here, keepalived ${t.state ?? 'no state'}, address held by ${t.holder ?? 'unknown'}\n`);
      if (!r.moved) {
        io.err(`s2sgw ${name}: not moved after ${deadline} s (is keepalived running on both gateways?)\n`);
        return EXIT.findings;
      }
      io.err(`${name}: done in ${r.seconds.toFixed(1)} s\n`);
      return EXIT.ok;
    },
  };
}

export const command = drainCommand(true);
