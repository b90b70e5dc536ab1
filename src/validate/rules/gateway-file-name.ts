// A gateway's name is its file's name (and its bundle's folder), so gateways/gw1.yaml builds out/gw1/.
import { Diagnostic, error } from '../../model/diagnostics';
import { Rule } from './rule';

export const rule: Rule = {
  id: 'gateway-file-name',
  summary: 'a gateway file whose `gateway:` differs from its file name',
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const g of ctx.model.gateways) {
      const stem = ctx.model.sources.get(g.origin.file)?.stem;
      if (stem === undefined || stem === g.name) continue;
      out.push(
        error(this.id, ctx.at(g.origin, 'gateway'), `gateway \`${g.name}\` is in ${g.origin.file}; a gateway's file is named after it`, {
          hint: `rename the file to gateways/${g.name}.yaml, or write \`gateway: ${stem}\``,
        }),
      );
    }
    return out;
  },
};
