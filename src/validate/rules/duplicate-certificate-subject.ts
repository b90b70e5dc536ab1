// A certificate connection is picked by the peer's subject DN, so one subject may name one connection per gateway.
import { Diagnostic, error } from '../../model/diagnostics';
import type { Connection, Tenant } from '../../model/model';
import { Rule, byGateway, conn, duplicates, related, shared } from './rule';

/** DN compared as strongSwan would: attribute types case-insensitive, spaces around separators ignored. */
export function normalizeDn(dn: string): string {
  return dn
    .split(',')
    .map((rdn) => {
      const eq = rdn.indexOf('=');
      return eq < 0 ? rdn.trim() : `${rdn.slice(0, eq).trim().toUpperCase()}=${rdn.slice(eq + 1).trim()}`;
    })
    .join(', ');
}

export const rule: Rule = {
  id: 'duplicate-certificate-subject',
  summary: 'two certificate connections on one gateway expect the same peer subject',
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const tenants of byGateway(ctx.model).values()) {
      const claims = tenants.flatMap((t) =>
        t.connections.flatMap((c) => (c.auth.kind === 'certificate' ? [{ key: normalizeDn(c.auth.subject), owner: { t, c } as { t: Tenant; c: Connection } }] : [])),
      );
      for (const { first, again } of duplicates(claims)) {
        const a = first.owner;
        const b = again.owner;
        out.push(
          error(this.id, ctx.at(b.c.origin, 'auth', 'certificate', 'subject'), `certificate subject "${again.key}" of ${conn(b.t, b.c)} is already expected by ${conn(a.t, a.c)} on gateway ${shared(a.t, b.t)}`, {
            hint: 'the gateway picks a certificate connection by the peer certificate\'s subject, so each site needs a certificate of its own subject',
            related: [related(ctx.at(a.c.origin, 'auth', 'certificate', 'subject'), `${conn(a.t, a.c)} expects this subject`)],
          }),
        );
      }
    }
    return out;
  },
};
