// `s2sgw status`: per tenant, the VRF and table, interfaces and addresses, connections with SA state and bytes, BGP neighbors, the applied release.
import { Command, formatOption } from './common';
import { hostStatus, formatStatus } from '../apply/status';
import { HOST_OPTIONS, HOST_USAGE, runnerFrom } from '../apply/options';

export const command: Command = {
  name: 'status',
  summary: 'show each tenant on this gateway host: VRF, interfaces, SAs, BGP, applied release',
  usage: `s2sgw status [--format text|json] ${HOST_USAGE}`,
  options: { format: { type: 'string', short: 'f' }, ...HOST_OPTIONS },
  async run({ values }, io) {
    const format = formatOption(values, ['text', 'json']);
    const s = await hostStatus(runnerFrom(values, io));
    io.out(format === 'json' ? JSON.stringify(s, null, 2) + '\n' : formatStatus(s));
    return 0;
  },
};
