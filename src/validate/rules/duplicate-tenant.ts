// A tenant name is its VRF device, its lock-file entry and its bundle sections: one tenant per name in the whole repository.
import { Diagnostic, error } from '../../model/diagnostics';
import { Rule, duplicates, related } from './rule';

export const rule: Rule = {
  id: 'duplicate-tenant',
  summary: 'two tenant files with the same `tenant:` name',
  check(ctx) {
    const out: Diagnostic[] = [];
    const claims = ctx.model.tenants.map((t) => ({ key: t.name, owner: t }));
    for (const { first, again } of duplicates(claims)) {
      out.push(
        error(this.id, ctx.at(again.owner.origin, 'tenant'), `tenant \`${again.owner.name}\` is already defined in ${first.owner.file}`, {
          hint: 'the tenant name is the VRF device on the gateway and must be unique; rename one tenant (and its file)',
          related: [related(ctx.at(first.owner.origin, 'tenant'), `tenant \`${first.owner.name}\` is defined here`)],
        }),
      );
    }
    return out;
  },
};
