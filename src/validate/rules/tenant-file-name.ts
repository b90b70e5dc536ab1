// A tenant's name is its file's name, so a reviewer finds tenant contoso in tenants/contoso.yaml and nowhere else.
import { Diagnostic, error } from '../../model/diagnostics';
import { Rule } from './rule';

export const rule: Rule = {
  id: 'tenant-file-name',
  scope: 'tenant',
  summary: 'a tenant file whose `tenant:` differs from its file name',
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const t of ctx.model.tenants) {
      const stem = ctx.model.sources.get(t.file)?.stem;
      if (stem === undefined || stem === t.name) continue;
      out.push(
        error(this.id, ctx.at(t.origin, 'tenant'), `tenant \`${t.name}\` is in ${t.file}; a tenant's file is named after it`, {
          hint: `rename the file to tenants/${t.name}.yaml, or write \`tenant: ${stem}\``,
        }),
      );
    }
    return out;
  },
};
