// A routing domain (a GUID or a label, optional) names one tenant; two tenants with one are a copy-paste slip.
import { Diagnostic, error } from '../../model/diagnostics';
import { Rule, duplicates, related } from './rule';

export const rule: Rule = {
  id: 'duplicate-routing-domain',
  summary: 'two tenants with the same routing domain (GUID or label)',
  check(ctx) {
    const out: Diagnostic[] = [];
    // GUIDs are compared case-insensitively (the model lower-cases them); a tenant without one claims none.
    const claims = ctx.model.tenants.flatMap((t) => (t.routingDomain === undefined ? [] : [{ key: t.routingDomain, owner: t }]));
    for (const { first, again } of duplicates(claims)) {
      out.push(
        error(this.id, ctx.at(again.owner.origin, 'routingDomain'), `routing domain ${again.owner.routingDomain} of tenant ${again.owner.name} is already tenant ${first.owner.name}'s`, {
          hint: 'each tenant has its own routing domain: give it its own label, a new GUID in braces (e.g. from `uuidgen`), or leave routingDomain out',
          related: [related(ctx.at(first.owner.origin, 'routingDomain'), `tenant ${first.owner.name} has this routing domain`)],
        }),
      );
    }
    return out;
  },
};
