// Each gateway of a pair has its own tunnels to every site, so their external addresses must differ: a site cannot
// keep two IKE SAs to one address, and one address on two hosts breaks both.
import { Diagnostic, error } from '../../model/diagnostics';
import { Rule, gatewaysByName, related } from './rule';

export const rule: Rule = {
  id: 'ha-external-address',
  scope: 'tenant',
  summary: 'an HA pair whose two gateways share an external address',
  check(ctx) {
    const gws = gatewaysByName(ctx.model);
    const out: Diagnostic[] = [];
    for (const t of ctx.model.tenants) {
      if (!t.network.ha || t.gateways.length !== 2) continue;
      const [a, b] = t.gateways.map((g) => gws.get(g));
      if (!a || !b) continue;
      for (const [j, addr] of b.external.addresses.entries()) {
        const i = a.external.addresses.indexOf(addr);
        if (i < 0) continue;
        out.push(
          error(this.id, ctx.at(t.origin, 'gateways'), `tenant ${t.name}'s pair ${a.name}, ${b.name} shares the external address ${addr}: each gateway needs its own tunnels to the sites`, {
            hint: `give ${b.name} its own external address`,
            related: [related(ctx.at(a.origin, 'external', 'addresses', i), `${a.name}'s ${addr}`), related(ctx.at(b.origin, 'external', 'addresses', j), `${b.name}'s ${addr}`)],
          }),
        );
      }
    }
    return out;
  },
};
