// A tenant can only be deployed on a gateway that has a file under gateways/.
import { closest } from 'fastest-levenshtein';
import { error } from '../../compiler/diagnostics';
import { Rule } from './rule';

export const rule: Rule = {
  id: 'unknown-gateway',
  summary: 'a tenant lists a gateway that has no file under gateways/',
  check(ctx) {
    const out = [];
    const known = [...ctx.model.gatewayFiles.keys()].sort();
    for (const t of ctx.model.tenants) {
      t.gateways.forEach((g, i) => {
        if (ctx.model.gatewayFiles.has(g)) return;
        const guess = known.length ? closest(g, known) : undefined;
        out.push(
          error(this.id, ctx.at(t.origin, 'gateways', i), `tenant ${t.name} is on gateway \`${g}\`, but there is no gateways/${g}.yaml`, {
            hint: known.length ? `${guess ? `did you mean \`${guess}\`? ` : ''}gateways: ${known.join(', ')}` : 'add the gateway file under gateways/ first',
          }),
        );
      });
    }
    return out;
  },
};
