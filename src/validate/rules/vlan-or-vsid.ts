// A tenant network is either a VLAN on the trunk or a VXLAN segment (VSID): exactly one, and VTEPs only with a VSID.
import { Diagnostic, error } from '../../model/diagnostics';
import { Rule, keyAt, related } from './rule';

export const rule: Rule = {
  id: 'vlan-or-vsid',
  scope: 'tenant',
  summary: 'a tenant network with both or neither of `vlan` and `vsid`, or `vteps` without `vsid`',
  check(ctx) {
    const out: Diagnostic[] = [];
    for (const t of ctx.model.tenants) {
      const n = t.network;
      if (n.vlan !== undefined && n.vsid !== undefined) {
        out.push(
          error(this.id, ctx.at(n.origin, 'vsid'), `network of tenant ${t.name} has both \`vlan: ${n.vlan}\` and \`vsid: ${n.vsid}\`; give exactly one`, {
            hint: 'vlan attaches the tenant as a VLAN on the trunk; vsid as a VXLAN segment on the underlay. Remove the one you do not use',
            related: [related(ctx.at(n.origin, 'vlan'), `\`vlan\` is here`)],
          }),
        );
      } else if (n.vlan === undefined && n.vsid === undefined) {
        out.push(
          error(this.id, keyAt(ctx.model, t.origin, 'network'), `network of tenant ${t.name} has neither \`vlan\` nor \`vsid\`; give exactly one`, {
            hint: 'add `vlan: <1-4094>` for a VLAN on the trunk, or `vsid: <4096-16777214>` with `vteps` for a VXLAN segment',
          }),
        );
      }
      if (n.vteps.length && n.vsid === undefined) {
        out.push(
          error(this.id, keyAt(ctx.model, n.origin, 'vteps'), `network of tenant ${t.name} lists \`vteps\` but has no \`vsid\``, {
            hint: 'VTEPs are the remote ends of a VXLAN segment; they go with `vsid`, not with `vlan`',
          }),
        );
      }
    }
    return out;
  },
};
