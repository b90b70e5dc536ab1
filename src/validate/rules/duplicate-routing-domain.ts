// The routing domain GUID names one tenant's VRF; two tenants with one GUID are a copy-paste slip.
import { Diagnostic, error } from '../../compiler/diagnostics';
import { Rule, duplicates, related } from './rule';

export const rule: Rule = {
  id: 'duplicate-routing-domain',
  summary: 'two tenants with the same routing domain GUID',
  check(ctx) {
    const out: Diagnostic[] = [];
    // GUIDs are compared case-insensitively (the model lower-cases them).
    const claims = ctx.model.tenants.map((t) => ({ key: t.routingDomain, place: t.origin, owner: t }));
    for (const { first, again } of duplicates(claims)) {
      out.push(
        error(this.id, ctx.at(again.owner.origin, 'routingDomain'), `routing domain ${again.owner.routingDomain} of tenant ${again.owner.name} is already tenant ${first.owner.name}'s`, {
          hint: 'each tenant has its own routing domain GUID; generate a new one (e.g. with `uuidgen`) and write it in braces',
          related: [related(ctx.at(first.owner.origin, 'routingDomain'), `tenant ${first.owner.name} has this routing domain`)],
        }),
      );
    }
    return out;
  },
};
