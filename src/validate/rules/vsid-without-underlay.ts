// A VSID tenant is a VXLAN device whose local end is the gateway's trunk.underlayAddress; without it there is no tunnel source.
import { Diagnostic, error } from '../../model/diagnostics';
import { Rule, byGateway, gatewaysByName, related } from './rule';

export const rule: Rule = {
  id: 'vsid-without-underlay',
  scope: 'tenant',
  summary: 'a VSID tenant on a gateway without `trunk.underlayAddress`',
  check(ctx) {
    const out: Diagnostic[] = [];
    const gws = gatewaysByName(ctx.model);
    for (const [gwName, tenants] of byGateway(ctx.model)) {
      const gw = gws.get(gwName)!;
      if (gw.trunk.underlayAddress !== undefined) continue;
      for (const t of tenants) {
        if (t.network.vsid === undefined) continue;
        out.push(
          error(this.id, ctx.at(t.network.origin, 'vsid'), `tenant ${t.name} uses VSID ${t.network.vsid}, but gateway ${gw.name} has no \`trunk.underlayAddress\` to run VXLAN from`, {
            hint: `add \`underlayAddress: <the trunk's address>\` under trunk in ${gw.origin.file}, or attach the tenant with a \`vlan\``,
            related: [related(ctx.at(gw.origin, 'trunk'), `gateway ${gw.name}'s trunk`)],
          }),
        );
      }
    }
    return out;
  },
};
