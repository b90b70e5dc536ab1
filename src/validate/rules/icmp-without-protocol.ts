// ICMP type and code exist only in ICMP headers, and a code means nothing without its type.
import { Diagnostic, error } from '../../model/diagnostics';
import { Rule } from './rule';

export const rule: Rule = {
  id: 'icmp-without-protocol',
  scope: 'tenant',
  summary: 'icmpType/icmpCode without protocol icmp or icmpv6, or icmpCode without icmpType',
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const t of ctx.model.tenants) {
      for (const f of t.filters) {
        for (const r of f.rules) {
          const isIcmp = r.protocol === 'icmp' || r.protocol === 'icmpv6';
          for (const key of ['icmpType', 'icmpCode'] as const) {
            if (r[key] === undefined || isIcmp) continue;
            out.push(
              error(this.id, ctx.at(r.origin, key), r.protocol === undefined ? `\`${key}\` needs \`protocol: icmp\` or \`icmpv6\`; this rule has no \`protocol\`` : `\`${key}\` needs \`protocol: icmp\` or \`icmpv6\`, but \`protocol\` is ${r.protocol}`, {
                hint: 'add `protocol: icmp` (IPv4) or `protocol: icmpv6` (IPv6), or remove the ICMP fields',
              }),
            );
          }
          if (r.icmpCode !== undefined && r.icmpType === undefined) {
            out.push(
              error(this.id, ctx.at(r.origin, 'icmpCode'), `\`icmpCode: ${r.icmpCode}\` needs an \`icmpType\`: a code is defined only within its type`, {
                hint: 'add the type, e.g. `icmpType: 3` (destination unreachable) for code 4',
              }),
            );
          }
        }
      }
    }
    return out;
  },
};
