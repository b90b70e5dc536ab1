// A gateway's own HA address must lie in the tenant's subnet (VRRP adverts and BGP leave from it) and be neither the
// virtual address nor the partner's own address: two hosts with one address on a segment fight over it.
import { Diagnostic, error } from '../../model/diagnostics';
import { familyOf, networkOf, overlaps } from '../../model/formats';
import { Rule, related } from './rule';

const host = (a: string) => a.split('/')[0];

export const rule: Rule = {
  id: 'ha-address',
  scope: 'tenant',
  summary: "a gateway's own HA address outside the tenant subnet, or equal to the virtual address or to the partner's",
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const t of ctx.model.tenants) {
      const ha = t.network.ha;
      if (!ha) continue;
      const seen = new Map<string, string>();
      for (const [g, own] of Object.entries(ha.addresses)) {
        const place = ctx.at(ha.origin, 'addresses', g);
        const vi = t.network.addresses.findIndex((a) => familyOf(a) === familyOf(own));
        const vip = t.network.addresses[vi];
        if (!vip) {
          out.push(error(this.id, place, `${g}'s own address ${own} of tenant ${t.name} has no network address of its family to share`, { hint: 'give network.addresses an address of this family: it becomes the virtual address' }));
          continue;
        }
        const vipPlace = ctx.at(t.network.origin, 'addresses', vi);
        if (networkOf(own) !== networkOf(vip) || !overlaps(networkOf(vip), own)) {
          out.push(
            error(this.id, place, `${g}'s own address ${own} of tenant ${t.name} is outside the tenant subnet ${networkOf(vip)}`, {
              hint: 'use an address of the virtual address\'s subnet with its prefix length',
              related: [related(vipPlace, `the virtual address ${vip}`)],
            }),
          );
          continue;
        }
        if (host(own) === host(vip)) {
          out.push(error(this.id, place, `${g}'s own address ${own} of tenant ${t.name} is the virtual address itself`, { hint: 'each gateway needs its own address besides the shared one', related: [related(vipPlace, `the virtual address ${vip}`)] }));
          continue;
        }
        const other = seen.get(host(own));
        if (other) {
          out.push(error(this.id, place, `${g}'s own address ${own} of tenant ${t.name} is also ${other}'s`, { hint: 'give each gateway of the pair its own address', related: [related(ctx.at(ha.origin, 'addresses', other), `${other}'s own address`)] }));
          continue;
        }
        seen.set(host(own), g);
      }
    }
    return out;
  },
};
