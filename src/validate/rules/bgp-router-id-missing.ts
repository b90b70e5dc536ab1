// bgp.routerId defaults to the tenant's first network IPv4 address; a tenant whose network is IPv6 only has none to take.
import { Diagnostic, error } from '../../model/diagnostics';
import { Rule, keyAt } from './rule';

export const rule: Rule = {
  id: 'bgp-router-id-missing',
  scope: 'tenant',
  summary: 'a tenant with BGP but neither bgp.routerId nor an IPv4 network address to default it to',
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const t of ctx.model.tenants) {
      if (!t.bgp || t.bgp.routerId !== '') continue;
      out.push(
        error(this.id, keyAt(ctx.model, t.origin, 'bgp'), `tenant ${t.name} runs BGP but has no router id: bgp.routerId is not set and its network has no IPv4 address to default it to`, {
          hint: 'write bgp.routerId: an IPv4 address unique among the tenant\'s BGP speakers (e.g. 10.255.0.1), or give the network an IPv4 address',
        }),
      );
    }
    return out;
  },
};
