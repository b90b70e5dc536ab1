// One prefix at one metric on two connections of a tenant leaves FRR (or the updown hook) to pick a path at random.
import { Diagnostic, error } from '../../model/diagnostics';
import type { Connection, Route } from '../../model/model';
import { Rule, conn, duplicates, related } from './rule';

export const rule: Rule = {
  id: 'duplicate-route',
  scope: 'tenant',
  summary: 'one tenant routes the same prefix at the same metric twice',
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const t of ctx.model.tenants) {
      const claims = t.connections.flatMap((c) =>
        [...c.routes.map((r) => ({ r, post: false })), ...c.postConnectRoutes.map((r) => ({ r, post: true }))].map(({ r, post }) => ({
          key: `${r.to} ${r.metric}`,
          place: r.origin,
          owner: { c, r, post } as { c: Connection; r: Route; post: boolean },
        })),
      );
      for (const { first, again } of duplicates(claims)) {
        const a = first.owner;
        const b = again.owner;
        const kind = (x: { post: boolean }) => (x.post ? 'post-connect route' : 'route');
        const where = a.c === b.c ? `is also a ${kind(a)} of the same connection` : `is also a ${kind(a)} of ${conn(t, a.c)}`;
        out.push(
          error(this.id, ctx.at(b.r.origin, 'to'), `${kind(b)} ${b.r.to} (metric ${b.r.metric}) of ${conn(t, b.c)} ${where} at the same metric`, {
            hint: a.c === b.c ? 'list each prefix once per connection' : 'give the backup path a higher metric (lower wins), or remove one of the two',
            related: [related(ctx.at(a.r.origin, 'to'), `${kind(a)} ${a.r.to} (metric ${a.r.metric}) of ${conn(t, a.c)}`)],
          }),
        );
      }
    }
    return out;
  },
};
