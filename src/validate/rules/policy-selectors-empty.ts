// A policy-based connection proposes one CHILD_SA per (tenant network, site prefix) pair of a family; without a pair it has no tunnel at all.
import { Diagnostic, error } from '../../model/diagnostics';
import { familyOf } from '../../model/formats';
import { sitePrefixes } from '../../model/selectors';
import { Rule, conn } from './rule';

export const rule: Rule = {
  id: 'policy-selectors-empty',
  scope: 'tenant',
  summary: 'a policy-based connection with a site prefix that no tenant network of its family can pair with, or with no site prefix at all',
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const t of ctx.model.tenants) {
      const families = new Set(t.network.addresses.map(familyOf));
      for (const c of t.connections) {
        if (c.trafficSelectors !== 'policy-based') continue;
        const site = sitePrefixes(t, c);
        const unpaired = site.filter((p) => !families.has(familyOf(p)));
        if (site.length && !unpaired.length) continue;
        const message = site.length
          ? `policy-based connection ${conn(t, c)} reaches ${unpaired.join(', ')}, but the tenant network has no address of that family to pair it with`
          : `policy-based connection ${conn(t, c)} has no routes, post-connect routes or BGP neighbors: there is no traffic selector pair to propose`;
        out.push(
          error(this.id, ctx.at(c.origin, 'trafficSelectors'), message, {
            hint: site.length ? 'add an address of that family to `network.addresses`, or remove the prefix' : 'give the connection the site prefixes it carries (`routes` or `postConnectRoutes`), or make it route-based',
          }),
        );
      }
    }
    return out;
  },
};
