// An EAP site's IKE identity is its EAP username (the interface name), so a remoteId there would contradict it.
import { Diagnostic, error } from '../../model/diagnostics';
import { Rule, conn } from './rule';

export const rule: Rule = {
  id: 'remote-id-eap',
  scope: 'tenant',
  summary: 'a remoteId on an EAP connection',
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const t of ctx.model.tenants) {
      for (const c of t.connections) {
        if (c.auth.kind !== 'eap' || c.remoteId === undefined) continue;
        out.push(
          error(this.id, ctx.at(c.origin, 'remoteId'), `EAP connection ${conn(t, c)} has remoteId \`${c.remoteId}\`; an EAP site is identified by its EAP username, the interface name ${c.interface}`, {
            hint: 'remove remoteId: behind NAT an EAP site needs nothing more, the gateway finds it by its EAP username',
          }),
        );
      }
    }
    return out;
  },
};
