// A route to a remote site that covers the tenant's own network would send the tenant's local traffic into a tunnel.
import { Diagnostic, error } from '../../model/diagnostics';
import { networkOf, overlaps, familyOf } from '../../model/formats';
import { Rule, conn, related } from './rule';

export const rule: Rule = {
  id: 'route-overlaps-network',
  scope: 'tenant',
  summary: "a tenant's remote route overlaps the tenant's own network addresses",
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const t of ctx.model.tenants) {
      const nets = t.network.addresses.map((a, i) => ({ net: networkOf(a), family: familyOf(a), i }));
      for (const c of t.connections) {
        for (const r of [...c.routes, ...c.postConnectRoutes]) {
          const hit = nets.find((n) => n.family === r.family && overlaps(n.net, r.to));
          if (!hit) continue;
          out.push(
            error(this.id, ctx.at(r.origin, 'to'), `route ${r.to} of ${conn(t, c)} overlaps tenant ${t.name}'s own network ${hit.net}`, {
              hint: 'a route through a tunnel must point at the remote site\'s prefixes; traffic to the tenant\'s own network would leave through the tunnel. Narrow or remove the route',
              related: [related(ctx.at(t.network.origin, 'addresses', hit.i), `tenant ${t.name}'s network ${hit.net}`)],
            }),
          );
        }
      }
    }
    return out;
  },
};
