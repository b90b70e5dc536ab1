// `s2sgw metrics`: per tenant and connection (SAs, bytes, packets, BGP, rate-limit drops) and per host (release, last apply)
// in the Prometheus text format, to stdout or atomically to a file for node_exporter's textfile collector.
import * as path from 'node:path';
import { Command, EXIT, formatOption } from './common';
import { format as formatOpt } from '../util/options';
import { gatherMetrics, renderMetrics, writeMetricsFile } from '../apply/metrics';
import { HOST_OPTIONS, runnerFrom } from '../apply/options';

export const command: Command = {
  name: 'metrics',
  summary: 'write the host\'s tunnels, sessions and last apply as Prometheus metrics (node_exporter textfile collector)',
  options: {
    ...formatOpt(['prometheus', 'json'], 'prometheus: the text exposition format; json: the same facts as data'),
    output: { type: 'string', short: 'o', value: 'FILE', description: 'write atomically to FILE instead of stdout', example: '--output /var/lib/prometheus/node-exporter/s2sgw.prom' }, ...HOST_OPTIONS },
  json: `{ "version": 1, "status": { ...as status --format json... }, "commit": "0123...", "unconfirmed": false,
  "lastApply": { ... }, "tc": { "IfCe1": { "transmit": 0, "receive": 0 } } }`,
  async run({ values }, io) {
    const json = formatOption(values, ['prometheus', 'json']) === 'json';
    let text: string;
    try {
      const m = await gatherMetrics(runnerFrom(values, io));
      text = json ? JSON.stringify({ version: 1, ...m, ...(m.tc ? { tc: Object.fromEntries(m.tc) } : {}) }, null, 2) + '\n' : renderMetrics(m);
    } catch (e) {
      io.err(`s2sgw metrics: ${(e as Error).message}\n`);
      return EXIT.findings;
    }
    const output = values.output as string | undefined;
    if (output === undefined) io.out(text);
    else {
      try {
        writeMetricsFile(path.resolve(io.cwd, output), text);
      } catch (e) {
        io.err(`s2sgw metrics: cannot write ${output}: ${(e as Error).message}\n`);
        return EXIT.findings;
      }
    }
    return EXIT.ok;
  },
};
