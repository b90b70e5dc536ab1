// Two files for one gateway (gw1.yaml and gw1.yml, or a copied file) would fight over one bundle.
import { Diagnostic, error } from '../../model/diagnostics';
import { Rule, duplicates, related } from './rule';

export const rule: Rule = {
  id: 'duplicate-gateway',
  summary: 'two gateway files with the same `gateway:` name',
  check(ctx) {
    const out: Diagnostic[] = [];
    const claims = ctx.model.gateways.map((g) => ({ key: g.name, owner: g }));
    for (const { first, again } of duplicates(claims)) {
      out.push(
        error(this.id, ctx.at(again.owner.origin, 'gateway'), `gateway \`${again.owner.name}\` is already defined in ${first.owner.origin.file}`, {
          hint: 'a gateway has exactly one file; remove or rename one of them',
          related: [related(ctx.at(first.owner.origin, 'gateway'), `gateway \`${first.owner.name}\` is defined here`)],
        }),
      );
    }
    return out;
  },
};
