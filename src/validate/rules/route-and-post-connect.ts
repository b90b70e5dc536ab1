// A prefix may be a static route or a post-connect route in a tenant, not both: FRR installs static routes at its
// own kernel metric while the updown hook installs post-connect routes at theirs, so their metrics would not compare.
import { Diagnostic, error } from '../../model/diagnostics';
import { Rule, conn, related } from './rule';

export const rule: Rule = {
  id: 'route-and-post-connect',
  scope: 'tenant',
  summary: 'the same prefix as a static route and a post-connect route in one tenant',
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const t of ctx.model.tenants) {
      const statics = new Map<string, { c: (typeof t.connections)[number]; r: (typeof t.connections)[number]['routes'][number] }>();
      for (const c of t.connections) for (const r of c.routes) if (!statics.has(r.to)) statics.set(r.to, { c, r });
      for (const c of t.connections) {
        for (const r of c.postConnectRoutes) {
          const s = statics.get(r.to);
          if (!s) continue;
          out.push(
            error(this.id, ctx.at(r.origin, 'to'), `${r.to} is a post-connect route on ${conn(t, c)} and a static route on ${conn(t, s.c)}; their metrics would not be compared`, {
              hint: 'the gateway installs static routes through FRR and post-connect routes from the tunnel\'s updown hook, at different kernel metrics: make the prefix one kind on every connection',
              related: [related(ctx.at(s.r.origin, 'to'), `static route to ${r.to} on ${conn(t, s.c)}`)],
            }),
          );
        }
      }
    }
    return out;
  },
};
