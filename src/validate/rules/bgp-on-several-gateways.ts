// A tenant's BGP speaks from its network address with one router id on every gateway it is on; a site cannot have two
// neighbors at one address, so BGP on two gateways only works if the site peers with one of them. A declared HA pair
// (network.ha on two gateways) speaks from each gateway's own address instead: allowed.
import { Diagnostic, warning } from '../../model/diagnostics';
import { Rule } from './rule';

export const rule: Rule = {
  id: 'bgp-on-several-gateways',
  scope: 'tenant',
  summary: 'a tenant with BGP on more than one gateway (same address and router id on each)',
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const t of ctx.model.tenants) {
      if (!t.bgp || t.gateways.length < 2) continue;
      if (t.network.ha && t.gateways.length === 2) continue;
      out.push(
        warning(this.id, ctx.at(t.origin, 'gateways'), `tenant ${t.name} runs BGP on ${t.gateways.join(', ')} from the same address ${t.bgp.routerId}: a site cannot peer with both at one address`, {
          hint: 'keep BGP on one gateway, declare the pair with network.ha (docs/ha.md), or give each gateway its own tenant file',
        }),
      );
    }
    return out;
  },
};
