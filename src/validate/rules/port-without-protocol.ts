// Ports exist only in tcp, udp and sctp headers; a port on any other protocol (or none) is a rule that means something else than it says.
import { Diagnostic, error } from '../../model/diagnostics';
import { Rule } from './rule';

const WITH_PORTS = new Set(['tcp', 'udp', 'sctp']);

export const rule: Rule = {
  id: 'port-without-protocol',
  scope: 'tenant',
  summary: 'a filter rule with ports but without protocol tcp, udp or sctp',
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const t of ctx.model.tenants) {
      for (const f of t.filters) {
        for (const r of f.rules) {
          if (r.protocol !== undefined && WITH_PORTS.has(r.protocol)) continue;
          for (const key of ['sourcePort', 'destinationPort'] as const) {
            if (r[key] === undefined) continue;
            out.push(
              error(this.id, ctx.at(r.origin, key), r.protocol === undefined ? `\`${key}\` needs a protocol with ports; this rule has no \`protocol\`` : `\`${key}\` needs a protocol with ports, but \`protocol\` is ${r.protocol}`, {
                hint: 'add `protocol: tcp` (or udp, sctp) to the rule, or remove the port',
              }),
            );
          }
        }
      }
    }
    return out;
  },
};
