// A tenant can only be deployed on a gateway that has a file under gateways/.
import { closest } from 'fastest-levenshtein';
import { Diagnostic, error } from '../../model/diagnostics';
import { Rule } from './rule';

export const rule: Rule = {
  id: 'unknown-gateway',
  scope: 'tenant',
  summary: 'a tenant lists a gateway that has no file under gateways/',
  check(ctx) {
    const out: Diagnostic[] = [];
    const known = [...ctx.model.gatewayFiles.keys()].sort();
    // gateways/gw1.yaml that says `gateway: gw-1` is gateway-file-name's finding, not an unknown gw1.
    const stems = new Set([...ctx.model.sources.values()].filter((f) => f.kind === 'gateway').map((f) => f.stem));
    for (const t of ctx.model.tenants) {
      t.gateways.forEach((g, i) => {
        if (ctx.model.gatewayFiles.has(g) || stems.has(g)) return;
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
