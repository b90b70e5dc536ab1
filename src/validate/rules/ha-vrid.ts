// VRRP routers of one VRID on one segment (a VLAN, or a VXLAN VSID) are one virtual router: two tenants' pairs
// with the same VRID on the same segment would take over each other's address.
import { Diagnostic, error } from '../../model/diagnostics';
import { Rule, duplicates, related } from './rule';

export const rule: Rule = {
  id: 'ha-vrid',
  summary: 'two HA tenants with the same VRRP VRID on the same VLAN or VXLAN segment',
  check(ctx) {
    const claims = ctx.model.tenants
      .filter((t) => t.network.ha)
      .map((t) => {
        const seg = t.network.vsid !== undefined ? `VSID ${t.network.vsid}` : `VLAN ${t.network.vlan}`;
        return { key: `${seg} VRID ${t.network.ha!.vrid}`, owner: t };
      });
    const out: Diagnostic[] = [];
    for (const { first, again } of duplicates(claims)) {
      out.push(
        error(this.id, ctx.at(again.owner.network.ha!.origin, 'vrid'), `tenant ${again.owner.name} uses ${again.key.replace(/^(.*) (VRID \d+)$/, '$2 on $1')}, as tenant ${first.owner.name} does: one VRID on one segment is one virtual router`, {
          hint: 'give each pair on a segment its own vrid (1 to 255)',
          related: [related(ctx.at(first.owner.network.ha!.origin, 'vrid'), `tenant ${first.owner.name}'s vrid`)],
        }),
      );
    }
    return out;
  },
};
