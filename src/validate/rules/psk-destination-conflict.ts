// A PSK peer is told apart only by its address, so one (source, destination) pair may carry one PSK connection per gateway.
import { error } from '../../compiler/diagnostics';
import { effective } from '../../compiler/model';
import { Rule, byGateway, duplicates, related, shared } from './rule';

export const rule: Rule = {
  id: 'psk-destination-conflict',
  summary: 'two PSK connections on one gateway with the same source and destination address',
  check(ctx) {
    const out = [];
    for (const [gwName, tenants] of byGateway(ctx.model)) {
      const gw = ctx.model.gateways.find((g) => g.name === gwName)!;
      const claims = tenants.flatMap((t) =>
        t.connections
          .filter((c) => c.auth.kind === 'psk' && c.destinationIsIp)
          .map((c) => ({ key: `${effective(c, gw).source} ${c.destination}`, place: ctx.at(c.origin, 'destination'), owner: { t, c } })),
      );
      for (const { first, again } of duplicates(claims)) {
        const a = first.owner;
        const b = again.owner;
        out.push(
          error(this.id, again.place, `PSK connection ${b.t.name}/${b.c.interface} has the same destination ${b.c.destination} (from ${effective(b.c, gw).source}) as ${a.t.name}/${a.c.interface} on gateway ${shared(a.t, b.t)}`, {
            hint: 'the gateway tells a PSK peer apart only by its address, so it could not know which tenant an incoming IKE packet belongs to; give one of them another source address, or authenticate it with a certificate or EAP',
            related: [related(first.place, `${a.t.name}/${a.c.interface} connects to ${a.c.destination} here`)],
          }),
        );
      }
    }
    return out;
  },
};
