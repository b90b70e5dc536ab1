// The EAP username is the connection's interface name; RADIUS-style lookups ignore case, so IfCe1 and ifce1 are one user.
import { Diagnostic, error } from '../../model/diagnostics';
import type { Connection, Tenant } from '../../model/model';
import { Rule, byGateway, conn, duplicates, related, shared } from './rule';

export const rule: Rule = {
  id: 'duplicate-eap-username',
  summary: 'two EAP connections on one gateway whose usernames differ only in case',
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const tenants of byGateway(ctx.model).values()) {
      const claims = tenants.flatMap((t) =>
        t.connections.flatMap((c) => (c.auth.kind === 'eap' ? [{ key: c.interface.toLowerCase(), owner: { t, c } as { t: Tenant; c: Connection } }] : [])),
      );
      for (const { first, again } of duplicates(claims)) {
        const a = first.owner;
        const b = again.owner;
        out.push(
          error(this.id, ctx.at(b.c.origin, 'interface'), `EAP username \`${b.c.interface}\` of ${conn(b.t, b.c)} is the same as \`${a.c.interface}\` of ${conn(a.t, a.c)} on gateway ${shared(a.t, b.t)} (usernames ignore case)`, {
            hint: 'an EAP connection\'s username is its interface name; rename one interface so they differ in more than case',
            related: [related(ctx.at(a.c.origin, 'interface'), `${conn(a.t, a.c)} uses EAP username \`${a.c.interface}\``)],
          }),
        );
      }
    }
    return out;
  },
};
