// A PSK peer is known only by its address, so a PSK connection's destination must be an IP literal, not a DNS name.
import { Diagnostic, error } from '../../model/diagnostics';
import { Rule, conn } from './rule';

export const rule: Rule = {
  id: 'psk-destination-ip',
  scope: 'tenant',
  summary: 'a PSK connection whose destination is a DNS name',
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const t of ctx.model.tenants) {
      for (const c of t.connections) {
        if (c.auth.kind !== 'psk' || c.destinationIsIp) continue;
        out.push(
          error(this.id, ctx.at(c.origin, 'destination'), `PSK connection ${conn(t, c)} has destination \`${c.destination}\`, a DNS name; a PSK connection needs an IP address`, {
            hint: 'the gateway finds a PSK peer\'s key by the peer\'s address; write the site\'s IP address, or authenticate it with a certificate or EAP',
          }),
        );
      }
    }
    return out;
  },
};
