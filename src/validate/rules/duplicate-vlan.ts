// Two tenants on one trunk cannot share a VLAN id: their frames would land in one VRF.
import { Diagnostic, error } from '../../model/diagnostics';
import { Rule, byGateway, duplicates, related, shared } from './rule';

export const rule: Rule = {
  id: 'duplicate-vlan',
  summary: 'two tenants on one gateway use the same VLAN id',
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const tenants of byGateway(ctx.model).values()) {
      // Places are looked up only for conflicts: the cheap origin stands in until then.
      const claims = tenants.filter((t) => t.network.vlan !== undefined).map((t) => ({ key: String(t.network.vlan), owner: t }));
      for (const { first, again } of duplicates(claims)) {
        out.push(
          error(this.id, ctx.at(again.owner.network.origin, 'vlan'), `VLAN ${again.owner.network.vlan} of tenant ${again.owner.name} is already tenant ${first.owner.name}'s on gateway ${shared(first.owner, again.owner)}`, {
            hint: 'each tenant needs its own VLAN id on the trunk; pick one that is free',
            related: [related(ctx.at(first.owner.network.origin, 'vlan'), `tenant ${first.owner.name} uses VLAN ${first.owner.network.vlan} here`)],
          }),
        );
      }
    }
    return out;
  },
};
