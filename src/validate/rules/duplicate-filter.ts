// One interface and direction has one filter: two would be two verdict-map entries for one key.
import { Diagnostic, error } from '../../model/diagnostics';
import { Rule, duplicates, related } from './rule';

export const rule: Rule = {
  id: 'duplicate-filter',
  scope: 'tenant',
  summary: 'two filters of a tenant on the same interface and direction',
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const t of ctx.model.tenants) {
      const claims = t.filters.map((f) => ({ key: `${f.interface} ${f.direction}`, place: f.origin, owner: f }));
      for (const { first, again } of duplicates(claims)) {
        out.push(
          error(this.id, ctx.at(again.owner.origin, 'interface'), `a second filter on ${again.owner.interface} ${again.owner.direction}; one interface and direction take one filter`, {
            hint: 'merge the rules into the first filter (one permit or one deny list)',
            related: [related(ctx.at(first.owner.origin, 'interface'), `first filter on ${first.owner.interface} ${first.owner.direction}`)],
          }),
        );
      }
    }
    return out;
  },
};
