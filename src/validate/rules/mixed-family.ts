// One filter rule matches one address family: IPv4 and IPv6 addresses, or icmp with IPv6 (icmpv6 with IPv4), never match a packet.
import { Diagnostic, error } from '../../model/diagnostics';
import { familyOf } from '../../model/formats';
import { Rule } from './rule';

export const rule: Rule = {
  id: 'mixed-family',
  scope: 'tenant',
  summary: 'a filter rule mixes IPv4 and IPv6 (addresses, or icmp/icmpv6 with the other family)',
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const t of ctx.model.tenants) {
      for (const f of t.filters) {
        for (const r of f.rules) {
          const src = r.source !== undefined ? familyOf(r.source) : undefined;
          const dst = r.destination !== undefined ? familyOf(r.destination) : undefined;
          if (src !== undefined && dst !== undefined && src !== dst) {
            out.push(
              error(this.id, ctx.at(r.origin, 'destination'), `filter rule has an IPv${src} source (${r.source}) and an IPv${dst} destination (${r.destination}); it could never match`, {
                hint: 'a packet is either IPv4 or IPv6: write one rule per family',
              }),
            );
            continue;
          }
          const fam = src ?? dst;
          const want = r.protocol === 'icmp' ? 4 : r.protocol === 'icmpv6' ? 6 : undefined;
          if (fam !== undefined && want !== undefined && fam !== want) {
            out.push(
              error(this.id, ctx.at(r.origin, 'protocol'), `filter rule matches protocol ${r.protocol} (IPv${want}) with IPv${fam} addresses; it could never match`, {
                hint: fam === 6 ? 'ICMP for IPv6 is `protocol: icmpv6`' : 'ICMP for IPv4 is `protocol: icmp`',
              }),
            );
          }
        }
      }
    }
    return out;
  },
};
