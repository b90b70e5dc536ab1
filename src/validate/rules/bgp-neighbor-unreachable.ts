// A BGP neighbor behind a tunnel is reached only through a route (or a `via` trigger route) into that tunnel.
import { Diagnostic, error } from '../../model/diagnostics';
import { familyOf, networkOf, overlaps } from '../../model/formats';
import { Rule } from './rule';

export const rule: Rule = {
  id: 'bgp-neighbor-unreachable',
  scope: 'tenant',
  summary: 'a BGP neighbor that no route, network or `via` reaches',
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const t of ctx.model.tenants) {
      if (!t.bgp) continue;
      const prefixes = [...t.network.addresses.map(networkOf), ...t.connections.flatMap((c) => [...c.routes, ...c.postConnectRoutes].map((r) => r.to))];
      for (const n of t.bgp.neighbors) {
        if (n.via !== undefined) continue; // unknown-interface checks the name
        const fam = familyOf(n.address);
        if (prefixes.some((p) => familyOf(p) === fam && overlaps(p, n.address))) continue;
        const first = t.connections[0]?.interface;
        out.push(
          error(this.id, ctx.at(n.origin, 'address'), `BGP neighbor ${n.address} of tenant ${t.name} is not reached by any route, post-connect route or network address`, {
            hint: first
              ? `add \`via: ${first}\` (the connection the neighbor sits behind; it adds a /${fam === 4 ? 32 : 128} route to it), or a route covering ${n.address} to that connection`
              : 'the tenant has no connection to reach the neighbor through; add one and name it in `via`',
          }),
        );
      }
    }
    return out;
  },
};
