// FRR announces a `network` only when the VRF has a route for it (bgp network import-check): an advertised prefix
// the tenant's network does not hold and no route reaches is never announced.
import { Diagnostic, warning } from '../../model/diagnostics';
import { overlaps } from '../../model/formats';
import { Rule } from './rule';

export const rule: Rule = {
  id: 'bgp-advertise-unrouted',
  scope: 'tenant',
  summary: 'an advertised prefix that no network address or route of the tenant covers (FRR would not announce it)',
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const t of ctx.model.tenants) {
      if (!t.bgp) continue;
      const have = [...t.network.addresses, ...t.connections.flatMap((c) => [...c.routes, ...c.postConnectRoutes].map((r) => r.to))];
      t.bgp.advertise.forEach((p, i) => {
        if (have.some((h) => overlaps(h, p))) return;
        out.push(
          warning(this.id, ctx.at(t.bgp!.origin, 'advertise', i), `tenant ${t.name} advertises ${p}, but nothing in its VRF routes it: FRR will not announce it`, {
            hint: 'advertise the tenant network (or a prefix of a route), or add the route first',
          }),
        );
      });
    }
    return out;
  },
};
