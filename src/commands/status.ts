// `s2sgw status`: per tenant, the VRF and table, interfaces and addresses, connections with SA state and bytes, BGP neighbors,
// the applied release; the exit code says whether the host runs what the release holds (0), degraded (3), or could not tell (1).
import { Command, EXIT, formatOption } from './common';
import { format as formatOpt } from './options';
import { hostStatus, formatStatus } from '../apply/status';
import { HOST_OPTIONS, runnerFrom } from '../apply/options';

/** status's exit code when something the release holds is not as it should be (a VRF missing, a tunnel or session down). */
export const DEGRADED = 3;

export const command: Command = {
  name: 'status',
  summary: 'show each tenant on this gateway host (VRF, interfaces, SAs, BGP, release); exit 0 ok, 3 degraded, 1 error',
  options: {
    tenant: { type: 'string', short: 't', multiple: true, value: 'NAME', description: 'only these tenants (repeatable or comma-separated); default all', example: '--tenant contoso' },
    ...formatOpt(['text', 'json']),
    ...HOST_OPTIONS,
  },
  async run({ values }, io) {
    const format = formatOption(values, ['text', 'json']);
    const tenants = ((values.tenant as string[] | undefined) ?? []).flatMap((t) => t.split(',')).filter(Boolean);
    let s;
    try {
      s = await hostStatus(runnerFrom(values, io), tenants);
    } catch (e) {
      io.err(`s2sgw status: ${(e as Error).message}\n`);
      return EXIT.findings;
    }
    io.out(format === 'json' ? JSON.stringify(s, null, 2) + '\n' : formatStatus(s));
    return s.health === 'ok' ? EXIT.ok : s.health === 'degraded' ? DEGRADED : EXIT.findings;
  },
};
