// Two tenants on one gateway cannot share a VSID: it is the VXLAN VNI, and one VNI is one virtual network.
import { Diagnostic, error } from '../../model/diagnostics';
import { Rule, byGateway, duplicates, related, shared } from './rule';

export const rule: Rule = {
  id: 'duplicate-vsid',
  summary: 'two tenants on one gateway use the same VSID (VXLAN VNI)',
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const tenants of byGateway(ctx.model).values()) {
      const claims = tenants.filter((t) => t.network.vsid !== undefined).map((t) => ({ key: String(t.network.vsid), owner: t }));
      for (const { first, again } of duplicates(claims)) {
        out.push(
          error(this.id, ctx.at(again.owner.network.origin, 'vsid'), `VSID ${again.owner.network.vsid} of tenant ${again.owner.name} is already tenant ${first.owner.name}'s on gateway ${shared(first.owner, again.owner)}`, {
            hint: 'the VSID is the VXLAN VNI of the tenant network; each tenant needs its own',
            related: [related(ctx.at(first.owner.network.origin, 'vsid'), `tenant ${first.owner.name} uses VSID ${first.owner.network.vsid} here`)],
          }),
        );
      }
    }
    return out;
  },
};
