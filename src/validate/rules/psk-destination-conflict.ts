// A PSK peer is told apart only by its address, so one (source, destination) pair may carry one PSK connection per gateway.
import { Diagnostic, error } from '../../model/diagnostics';
import { defaultSource, effective } from '../../model/model';
import { Rule, byGateway, duplicates, gatewaysByName, related } from './rule';

export const rule: Rule = {
  id: 'psk-destination-conflict',
  summary: 'two PSK connections on one gateway with the same source and destination address',
  check(ctx) {
    const out: Diagnostic[] = [];
    const gws = gatewaysByName(ctx.model);
    for (const [gwName, tenants] of byGateway(ctx.model)) {
      const gw = gws.get(gwName)!;
      const claims = tenants.flatMap((t) =>
        t.connections
          .filter((c) => c.auth.kind === 'psk' && c.destinationIsIp)
          // effective(c, gw).source without the rest of effective() (rates and proposals): once per connection at 10,000 tenants.
          .map((c) => ({ key: `${c.source ?? defaultSource(c, gw)} ${c.destination}`, owner: { t, c } })),
      );
      for (const { first, again } of duplicates(claims)) {
        const a = first.owner;
        const b = again.owner;
        const src = effective(b.c, gw).source;
        out.push(
          error(this.id, ctx.at(b.c.origin, 'destination'), `PSK connection ${b.t.name}/${b.c.interface} has the same destination ${b.c.destination} (from ${src}) as ${a.t.name}/${a.c.interface} of ${a.t.file} on gateway ${gw.name}`, {
            hint: 'the gateway tells a PSK peer apart only by its address, so it could not know which tenant an incoming IKE packet belongs to; give one of them another source address, or authenticate it with a certificate or EAP',
            related: [related(ctx.at(a.c.origin, 'destination'), `${a.t.name}/${a.c.interface} connects to ${a.c.destination} here`)],
          }),
        );
      }
    }
    return out;
  },
};
