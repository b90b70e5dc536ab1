// The gateway speaks BGP from the tenant's own network address: a neighbor of a family the network has no address of
// has no address to connect from.
import { Diagnostic, error } from '../../model/diagnostics';
import { familyOf } from '../../model/formats';
import { Rule, related } from './rule';

export const rule: Rule = {
  id: 'bgp-neighbor-family',
  scope: 'tenant',
  summary: "a BGP neighbor of an address family the tenant's network has no address of",
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const t of ctx.model.tenants) {
      const fams = new Set(t.network.addresses.map(familyOf));
      for (const n of t.bgp?.neighbors ?? []) {
        const f = familyOf(n.address);
        if (fams.has(f)) continue;
        out.push(
          error(this.id, ctx.at(n.origin, 'address'), `BGP neighbor ${n.address} of tenant ${t.name} is IPv${f}, but the tenant's network has no IPv${f} address for the session to start from`, {
            hint: `add an IPv${f} address to network.addresses, or peer with the site over IPv${f === 4 ? 6 : 4}`,
            related: [related(ctx.at(t.network.origin, 'addresses'), `tenant ${t.name}'s network addresses`)],
          }),
        );
      }
    }
    return out;
  },
};
