// network.ha declares a pair: exactly two gateways, and one own address for each of them (no more, no fewer).
import { Diagnostic, error } from '../../model/diagnostics';
import { Rule, keyAt } from './rule';

export const rule: Rule = {
  id: 'ha-pair',
  scope: 'tenant',
  summary: 'a tenant with network.ha not on exactly two gateways, or without one own address per gateway',
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const t of ctx.model.tenants) {
      const ha = t.network.ha;
      if (!ha) continue;
      if (t.gateways.length !== 2) {
        const what = t.gateways.length < 2 ? `a single gateway (${t.gateways.join(', ')})` : `${t.gateways.length} gateways (${t.gateways.join(', ')})`;
        out.push(
          error(this.id, ctx.at(t.origin, 'gateways'), `tenant ${t.name} declares network.ha on ${what}: VRRP needs a pair`, {
            hint: 'name two gateways, the active one first (gateways: [gw1, gw2]), or remove network.ha',
          }),
        );
        continue;
      }
      for (const g of t.gateways) {
        if (ha.addresses[g] === undefined) out.push(error(this.id, ctx.at(ha.origin, 'addresses'), `tenant ${t.name}'s network.ha.addresses has no own address for gateway ${g}`, { hint: `add ${g}: <an address in the tenant subnet>` }));
      }
      for (const g of Object.keys(ha.addresses)) {
        if (!t.gateways.includes(g)) out.push(error(this.id, keyAt(ctx.model, ha.origin, 'addresses', g), `tenant ${t.name}'s network.ha.addresses names ${g}, which is not one of its gateways (${t.gateways.join(', ')})`, { hint: 'name only the two gateways of the pair' }));
      }
    }
    return out;
  },
};
