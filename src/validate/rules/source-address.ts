// A connection leaves from one of its gateway's external addresses, of the same family as its destination.
import { Diagnostic, error } from '../../model/diagnostics';
import { familyOf } from '../../model/formats';
import { Rule, byGateway, conn, gatewaysByName, related } from './rule';

export const rule: Rule = {
  id: 'source-address',
  scope: 'tenant',
  summary: "a connection's source is not one of the gateway's external addresses, or not of the destination's family",
  check(ctx) {
    const out: Diagnostic[] = [];
    const gws = gatewaysByName(ctx.model);
    for (const [gwName, tenants] of byGateway(ctx.model)) {
      const gw = gws.get(gwName)!;
      const addrs = new Set(gw.external.addresses);
      const families = new Set(gw.external.addresses.map(familyOf));
      const gwPlace = () => related(ctx.at(gw.origin, 'external', 'addresses'), `gateway ${gw.name}'s external addresses: ${gw.external.addresses.join(', ')}`);
      for (const t of tenants) {
        for (const c of t.connections) {
          const dstFamily = c.destinationIsIp ? familyOf(c.destination) : undefined;
          if (c.source !== undefined) {
            if (!addrs.has(c.source)) {
              out.push(
                error(this.id, ctx.at(c.origin, 'source'), `source ${c.source} of ${conn(t, c)} is not an external address of gateway ${gw.name}`, {
                  hint: `use one of ${gw.external.addresses.join(', ')}, or leave source out to use the first of the destination's family`,
                  related: [gwPlace()],
                }),
              );
            } else if (dstFamily !== undefined && familyOf(c.source) !== dstFamily) {
              out.push(
                error(this.id, ctx.at(c.origin, 'source'), `source ${c.source} of ${conn(t, c)} is IPv${familyOf(c.source)}, but destination ${c.destination} is IPv${dstFamily}`, {
                  hint: 'IKE runs between two addresses of one family; pick a source of the destination\'s family, or leave source out',
                }),
              );
            }
          } else if (dstFamily !== undefined && !families.has(dstFamily)) {
            out.push(
              error(this.id, ctx.at(c.origin, 'destination'), `destination ${c.destination} of ${conn(t, c)} is IPv${dstFamily}, but gateway ${gw.name} has no IPv${dstFamily} external address`, {
                hint: `add an IPv${dstFamily} address to the gateway's external.addresses, or connect to the site's IPv${dstFamily === 4 ? 6 : 4} address`,
                related: [gwPlace()],
              }),
            );
          }
        }
      }
    }
    return out;
  },
};
