// A certificate connection needs the gateway's own certificate and trust anchors (gateway `identity`) to authenticate either side.
import { Diagnostic, error } from '../../compiler/diagnostics';
import { Rule, byGateway, conn, gatewaysByName, related } from './rule';

export const rule: Rule = {
  id: 'certificate-without-identity',
  summary: 'a certificate connection on a gateway without `identity`',
  check(ctx) {
    const out: Diagnostic[] = [];
    const gws = gatewaysByName(ctx.model);
    for (const [gwName, tenants] of byGateway(ctx.model)) {
      const gw = gws.get(gwName)!;
      if (gw.identity !== undefined) continue;
      for (const t of tenants) {
        for (const c of t.connections) {
          if (c.auth.kind !== 'certificate') continue;
          out.push(
            error(this.id, ctx.at(c.origin, 'auth', 'certificate'), `${conn(t, c)} authenticates with a certificate, but gateway ${gw.name} has no \`identity\``, {
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
