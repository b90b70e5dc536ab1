// `s2sgw status`: per tenant, the VRF and table, interfaces and addresses, connections with SA state and bytes, BGP neighbors,
// the applied release; the exit code says whether the host runs what the release holds (0), degraded (3), or could not tell (1).
import { Command, EXIT, formatOption } from './common';
import { format as formatOpt } from '../util/options';
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
  json: `{
  "version": 1,
  "health": "ok",                  // ok (exit 0) | degraded (exit 3) | error (exit 1)
  "release": "3f2a9c1b0d4e", "previous": null,
  "pendingConfirm": { "release": "...", "deadline": "2026-01-01T00:00:00.000Z" },  // only while one waits
  "journal": { "op": "apply", "phase": "forward", "lastStep": "frr" },  // only after an interrupted apply
  "tenants": [{ "tenant": "contoso", "vrf": { "exists": true, "table": 1001 },
    "interfaces": [{ "name": "IfCe1", "state": "UP", "addresses": ["169.254.0.1/30"] }],
    "connections": [{ "name": "contoso-IfCe1", "loaded": true, "sa": { "state": "ESTABLISHED", "bytesIn": 0, "bytesOut": 0, "packetsIn": 0, "packetsOut": 0, "children": [] } }],
    "bgp": [{ "neighbor": "169.254.0.2", "state": "Established", "prefixesReceived": 3 }] }],
  "degraded": [{ "tenant": "contoso", "connection": "IfCe1", "what": "sa-missing", "message": "..." }],
  "problems": ["what could not be read"]
}`,
  examples: ['s2sgw status', 's2sgw status --tenant contoso --format json'],
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
