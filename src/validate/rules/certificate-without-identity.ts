// A certificate or EAP connection needs (EAP: the gateway proves itself with its certificate) the gateway's own certificate and trust anchors (gateway `identity`) to authenticate either side.
import { Diagnostic, error } from '../../model/diagnostics';
import { Rule, byGateway, conn, gatewaysByName, related } from './rule';

export const rule: Rule = {
  id: 'certificate-without-identity',
  scope: 'tenant',
  summary: 'a certificate or EAP connection on a gateway without `identity`',
  check(ctx) {
    const out: Diagnostic[] = [];
    const gws = gatewaysByName(ctx.model);
    for (const [gwName, tenants] of byGateway(ctx.model)) {
      const gw = gws.get(gwName)!;
      if (gw.identity !== undefined) continue;
      for (const t of tenants) {
        for (const c of t.connections) {
          if (c.auth.kind === 'psk') continue;
          const how = c.auth.kind === 'certificate' ? 'authenticates with a certificate' : 'uses EAP, for which the gateway proves itself with its certificate';
          out.push(
            error(this.id, ctx.at(c.origin, 'auth', c.auth.kind), `${conn(t, c)} ${how}, but gateway ${gw.name} has no \`identity\``, {
              hint: `add \`identity:\` (certificate, privateKey, trustAnchors) to ${gw.origin.file}, or use psk or eap for this connection`,
              related: [related(ctx.at(gw.origin, 'gateway'), `gateway ${gw.name} is defined here`)],
            }),
          );
        }
      }
    }
    return out;
  },
};
