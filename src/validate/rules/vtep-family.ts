// A VXLAN device has one local and one remote family: every VTEP must be of the underlay address's family.
import { Diagnostic, error } from '../../model/diagnostics';
import { familyOf } from '../../model/formats';
import { Rule, byGateway, gatewaysByName, related } from './rule';

export const rule: Rule = {
  id: 'vtep-family',
  scope: 'tenant',
  summary: "a VTEP of another address family than the gateway's underlay address",
  check(ctx) {
    const out: Diagnostic[] = [];
    const gws = gatewaysByName(ctx.model);
    for (const [gwName, tenants] of byGateway(ctx.model)) {
      const gw = gws.get(gwName)!;
      const underlay = gw.trunk.underlayAddress;
      if (underlay === undefined) continue;
      for (const t of tenants) {
        t.network.vteps.forEach((v, i) => {
          if (familyOf(v) === familyOf(underlay)) return;
          out.push(
            error(this.id, ctx.at(t.network.origin, 'vteps', i), `VTEP ${v} of tenant ${t.name} is IPv${familyOf(v)}, but gateway ${gw.name}'s underlay address ${underlay} is IPv${familyOf(underlay)}`, {
              hint: 'a VXLAN tunnel runs over one address family: list the VTEPs by their addresses of the underlay family',
              related: [related(ctx.at(gw.origin, 'trunk'), `gateway ${gw.name}'s trunk`)],
            }),
          );
        });
      }
    }
    return out;
  },
};
